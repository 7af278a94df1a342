package main

// Kamailio in front of engine nodes, behind make bench (HOTLINE_BENCH=1):
// a burst of callers to 200 seats straight to one node, through Kamailio
// to one node and through Kamailio to two nodes on one redis-server; then
// the recovery after one of two nodes is killed with every seat on a call.
// Figures to HOTLINE_BENCH_OUT/kamailio.md.

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
	"github.com/hotline-cc/hotline/records"
	"github.com/hotline-cc/hotline/store/redistest"
)

const (
	kamBenchSeats   = 200
	kamBenchCallers = 400
	kamBenchRate    = 400 // callers/s: the burst comes in one second
	kamBenchTalk    = 1000
	kamRateHoldMs   = 300
	kamRateStep     = 5 * time.Second
)

// TestBenchKamailio runs the Kamailio benchmarks.
func TestBenchKamailio(t *testing.T) {
	report, finish := benchReport(t, "Kamailio in front", "kamailio.md")
	defer finish()
	fmt.Fprintf(report, "Machine load before the runs: %s\n\n", loadAvg())
	var rows []kamBurst
	for _, c := range []struct {
		name  string
		nodes int
		proxy bool
	}{{"one node, direct", 1, false}, {"Kamailio, one node", 1, true}, {"Kamailio, two nodes", 2, true}} {
		t.Run("Burst", func(t *testing.T) { rows = append(rows, benchKamBurst(t, c.name, c.nodes, c.proxy)) })
	}
	writeKamBurst(report, rows)
	rates := envInts(t, "HOTLINE_BENCH_KAMAILIO_RATES", []int{200, 400, 600, 800, 1000})
	fmt.Fprintf(report, "## Calls/s: callers hanging up %d ms into the greeting, %v per step, until a step fails\n\n", kamRateHoldMs, kamRateStep)
	fmt.Fprintln(report, "| setup | offered calls/s | successful | failed | achieved calls/s | records per node so far |")
	fmt.Fprintln(report, "| --- | ---: | ---: | ---: | ---: | --- |")
	for _, c := range []struct {
		name  string
		nodes int
		proxy bool
	}{{"one node, direct", 1, false}, {"Kamailio, one node", 1, true}, {"Kamailio, two nodes", 2, true}} {
		t.Run("Rate", func(t *testing.T) { benchKamRate(t, report, c.name, c.nodes, c.proxy, rates) })
	}
	fmt.Fprintln(report)
	t.Run("Recovery", func(t *testing.T) { benchKamRecovery(t, report) })
	fmt.Fprintf(report, "Machine load after the runs: %s\n\n", loadAvg())
}

// loadAvg is /proc/loadavg's first three figures.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:3], " ")
}

// startKamNodes starts n bench nodes sharing redisAddr, each with seats
// seats, whose trunk is both the carrier and the proxy's trunk side.
func startKamNodes(t *testing.T, n int, redisAddr string) []*engine {
	t.Helper()
	prompts := benchPrompts(t)
	var nodes []*engine
	for i := range n {
		dir := t.TempDir()
		cfg := benchCentre(t, dir, benchEngineOpts{prompts: prompts, seats: kamBenchSeats, rtpTimeout: "5m",
			extra: fmt.Sprintf("store:\n  kind: redis\n  redis: {address: %q}\n  node: node-%d\n", redisAddr, i)})
		raw, err := os.ReadFile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Replace(string(raw), "acl: ["+carrierIP+"/32]", "acl: ["+carrierIP+"/32, "+kamTrunkIP+"/32]", 1)
		if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, launch(t, dir, cfg, "info"))
	}
	return nodes
}

// kamSetup is the nodes, the proxy (nil when direct) and where callers
// send.
type kamSetup struct {
	nodes  []*engine
	k      *kamailio
	target string
}

// startKamSetup starts nodes, Kamailio if proxy, and the seats: registered
// (through Kamailio or straight to the one node), then a SIPp answering for
// them that hangs up after talk ms. It returns once every node sees every
// seat ready.
func startKamSetup(t *testing.T, nodes int, proxy bool, talkMs int) kamSetup {
	t.Helper()
	rds := redistest.Start(t)
	s := kamSetup{nodes: startKamNodes(t, nodes, rds.Addr)}
	port := testpeer.FreeUDPPort(t)
	if proxy {
		s.k = startKamailio(t, s.nodes...)
		s.target = s.k.Trunk.String()
		registerThrough(t, s.k, 1001, kamBenchSeats, port, s.nodes...)
	} else {
		s.target = s.nodes[0].target()
		rows := make([][]string, kamBenchSeats)
		for i := range rows {
			ext := strconv.Itoa(1001 + i)
			rows[i] = testpeer.RegistrationRow(ext, "demo-"+ext, "127.0.0.1:"+strconv.Itoa(port))
		}
		res := testpeer.RunSipp(t, testpeer.SippOptions{
			Scenario: testpeer.ScenarioPath(t, "register_auth.xml"), Target: s.target, LocalPort: port,
			InfFile: testpeer.WriteInf(t, rows), Calls: kamBenchSeats, Rate: 500, Limit: 200,
			BufferSize: benchSocketBytes, Timeout: time.Minute,
		})
		if res.Successful != kamBenchSeats {
			t.Fatalf("registering seats: %s", res)
		}
	}
	testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_hangup.xml"), LocalPort: port, BufferSize: benchSocketBytes,
		Vars: map[string]string{"hold_ms": strconv.Itoa(talkMs), "codec": "8"}, Timeout: 30 * time.Minute, Extra: sippPatient,
	})
	for _, e := range s.nodes {
		waitUntil(t, "every seat ready", time.Minute, func() bool { return agentStates(t, e)["ready"] == kamBenchSeats })
	}
	return s
}

// kamBurst is one burst's figures.
type kamBurst struct {
	name              string
	ok, failed        int
	wall              time.Duration // first caller's start to the last record's end
	admitted          time.Duration // the spread of the calls' starts
	perNode           []int
	waitP50, waitP99  time.Duration
	doubleBooked      int
	recs              int
	launch, bridgedPS float64
}

// benchKamBurst: 400 callers offered at 400/s to 200 seats that talk 1 s
// each, after the 2 s greeting; every caller patient.
func benchKamBurst(t *testing.T, name string, nodes int, proxy bool) kamBurst {
	s := startKamSetup(t, nodes, proxy, kamBenchTalk)
	sink := newRTPSink(t)
	res := testpeer.RunSipp(t, testpeer.SippOptions{
		LocalIP: carrierIP, Scenario: testpeer.ScenarioPath(t, "bench_uac.xml"), Target: s.target, Service: "12345",
		Calls: kamBenchCallers, Rate: kamBenchRate, Limit: kamBenchCallers, BufferSize: benchSocketBytes,
		Vars:    map[string]string{"rtp_port": strconv.Itoa(sink.port()), "hold_ms": "120000"},
		Timeout: 5 * time.Minute, Extra: sippPatient,
	})
	b := kamBurst{name: name, ok: res.Successful, failed: res.Failed}
	var all []records.Record
	pollUntil(time.Minute, func() bool {
		all, b.perNode = nil, nil
		for _, e := range s.nodes {
			rs := e.records()
			b.perNode = append(b.perNode, len(rs))
			all = append(all, rs...)
		}
		return len(all) >= kamBenchCallers
	})
	b.recs = len(all)
	b.fill(all)
	if b.failed > 0 || b.recs != kamBenchCallers || b.doubleBooked > 0 {
		t.Errorf("%s: %d failed, %d records for %d callers, %d seats double-booked", name, b.failed, b.recs, kamBenchCallers, b.doubleBooked)
	}
	return b
}

// fill computes the burst's figures from its records.
func (b *kamBurst) fill(rs []records.Record) {
	if len(rs) == 0 {
		return
	}
	var first, lastStart, lastEnd, firstAns, lastAns time.Time
	var waits []time.Duration
	seats := map[string][][2]time.Time{}
	for _, r := range rs {
		st, en := time.Time(r.StartedAt), time.Time(r.EndedAt)
		if first.IsZero() || st.Before(first) {
			first = st
		}
		lastStart, lastEnd = latest(lastStart, st), latest(lastEnd, en)
		waits = append(waits, time.Duration(r.WaitMs)*time.Millisecond)
		if r.AnsweredAt != nil && r.Agent != "" {
			a := time.Time(*r.AnsweredAt)
			if firstAns.IsZero() || a.Before(firstAns) {
				firstAns = a
			}
			lastAns = latest(lastAns, a)
			seats[r.Agent] = append(seats[r.Agent], [2]time.Time{a, en})
		}
	}
	b.wall, b.admitted = lastEnd.Sub(first), lastStart.Sub(first)
	if d := lastAns.Sub(firstAns).Seconds(); d > 0 {
		b.bridgedPS = float64(len(rs)) / d
	}
	if d := b.admitted.Seconds(); d > 0 {
		b.launch = float64(len(rs)) / d
	}
	slices.Sort(waits)
	b.waitP50, b.waitP99 = waits[len(waits)/2], waits[len(waits)*99/100]
	for _, spans := range seats {
		slices.SortFunc(spans, func(x, y [2]time.Time) int { return x[0].Compare(y[0]) })
		for i := 1; i < len(spans); i++ {
			if spans[i][0].Before(spans[i-1][1]) {
				b.doubleBooked++
			}
		}
	}
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func writeKamBurst(w *strings.Builder, rows []kamBurst) {
	fmt.Fprintf(w, "## A burst of %d callers to %d seats (greeting 2 s, talk %d ms), offered at %d/s\n\n",
		kamBenchCallers, kamBenchSeats, kamBenchTalk, kamBenchRate)
	fmt.Fprintln(w, "| setup | callers ok / failed | admitted in (calls/s) | bridged calls/s | burst done in | queue wait p50 / p99 | records per node | seats double-booked |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %d / %d | %v (%.0f) | %.0f | %v | %v / %v | %v | %d |\n", r.name, r.ok, r.failed,
			r.admitted.Round(time.Millisecond), r.launch, r.bridgedPS, r.wall.Round(time.Millisecond),
			r.waitP50.Round(time.Millisecond), r.waitP99.Round(time.Millisecond), r.perNode, r.doubleBooked)
	}
	fmt.Fprintln(w)
}

// benchKamRecovery: two nodes behind Kamailio, every seat on a long call
// (about half on each node); node 0 is killed with SIGKILL and new callers
// come in at 20/s. Measured from the kill: Kamailio marking the node down
// (its first INVITE to it timed out), the first new call admitted by the
// other node, every seat of the dead node freed by the other node, and
// the first new caller reaching a freed seat.
func benchKamRecovery(t *testing.T, w *strings.Builder) {
	s := startKamSetup(t, 2, true, 600000)
	a, b := s.nodes[0], s.nodes[1]
	sink := newRTPSink(t)
	long := testpeer.StartSipp(t, testpeer.SippOptions{
		LocalIP: carrierIP, Scenario: testpeer.ScenarioPath(t, "bench_uac.xml"), Target: s.target, Service: "12345",
		Calls: kamBenchSeats, Rate: 100, Limit: kamBenchSeats, BufferSize: benchSocketBytes,
		Vars:    map[string]string{"rtp_port": strconv.Itoa(sink.port()), "hold_ms": "600000"},
		Timeout: 15 * time.Minute, Extra: sippPatient,
	})
	defer long.Kill()
	waitUntil(t, "every seat on a call", 2*time.Minute, func() bool { return agentStates(t, b)["on_call"] == kamBenchSeats })
	held := int(metricValue(t, a, "hotline_calls_active"))
	queued, bridged := b.log.count(`msg="ivr done"`), b.log.count(`msg=bridged`)
	type mark struct {
		what string
		log  *logWatch
		re   string
		n    int
	}
	marks := []mark{
		{"Kamailio marks the node down", s.k.log, `did not answer: marked down`, 1},
		{"first new call through its 2 s greeting on the other node", b.log, `msg="ivr done"`, queued + 1},
		{"the killed node's seats all freed", b.log, `msg="seat recovered" .*reason=node_gone`, held},
		{"first new call bridged to a freed seat", b.log, `msg=bridged`, bridged + 1},
	}
	took := make([]time.Duration, len(marks))
	done := make(chan int, len(marks))
	a.kill()
	killed := time.Now()
	for i, m := range marks {
		go func() {
			if _, err := m.log.waitCount(m.re, m.n, time.Minute); err == nil {
				took[i] = time.Since(killed)
			}
			done <- i
		}()
	}
	probe := testpeer.StartSipp(t, testpeer.SippOptions{
		LocalIP: carrierIP, Scenario: testpeer.ScenarioPath(t, "bench_uac.xml"), Target: s.target, Service: "12345",
		Calls: 200, Rate: 20, Limit: 200, BufferSize: benchSocketBytes,
		Vars:    map[string]string{"rtp_port": strconv.Itoa(sink.port()), "hold_ms": "30000"},
		Timeout: 5 * time.Minute, Extra: sippPatient,
	})
	defer probe.Kill()
	for range marks {
		<-done
	}
	fmt.Fprintf(w, "## Recovery after SIGKILL of one of two nodes behind Kamailio\n\n"+
		"%d seats all on calls, %d of them on the killed node; new callers at 20/s from the kill on. Times from the SIGKILL:\n\n", kamBenchSeats, held)
	fmt.Fprintln(w, "| event | after |")
	fmt.Fprintln(w, "| --- | ---: |")
	for i, m := range marks {
		v := "not seen in 1 min"
		if took[i] > 0 {
			v = took[i].Round(time.Millisecond).String()
		} else {
			t.Errorf("recovery: %s not seen", m.what)
		}
		fmt.Fprintf(w, "| %s | %s |\n", m.what, v)
	}
	fmt.Fprintln(w)
}

// benchKamRate offers rising call rates for kamRateStep each, to one node
// directly or through Kamailio, each caller hanging up in the greeting
// (SIP, admission, IVR start and the record: no seat), and writes one row
// per step until a step has a failed call.
func benchKamRate(t *testing.T, w *strings.Builder, name string, nodes int, proxy bool, rates []int) {
	rds := redistest.Start(t)
	es := startKamNodes(t, nodes, rds.Addr)
	target := es[0].target()
	var k *kamailio
	if proxy {
		k = startKamailio(t, es...)
		target = k.Trunk.String()
	}
	sink := newRTPSink(t)
	total := 0
	for _, rate := range rates {
		n := rate * int(kamRateStep/time.Second)
		res := testpeer.RunSipp(t, testpeer.SippOptions{
			LocalIP: carrierIP, Scenario: testpeer.ScenarioPath(t, "bench_uac.xml"), Target: target, Service: "12345",
			Calls: n, Rate: float64(rate), Limit: n, BufferSize: benchSocketBytes,
			Vars:    map[string]string{"rtp_port": strconv.Itoa(sink.port()), "hold_ms": strconv.Itoa(kamRateHoldMs)},
			Timeout: 2 * time.Minute,
		})
		total += n
		var per []int
		pollUntil(30*time.Second, func() bool {
			per, n = nil, 0
			for _, e := range es {
				c := len(e.records())
				per = append(per, c)
				n += c
			}
			return n >= total
		})
		fmt.Fprintf(w, "| %s | %d | %d | %d | %.0f | %v |\n", name, rate, res.Successful, res.Failed,
			launchRate(res, res.Successful+res.Failed, kamRateHoldMs*time.Millisecond), per)
		if res.Failed > 0 || res.ExitCode != 0 {
			t.Logf("%s at %d calls/s: %s", name, rate, res)
			if k != nil {
				t.Logf("kamailio marked a node down %d times", k.log.count(`marked down`))
			}
			return
		}
		for _, e := range es {
			waitIdle(t, e)
		}
	}
}
