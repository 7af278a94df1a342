package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// TestQueueMetrics: one caller answered, then, while the seat wraps up,
// one who waits and gives up. /metrics shows the waiting caller and the
// agent in wrap-up while it happens, then offered 2, answered 1,
// abandoned 1, the waits in their histograms and the handle time (talk
// plus wrap-up); promtool finds nothing wrong with the exposition.
func TestQueueMetrics(t *testing.T) {
	t.Parallel()
	seat := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_answer.xml"), Calls: 1, Timeout: time.Minute,
	})
	e := startEngine(t, centreOpts{Seats: 1, RTPTimeout: "60s", Extra: "queues:\n  - {name: general, wrap_up: 40s}\n"})
	registerSeatRange(t, e, 1001, 1, seat.Addr, 200, 50)
	first, _ := e.caller(t, "12345", "0", 8*time.Second)
	first.Wait()
	e.waitRecords(1, 20*time.Second)
	second, _ := e.caller(t, "12345", "0", 14*time.Second) // the greeting (5 s), then 9 s waiting
	waitUntil(t, "a caller waiting", 20*time.Second, func() bool {
		return metricValue(t, e, `hotline_queue_waiting{queue="general"}`) == 1
	})
	if w := metricValue(t, e, `hotline_queue_longest_wait_seconds{queue="general"}`); w <= 0 || w > 15 {
		t.Errorf("longest wait %v s", w)
	}
	if n := metricValue(t, e, `hotline_agents{queue="general",state="wrap_up"}`); n != 1 {
		t.Errorf("agents in wrap-up: %v, want 1", n)
	}
	second.Wait()
	recs := e.waitRecords(2, 20*time.Second)
	waitUntil(t, "the abandoned call counted", 10*time.Second, func() bool {
		return metricValue(t, e, `hotline_queue_calls_total{outcome="abandoned",queue="general"}`) == 1
	})
	for metric, want := range map[string]float64{
		`hotline_queue_calls_total{outcome="offered",queue="general"}`:          2,
		`hotline_queue_calls_total{outcome="answered",queue="general"}`:         1,
		`hotline_queue_wait_seconds_count{outcome="answered",queue="general"}`:  1,
		`hotline_queue_wait_seconds_count{outcome="abandoned",queue="general"}`: 1,
		`hotline_agent_handle_seconds_count{queue="general"}`:                   1,
		`hotline_queue_waiting{queue="general"}`:                                0,
	} {
		if got := metricValue(t, e, metric); got != want {
			t.Errorf("%s = %v, want %v", metric, got, want)
		}
	}
	talk := float64(recs[0].TalkMs) / 1000
	if got := metricValue(t, e, `hotline_agent_handle_seconds_sum{queue="general"}`); got < talk+39.9 || got > talk+40.1 {
		t.Errorf("handle time %v s, want talk %.1f s + wrap-up 40 s", got, talk)
	}
	if got := metricValue(t, e, `hotline_queue_wait_seconds_bucket{outcome="abandoned",queue="general",le="15"}`); got != 1 {
		t.Errorf("the abandoned wait is not within 15 s: %v", got)
	}
	promtoolCheck(t, httpGet(t, "http://"+e.HTTP+"/metrics"))

	// The JSON API: today's figures, in seconds.
	type day struct {
		Offered        int      `json:"offered"`
		Answered       int      `json:"answered"`
		Abandoned      int      `json:"abandoned"`
		ShortAbandoned int      `json:"short_abandoned"`
		AnswerRate     *float64 `json:"answer_rate"`
		ServiceLevel   *float64 `json:"service_level"`
		ASA            *float64 `json:"average_speed_of_answer_s"`
		AHT            *float64 `json:"average_handle_s"`
	}
	type queueView struct {
		Name          string         `json:"name"`
		Waiting       int            `json:"waiting"`
		ServiceLevelS float64        `json:"service_level_s"`
		Agents        map[string]int `json:"agents"`
		Today         day            `json:"today"`
	}
	var qs []queueView
	apiGet(t, e, "queues", &qs)
	i := slices.IndexFunc(qs, func(q queueView) bool { return q.Name == "general" })
	if i < 0 || qs[i].ServiceLevelS != 15 || qs[i].Agents["wrap_up"] != 1 {
		t.Fatalf("queues: %+v", qs)
	}
	d := qs[i].Today
	if d.Offered != 2 || d.Answered != 1 || d.Abandoned != 1 || d.ShortAbandoned != 0 || d.AnswerRate == nil || *d.AnswerRate != 0.5 ||
		d.ASA == nil || *d.ASA != float64(recs[0].WaitMs)/1000 || d.AHT == nil || *d.AHT != talk || d.ServiceLevel == nil {
		t.Errorf("today in general: %+v", d)
	}
	var centre struct {
		Day    string         `json:"day"`
		Today  day            `json:"today"`
		Agents map[string]int `json:"agents"`
	}
	apiGet(t, e, "centre", &centre)
	if centre.Today.Offered != 2 || centre.Agents["wrap_up"] != 1 || centre.Day != time.Now().Format(time.DateOnly) {
		t.Errorf("centre: %+v", centre)
	}
	var agents []struct {
		Ext    string     `json:"extension"`
		Since  *time.Time `json:"since"`
		StateS float64    `json:"seconds_in_state"`
		TalkS  float64    `json:"talk_today_s"`
	}
	apiGet(t, e, "agents", &agents)
	if len(agents) != 1 || agents[0].Since == nil || agents[0].StateS <= 0 || agents[0].TalkS != talk {
		t.Errorf("agents: %+v (talk %v s)", agents, talk)
	}
}

// promtoolCheck runs promtool check metrics on an exposition (promtool
// is Debian's prometheus package, which make test installs).
func promtoolCheck(t *testing.T, text string) {
	t.Helper()
	if _, err := exec.LookPath("promtool"); err != nil {
		t.Fatal("promtool is not installed (make peers installs the prometheus package)") // a missing peer is a failure, never a skip
	}
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
