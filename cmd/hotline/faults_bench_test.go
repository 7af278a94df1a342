package main

// The fault and overload runs of issue 9, behind make bench (HOTLINE_BENCH=1):
// more calls than the engine is set to take, redis-server frozen under load,
// and kill -9 of a node with live calls on the Redis store. Each run is
// bounded in calls and time, ends by itself, checks what was lost (the
// goal is nothing) and writes its figures to HOTLINE_BENCH_OUT/faults.md.

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/rtpload"
	"github.com/hotline-cc/hotline/internal/testpeer"
	"github.com/hotline-cc/hotline/records"
	"github.com/hotline-cc/hotline/store/redistest"
)

// faultDuration reads a Go duration from the environment, or def.
func faultDuration(t *testing.T, name string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}

// TestBenchFaults runs the fault runs. HOTLINE_FAULT_RATE is the sustainable
// call rate the overload multiplies by 5 (default 400 calls/s, from
// BENCHMARKS.md), HOTLINE_FAULT_OVERLOAD how long it is offered (60s),
// HOTLINE_FAULT_OUTAGE how long redis-server is frozen (30s). Vanish (phones
// killed while ringing and while talking) takes no setting.
func TestBenchFaults(t *testing.T) {
	report, finish := benchReport(t, "fault runs", "faults.md")
	defer finish()
	rate := envInts(t, "HOTLINE_FAULT_RATE", []int{400})[0]
	t.Run("Overload", func(t *testing.T) {
		benchOverload(t, report, rate, faultDuration(t, "HOTLINE_FAULT_OVERLOAD", time.Minute))
	})
	t.Run("RedisFrozen", func(t *testing.T) {
		benchRedisFrozen(t, report, faultDuration(t, "HOTLINE_FAULT_OUTAGE", 30*time.Second))
	})
	t.Run("Kill9", func(t *testing.T) { benchKill9(t, report, 100) })
	t.Run("Vanish", func(t *testing.T) { benchVanish(t, report) })
}

// rejected sums hotline_calls_rejected_total over its reasons.
func rejected(t *testing.T, e *engine) (total float64, by map[string]float64) {
	t.Helper()
	by = map[string]float64{}
	const name = `hotline_calls_rejected_total{reason="`
	for _, line := range splitLines(httpGet(t, "http://"+e.HTTP+"/metrics")) {
		rest, ok := strings.CutPrefix(line, name)
		if !ok {
			continue
		}
		reason, val, ok := strings.Cut(rest, `"} `)
		if v, err := strconv.ParseFloat(val, 64); ok && err == nil {
			by[reason] += v
			total += v
		}
	}
	return total, by
}

// rssWatch samples a process's RSS every second until stopped.
type rssWatch struct {
	stop chan struct{}
	done chan struct{}
	peak int64 // KiB
}

func watchRSS(t *testing.T, pid int) *rssWatch {
	w := &rssWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			if rss, err := readRSS(pid); err == nil {
				w.peak = max(w.peak, rss)
			}
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// Peak stops the watch and returns the highest RSS seen, in KiB.
func (w *rssWatch) Peak() int64 {
	close(w.stop)
	<-w.done
	return w.peak
}

// readRSS reads VmRSS of pid in KiB (no testing.T: it runs off the test
// goroutine).
func readRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS for %d", pid)
}

// faultEngine starts a bench engine with seats answered by one SIPp UAS
// (media to a sink) and returns it with the sink's port.
func faultEngine(t *testing.T, seats int, extra, limits string) (*engine, int) {
	t.Helper()
	sink := newRTPSink(t)
	e := startBenchEngine(t, benchEngineOpts{prompts: benchPrompts(t), seats: seats, extra: extra, limits: limits})
	uas := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "bench_uas.xml"), BufferSize: benchSocketBytes,
		Vars: map[string]string{"rtp_port": strconv.Itoa(sink.port())}, Timeout: 30 * time.Minute,
	})
	registerBenchSeats(t, e, seats, uas.Addr)
	return e, sink.port()
}

// faultCallers offers calls at rate for d (hold after the answer) and
// returns SIPp's result once every call has ended.
func faultCallers(t *testing.T, e *engine, sinkPort, rate int, d time.Duration, holdMs int) testpeer.SippResult {
	t.Helper()
	n := rate * int(d/time.Second)
	return testpeer.RunSipp(t, testpeer.SippOptions{
		LocalIP:  carrierIP,
		Scenario: testpeer.ScenarioPath(t, "bench_uac.xml"), Target: e.target(), Service: "12345",
		Calls: n, Rate: float64(rate), Limit: n, BufferSize: benchSocketBytes,
		Vars:    map[string]string{"rtp_port": strconv.Itoa(sinkPort), "hold_ms": strconv.Itoa(holdMs)},
		Timeout: d + 2*time.Minute,
	})
}

// answeredCount counts records of calls bridged to a seat.
func answeredCount(recs []records.Record) int {
	n := 0
	for _, r := range recs {
		if r.Agent != "" && r.EndReason == "answered" {
			n++
		}
	}
	return n
}

// endReasons counts records by end_reason.
func endReasons(recs []records.Record) map[string]int {
	out := map[string]int{}
	for _, r := range recs {
		out[r.EndReason]++
	}
	return out
}

// benchOverload offers 5× the sustainable rate for d with the trunk
// limited below rate: every call is admitted with its record or refused
// 503, nothing else; RSS stays bounded; nothing is left behind.
func benchOverload(t *testing.T, w *strings.Builder, rate int, d time.Duration) {
	seats := envInts(t, "HOTLINE_BENCH_SEATS", []int{2000})[0]
	// The trunk's limit leaves the engine room for refusing the excess.
	limit := envInts(t, "HOTLINE_FAULT_LIMIT", []int{rate * 3 / 4})[0]
	e, sink := faultEngine(t, seats, "", fmt.Sprintf("  trunk_calls_per_second: %d\n  max_calls: %d\n  retry_after: 5s\n", limit, seats+seats/4))
	pid := e.cmd.Process.Pid
	rss0, _ := readRSS(pid)
	watch := watchRSS(t, pid)
	offered := 5 * rate
	res := faultCallers(t, e, sink, offered, d, benchHoldMs)
	waitIdle(t, e)
	peak := watch.Peak()
	recs := e.records()
	refused, by := rejected(t, e)
	bridged := answeredCount(recs)
	n := offered * int(d/time.Second)
	fmt.Fprintf(w, "## Overload: %d calls/s (5× %d) for %v, trunk limited to %d calls/s, %d seats, calls of %d ms after the answer\n\n", offered, rate, d, limit, seats, benchHoldMs)
	fmt.Fprintln(w, "| offered | SIPp failed | admitted | records by end | bridged | refused 503 (by reason) | lost | RSS start | RSS peak |")
	fmt.Fprintln(w, "| ---: | ---: | ---: | --- | ---: | --- | ---: | ---: | ---: |")
	lost := n - len(recs) - int(refused)
	fmt.Fprintf(w, "| %d | %d | %d | %v | %d | %.0f %v | %d | %d MiB | %d MiB |\n\n", n, res.Failed, n-int(refused), endReasons(recs), bridged, refused, by, lost, rss0/1024, peak/1024)
	if res.Failed != 0 || lost != 0 {
		t.Errorf("overload: %d offered, %d bridged, %d refused, %d records, SIPp %s", n, bridged, int(refused), len(recs), res)
	}
	if left := leftBehind(t, e); len(left) > 0 {
		t.Errorf("left behind after the overload: %v", left)
	}
}

// benchRedisFrozen offers calls on the Redis store, freezes redis-server
// (SIGSTOP) for outage in the middle, then thaws it: calls bridged before
// go on to their end; new calls meanwhile get 503; afterwards no seat had
// two calls at once and none is stuck.
func benchRedisFrozen(t *testing.T, w *strings.Builder, outage time.Duration) {
	const rate, holdMs, seats = 50, 8000, 500
	rds := redistest.Start(t)
	rpid := childPID(t, "redis-server", "")
	if rpid == 0 {
		t.Fatal("no redis-server process found among the test's children")
	}
	e, sink := faultEngine(t, seats, fmt.Sprintf("store:\n  kind: redis\n  redis: {address: %q}\n  node: bench\n", rds.Addr), "")
	d := outage + 40*time.Second
	done := make(chan testpeer.SippResult, 1)
	go func() { done <- faultCallers(t, e, sink, rate, d, holdMs) }()
	time.Sleep(20 * time.Second) // the load runs before the freeze (a schedule, not a wait for an event)
	bridgedBefore := metricValue(t, e, "hotline_calls_active")
	if err := syscall.Kill(rpid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(outage)
	if err := syscall.Kill(rpid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	res := <-done
	waitIdle(t, e)
	recs := e.records()
	refused, by := rejected(t, e)
	bridged := answeredCount(recs)
	n := rate * int(d/time.Second)
	ended := endReasons(recs)
	fmt.Fprintf(w, "## redis-server frozen (SIGSTOP) %v under %d calls/s, calls of %d ms, %d seats\n\n", outage, rate, holdMs, seats)
	fmt.Fprintln(w, "| offered | SIPp failed | calls live at the freeze | bridged with a record | records by end | refused 503 (by reason) | lost |")
	fmt.Fprintln(w, "| ---: | ---: | ---: | ---: | --- | --- | ---: |")
	lost := n - len(recs) - int(refused)
	fmt.Fprintf(w, "| %d | %d | %.0f | %d | %v | %.0f %v | %d |\n\n", n, res.Failed, bridgedBefore, bridged, ended, refused, by, lost)
	checkNoOverlap(t, recs)
	// SIPp may count a call failed when both sides hang up at once (its
	// scenario takes the engine's BYE and then meets the 200 for its own):
	// the records are what must be whole.
	if lost != 0 || len(recs) != n-int(refused) {
		t.Errorf("redis frozen: %d offered, %d records, %d refused, SIPp %s", n, len(recs), int(refused), res)
	}
	if !pollUntil(time.Minute, func() bool { return len(leftBehind(t, e)) == 0 }) {
		t.Errorf("a minute after the freeze: %v", leftBehind(t, e))
	}
}

// benchKill9 bridges calls on a Redis-store node, kills it with SIGKILL,
// starts it again under the same name and measures how long until every
// seat is ready again.
func benchKill9(t *testing.T, w *strings.Builder, calls int) {
	rds := redistest.Start(t)
	yaml := fmt.Sprintf("store:\n  kind: redis\n  redis: {address: %q}\n  node: bench\n", rds.Addr)
	seats := calls
	dir := t.TempDir()
	sink := newRTPSink(t)
	cfg := benchCentre(t, dir, benchEngineOpts{prompts: benchPrompts(t), seats: seats, extra: yaml})
	e := launch(t, dir, cfg, "info")
	uas := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "bench_uas.xml"), BufferSize: benchSocketBytes,
		Vars: map[string]string{"rtp_port": strconv.Itoa(sink.port())}, Timeout: 30 * time.Minute,
	})
	registerBenchSeats(t, e, seats, uas.Addr)
	callers := testpeer.StartSipp(t, testpeer.SippOptions{
		LocalIP:  carrierIP,
		Scenario: testpeer.ScenarioPath(t, "bench_uac.xml"), Target: e.target(), Service: "12345",
		Calls: calls, Rate: 50, Limit: calls, BufferSize: benchSocketBytes,
		Vars:    map[string]string{"rtp_port": strconv.Itoa(sink.port()), "hold_ms": "600000"},
		Timeout: 15 * time.Minute,
	})
	waitUntil(t, fmt.Sprintf("%d calls bridged", calls), 2*time.Minute, func() bool {
		return agentStates(t, e)["on_call"] == calls
	})
	e.kill()
	callers.Stop()
	killed := time.Now()
	e2 := launch(t, dir, cfg, "info")
	up := time.Since(killed)
	ok := pollUntil(2*time.Minute, func() bool { return agentStates(t, e2)["ready"] == seats })
	back := time.Since(killed)
	fmt.Fprintf(w, "## kill -9 with %d bridged calls (Redis store), restart under the same name\n\n", calls)
	fmt.Fprintln(w, "| live calls killed | restart to ready line | every seat ready again after | records of the killed calls |")
	fmt.Fprintln(w, "| ---: | ---: | ---: | --- |")
	fmt.Fprintf(w, "| %d | %v | %v | %d (the records of calls live at a kill -9 wait for the event journal of issue 11) |\n\n",
		calls, up.Round(time.Millisecond), back.Round(time.Millisecond), len(e2.records()))
	if !ok {
		t.Errorf("seats not ready 2 minutes after the restart: %v", leftBehind(t, e2))
	}
}

// benchVanish: a hall of 3×vanishGroup seats under load loses two thirds of
// its phones at once (SIGKILL: no BYE, no answer to CANCEL, no more RTP).
// Seats 1001.. talk (a SIPp answering, media from their own generator,
// stopped with them), seats 1001+vanishGroup.. ring and never answer, the
// last group answers and lives. Once every seat is busy, the first two
// groups' phones are killed: the talking calls end rtp_timeout, the ringing
// callers are moved on, and every vanished seat ends logged out
// (unreachable) while the live ones end ready; every caller has one record.
func benchVanish(t *testing.T, w *strings.Builder) {
	// The live seats hang up after liveMs (before their RTP timeout: they
	// send no media), so they free up for the callers moved on.
	const group, callers, rate, holdMs, liveMs = vanishGroup, 6 * vanishGroup, 50, 60000, 3000
	media := func(streams int) *rtpload.Generator {
		g, err := rtpload.New(rtpload.Config{MaxStreams: streams, PayloadType: 8})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = g.Close() })
		g.Start()
		return g
	}
	all, talking := media(callers), media(callers)
	e := startBenchEngine(t, benchEngineOpts{prompts: benchPrompts(t), seats: 3 * group, rtpTimeout: "6s"})
	farm := func(scenario string, vars map[string]string) *testpeer.SippProc {
		return testpeer.StartSipp(t, testpeer.SippOptions{
			Scenario: testpeer.ScenarioPath(t, scenario), BufferSize: benchSocketBytes, Vars: vars, Timeout: 10 * time.Minute,
		})
	}
	talkFarm := farm("bench_uas.xml", map[string]string{"codec": "8", "rtp_port": strconv.Itoa(int(talking.SeatAddr().Port()))})
	ringFarm := farm("uas_noanswer.xml", nil)
	liveFarm := farm("uas_hangup.xml", map[string]string{"codec": "8", "hold_ms": strconv.Itoa(liveMs)})
	registerSeatRange(t, e, 1001, group, talkFarm.Addr, 500, 200)
	registerSeatRange(t, e, 1001+group, group, ringFarm.Addr, 500, 200)
	registerSeatRange(t, e, 1001+2*group, group, liveFarm.Addr, 500, 200)
	done := make(chan testpeer.SippResult, 1)
	go func() {
		done <- testpeer.RunSipp(t, testpeer.SippOptions{
			LocalIP:  carrierIP,
			Scenario: testpeer.ScenarioPath(t, "bench_uac.xml"), Target: e.target(), Service: "12345",
			Calls: callers, Rate: rate, Limit: callers, BufferSize: benchSocketBytes,
			Vars:    map[string]string{"rtp_port": strconv.Itoa(int(all.CallerAddr().Port())), "codec": "8", "hold_ms": strconv.Itoa(holdMs)},
			Timeout: 5 * time.Minute,
		})
	}()
	waitUntil(t, "every seat busy", 2*time.Minute, func() bool {
		st := agentStates(t, e)
		return st["on_call"] == 2*group && st["ringing"] == group
	})
	killed := time.Now()
	talkFarm.Kill()
	ringFarm.Kill()
	talking.StopSending()
	vanished := func() bool {
		for ext := 1001; ext < 1001+2*group; ext++ {
			if a := agentOf(t, e, strconv.Itoa(ext)); a.State != "logged_out" || a.Reason != "unreachable" {
				return false
			}
		}
		return true
	}
	allOut := pollUntil(time.Minute, vanished)
	outAfter := time.Since(killed)
	res := <-done
	waitIdle(t, e)
	recs := e.records()
	ext := func(s string) int { n, _ := strconv.Atoi(s); return n - 1000 }
	var cutOff, movedOn, withLive int
	for _, r := range recs {
		a := ext(r.Agent)
		switch {
		case a >= 1 && a <= group:
			if r.EndReason == "rtp_timeout" {
				cutOff++
			}
		case a > 2*group:
			withLive++
		}
		for _, m := range r.SeatsMissed {
			if n := ext(m); n > group && n <= 2*group && r.Agent != "" {
				movedOn++
				break
			}
		}
	}
	fmt.Fprintf(w, "## Phones that vanish: %d seats talking and %d ringing killed (SIGKILL) at once, %d live (calls of %d ms); %d callers at %d/s, patient for %d ms\n\n",
		group, group, group, liveMs, callers, rate, holdMs)
	fmt.Fprintln(w, "| callers | records by end | talking calls ended rtp_timeout | rung at a vanished seat, then answered by another | answered by live seats | vanished seats logged out (unreachable) after | lost |")
	fmt.Fprintln(w, "| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
	fmt.Fprintf(w, "| %d | %v | %d | %d | %d | %v | %d |\n\n", callers, endReasons(recs), cutOff, movedOn, withLive,
		outAfter.Round(100*time.Millisecond), callers-len(recs))
	if !allOut {
		t.Errorf("vanished seats not all logged out a minute after the kill")
	}
	if len(recs) != callers || cutOff != group || movedOn != group || withLive != callers-group {
		t.Errorf("vanish: %d callers, %d records, %d talking calls ended rtp_timeout, %d moved on, %d answered by live seats (want %d, %d, %d); SIPp %s",
			callers, len(recs), cutOff, movedOn, withLive, group, group, callers-group, res)
	}
	var live []string
	pollUntil(time.Minute, func() bool {
		live = nil
		for i := 2 * group; i < 3*group; i++ {
			if a := agentOf(t, e, strconv.Itoa(1001+i)); a.State != "ready" {
				live = append(live, a.Ext+" "+a.State)
			}
		}
		return len(live) == 0
	})
	if len(live) > 0 {
		t.Errorf("live seats not ready after the run: %v", live)
	}
}

// vanishGroup is how many seats vanish talking, how many vanish ringing,
// and how many live, in benchVanish.
const vanishGroup = 100
