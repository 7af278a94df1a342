package hotline

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hotline-cc/hotline/records"
	"github.com/hotline-cc/hotline/supervisor"
)

// The monitoring files shipped in docs/ (issue 12): Prometheus rules and
// the Grafana dashboard. These tests need no engine: promtool checks the
// rules and runs their unit tests, and every metric the files name is
// checked against what supervisor.NewMetrics exposes.

const (
	rulesFile     = "docs/prometheus/rules.yml"
	rulesTestFile = "docs/prometheus/rules_test.yml"
	dashboardFile = "docs/grafana/hotline.json"
)

// promtool runs Debian's promtool (the prometheus package, which make test
// installs) and fails the test with its output when it fails.
func promtool(t *testing.T, args ...string) {
	t.Helper()
	if _, err := exec.LookPath("promtool"); err != nil {
		t.Fatal("promtool is not installed (make peers installs the prometheus package)") // a missing peer is a failure, never a skip
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "promtool", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestPrometheusRulesCheck(t *testing.T) {
	promtool(t, "check", "rules", rulesFile)
}

// TestPrometheusRulesUnit runs rules_test.yml: among others, the service
// level alert fires under 60%, and the no-agent-ready alert fires when
// callers wait with nobody ready and not when somebody is.
func TestPrometheusRulesUnit(t *testing.T) {
	promtool(t, "test", "rules", rulesTestFile)
}

type ruleFile struct {
	Groups []struct {
		Name  string
		Rules []struct {
			Record, Alert, Expr, For string
			Labels, Annotations      map[string]string
		}
	}
}

func loadRules(t *testing.T) ruleFile {
	t.Helper()
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	return f
}

// hasHan reports whether s has Chinese characters.
var hasHan = regexp.MustCompile(`\p{Han}`)

// TestPrometheusAlertsAnnotated: every alert waits (for:), has a severity
// and Chinese and English summaries.
func TestPrometheusAlertsAnnotated(t *testing.T) {
	var alerts int
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts++
			if r.For == "" {
				t.Errorf("%s: no for:", r.Alert)
			}
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("%s: severity %q, want warning or critical", r.Alert, s)
			}
			for _, k := range []string{"summary", "description"} {
				a := r.Annotations[k]
				if !hasHan.MatchString(a) || !regexp.MustCompile(`[A-Za-z]{3} [a-z]{2,}`).MatchString(a) {
					t.Errorf("%s: %s %q is not in Chinese and English", r.Alert, k, a)
				}
			}
		}
	}
	if alerts < 8 {
		t.Errorf("%d alerts, want at least 8", alerts)
	}
}

type dashboard struct {
	UID           string `json:"uid"`
	SchemaVersion int    `json:"schemaVersion"`
	Inputs        []struct {
		Name string `json:"name"`
	} `json:"__inputs"`
	Templating struct {
		List []struct {
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type panel struct {
	Type    string  `json:"type"`
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"` // a collapsed row's
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// panels flattens the dashboard's panels, collapsed rows' included.
func (d dashboard) panels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

func TestGrafanaDashboard(t *testing.T) {
	d := loadDashboard(t)
	if d.UID != "hotline-centre" || d.SchemaVersion != 39 {
		t.Errorf("uid %q schemaVersion %d, want hotline-centre and 39", d.UID, d.SchemaVersion)
	}
	if len(d.Inputs) != 1 || d.Inputs[0].Name != "DS_PROMETHEUS" {
		t.Errorf("__inputs %+v, want the one DS_PROMETHEUS datasource", d.Inputs)
	}
	var rows, graphs int
	for _, p := range d.panels() {
		if p.Type == "row" {
			rows++
			continue
		}
		graphs++
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no target", p.Title)
		}
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("panel %q has a target with no expr", p.Title)
			}
		}
	}
	if rows != 4 || graphs < 15 {
		t.Errorf("%d rows and %d panels, want 4 rows (centre, service, departments, engine) and at least 15 panels", rows, graphs)
	}
}

// exposedFamilies are the metric families NewMetrics exposes once every
// method has been called and every source registered: the names a query
// may use (histograms with their _bucket, _sum, _count series) with each
// series' label names.
func exposedFamilies(t *testing.T) map[string][]string {
	t.Helper()
	m := supervisor.NewMetrics()
	m.SIPRequest("INVITE")
	m.SIPResponse("INVITE", 200)
	m.CallStarted("12345")
	m.CallEnded("caller_hangup", 90*time.Second)
	m.CallRejected("max_calls")
	m.SetActiveCalls(1)
	m.SetRegistrations(1)
	m.RegisterFailure("auth")
	m.Transfer("water", "answered", 9*time.Second, true)
	m.RecordDelivered("redis_stream", false)
	m.RecordDelivered("redis_stream", true)
	at := records.Time(time.Unix(1764720000, 0))
	score := 1
	m.ObserveRecord(&records.Record{Queue: "general", QueuedAt: &at, AnsweredAt: &at, Agent: "1001", WaitMs: 12000, TalkMs: 95000, SurveyScore: &score}, 10*time.Second)
	m.ObserveRecord(&records.Record{Queue: "general", QueuedAt: &at, EndReason: "abandoned", WaitMs: 4000}, 0)
	m.RegisterQueueSource(func() ([]supervisor.QueueState, []supervisor.AgentCount) {
		return []supervisor.QueueState{{Name: "general", Waiting: 1}}, []supervisor.AgentCount{{Queue: "general", State: "ready", N: 1}}
	})
	m.RegisterSinkBacklog("webhook", func() supervisor.SinkBacklog { return supervisor.SinkBacklog{} })
	m.SetTrunkUp("carrier", true)
	m.RegisterRTPStats(func() supervisor.RTPStats {
		return supervisor.RTPStats{Dropped: map[string]uint64{"source": 1}}
	})
	m.RegisterPanics(func() []supervisor.PanicCount { return []supervisor.PanicCount{{Component: "sip", N: 1}} })
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string][]string{}
	for _, mf := range mfs {
		var labels []string
		for _, l := range mf.GetMetric()[0].GetLabel() {
			labels = append(labels, l.GetName())
		}
		base := mf.GetName()
		names[base] = labels
		if mf.GetMetric()[0].GetHistogram() != nil {
			names[base+"_bucket"] = append(slices.Clip(labels), "le")
			names[base+"_sum"] = labels
			names[base+"_count"] = labels
		}
	}
	return names
}

var (
	quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	// selector is a metric name with its optional {matchers}.
	selector = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?`)
	matcher  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
)

// TestMonitoringMetricNames: every hotline_ metric and recorded series the
// rules and the dashboard query exists, with the labels they match on.
func TestMonitoringMetricNames(t *testing.T) {
	exposed := exposedFamilies(t)
	for _, n := range []string{"hotline_transfer_answer_seconds_bucket", "hotline_panics_total", "hotline_queue_wait_seconds_bucket", "hotline_agents"} {
		if _, ok := exposed[n]; !ok {
			t.Fatalf("%s not gathered: exposedFamilies misses a method", n)
		}
	}
	recorded := map[string]bool{}
	type query struct{ where, expr string }
	var queries []query
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = true
			}
			queries = append(queries, query{rulesFile + " " + r.Record + r.Alert, r.Expr})
		}
	}
	d := loadDashboard(t)
	for _, v := range d.Templating.List {
		queries = append(queries, query{dashboardFile + " variable", v.Definition})
	}
	for _, p := range d.panels() {
		for _, tg := range p.Targets {
			queries = append(queries, query{dashboardFile + " " + p.Title, tg.Expr})
		}
	}
	used := map[string]bool{}
	for _, q := range queries {
		for _, m := range selector.FindAllStringSubmatch(quoted.ReplaceAllString(q.expr, `""`), -1) {
			name, matchers := m[1], m[2]
			if !strings.HasPrefix(name, "hotline_") && !strings.Contains(name, ":") {
				continue
			}
			used[name] = true
			labels, ok := exposed[name]
			if !ok && !recorded[name] {
				t.Errorf("%s: unknown metric %s", q.where, name)
				continue
			}
			if !ok { // a recorded series: its labels are its rule's by ()
				continue
			}
			for _, l := range matcher.FindAllStringSubmatch(matchers, -1) {
				if !slices.Contains(labels, l[1]) && l[1] != "job" && l[1] != "instance" {
					t.Errorf("%s: %s has no label %s (it has %v)", q.where, name, l[1], labels)
				}
			}
		}
	}
	for _, want := range []string{"hotline_queue_longest_wait_seconds", "hotline_records_oldest_undelivered_seconds", "hotline_transfers_total", "hotline_panics_total"} {
		if !used[want] {
			t.Errorf("%s is used by neither the rules nor the dashboard", want)
		}
	}
	for name := range recorded {
		if !used[name] {
			t.Errorf("recorded series %s is used by no alert or panel", name)
		}
	}
}
