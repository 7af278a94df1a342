package main

// The benchmark runs behind make bench (HOTLINE_BENCH=1; skipped otherwise):
// (c) SIPp UAC -> SIPp UAS directly, the harness's own ceiling; (a) sustained
// calls per second answered -> 2 s greeting -> bridged to a seat, stepping
// the rate up until a step has a failure; (b) concurrent bridged calls with
// media both ways from the Go generator (internal/rtpload) at several
// levels: the engine's CPU and RSS per call and the packet loss. Each run
// is bounded in calls and time and ends by itself; the figures are printed
// as tables and written to HOTLINE_BENCH_OUT/figures.md.

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/rtpload"
	"github.com/hotline-cc/hotline/internal/testpeer"
)

const (
	benchHoldMs      = 3000             // (a), (c): call length after the 200: 2 s greeting, ~1 s bridged
	benchStep        = 10 * time.Second // (a), (c): how long each rate is offered
	benchLaunchRate  = 200              // (b): calls/s while filling a level
	benchWindow      = 10 * time.Second // (b): the measuring window
	benchBridgeWait  = 15 * time.Second // (b): after the last call is launched, the wait for every call to be bridged
	benchSocketBytes = 4 << 20
)

// envInts reads a comma-separated list of integers, or returns def.
func envInts(t *testing.T, name string, def []int) []int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, n)
	}
	return out
}

// TestBench runs the three benchmarks and prints their figures.
// HOTLINE_BENCH_RATES, HOTLINE_BENCH_CEILING and HOTLINE_BENCH_LEVELS
// override the steps (comma-separated); HOTLINE_BENCH_PROFILE_LEVEL picks
// the level of (b) whose engine writes media.cpu.pprof (default 500).
func TestBench(t *testing.T) {
	if os.Getenv("HOTLINE_BENCH") != "1" {
		t.Skip("benchmarks run with HOTLINE_BENCH=1 (make bench)")
	}
	out := benchOut(t)
	var report strings.Builder
	fmt.Fprintf(&report, "# hotline bench %s\n\n", time.Now().Format(time.RFC3339))
	t.Run("SippCeiling", func(t *testing.T) {
		benchSippCeiling(t, &report, envInts(t, "HOTLINE_BENCH_CEILING", []int{1000, 2000, 4000, 8000, 12000, 16000}))
	})
	t.Run("CallRate", func(t *testing.T) {
		benchCallRate(t, &report, envInts(t, "HOTLINE_BENCH_RATES", []int{100, 200, 300, 400, 450, 500, 550, 600, 700}),
			filepath.Join(out, "callrate.cpu.pprof"))
	})
	t.Run("Media", func(t *testing.T) {
		benchMedia(t, &report, envInts(t, "HOTLINE_BENCH_LEVELS", []int{200, 500, 1000, 2000}),
			envInts(t, "HOTLINE_BENCH_PROFILE_LEVEL", []int{500})[0], filepath.Join(out, "media.cpu.pprof"))
	})
	fmt.Println(report.String())
	path := filepath.Join(out, "figures.md")
	if err := os.WriteFile(path, []byte(report.String()), 0o644); err != nil {
		t.Error(err)
	}
	t.Logf("figures in %s, CPU profiles beside them", path)
}

// launchRate is the rate SIPp really achieved: calls over the time it took
// to start them (the run less one call's length).
func launchRate(res testpeer.SippResult, calls int, hold time.Duration) float64 {
	d := (res.Duration - hold).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(calls) / d
}

// benchSippCeiling: the same caller scenario against SIPp answering
// directly, no engine in between.
func benchSippCeiling(t *testing.T, w *strings.Builder, rates []int) {
	uas := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "bench_uas.xml"), BufferSize: benchSocketBytes,
		Vars: map[string]string{"rtp_port": "9"}, Timeout: 30 * time.Minute,
	})
	fmt.Fprintf(w, "## (c) SIPp UAC -> SIPp UAS directly (harness ceiling), %d ms calls, %v per step\n\n", benchHoldMs, benchStep)
	fmt.Fprintln(w, "| offered calls/s | calls | successful | failed | achieved calls/s |")
	fmt.Fprintln(w, "| ---: | ---: | ---: | ---: | ---: |")
	best := 0
	for _, rate := range rates {
		n := rate * int(benchStep/time.Second)
		res := testpeer.RunSipp(t, testpeer.SippOptions{
			Scenario: testpeer.ScenarioPath(t, "bench_uac.xml"), Target: uas.Addr, Service: "12345",
			Calls: n, Rate: float64(rate), Limit: n, BufferSize: benchSocketBytes,
			Vars:    map[string]string{"rtp_port": "9", "hold_ms": strconv.Itoa(benchHoldMs)},
			Timeout: benchStep + time.Minute,
		})
		got := launchRate(res, n, benchHoldMs*time.Millisecond)
		fmt.Fprintf(w, "| %d | %d | %d | %d | %.0f |\n", rate, n, res.Successful, res.Failed, got)
		if res.ExitCode != 0 || res.Failed != 0 || res.Successful != n || got < 0.95*float64(rate) {
			t.Logf("ceiling at %d calls/s: %s", rate, res)
			break
		}
		best = rate
	}
	fmt.Fprintf(w, "\nHighest offered rate with 0 failures: **%d calls/s**\n\n", best)
}

// benchCallRate: carrier calls to 12345 at rising rates; each is answered,
// greeted (2 s), bridged to a free seat (SIPp answering for 2,000 registered
// extensions) and hung up by the caller 3 s after the answer. A step passes
// when every call succeeded at SIPp and every record shows a seat.
func benchCallRate(t *testing.T, w *strings.Builder, rates []int, profile string) {
	const seats = 2000
	sink := newRTPSink(t)
	e := startBenchEngine(t, benchPrompts(t), seats, profile)
	uas := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "bench_uas.xml"), BufferSize: benchSocketBytes,
		Vars: map[string]string{"rtp_port": strconv.Itoa(sink.port())}, Timeout: 30 * time.Minute,
	})
	registerBenchSeats(t, e, seats, uas.Addr)
	fmt.Fprintf(w, "## (a) calls/s: answer -> 2 s greeting -> seat answers -> bridged, caller hangs up %d ms after the answer, %v per step\n\n", benchHoldMs, benchStep)
	fmt.Fprintln(w, "| offered calls/s | calls | successful | failed | bridged (records with a seat) | achieved calls/s | engine CPU per call | = % of a core per call/s | machine busy (of 2 cores) | longest wait for a seat |")
	fmt.Fprintln(w, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	best, seen := 0, 0
	for _, rate := range rates {
		waitIdle(t, e)
		n := rate * int(benchStep/time.Second)
		before := sampleProc(t, e.cmd.Process.Pid)
		res := testpeer.RunSipp(t, testpeer.SippOptions{
			Scenario: testpeer.ScenarioPath(t, "bench_uac.xml"), Target: e.target(), Service: "12345",
			Calls: n, Rate: float64(rate), Limit: n, BufferSize: benchSocketBytes,
			Vars:    map[string]string{"rtp_port": strconv.Itoa(sink.port()), "hold_ms": strconv.Itoa(benchHoldMs)},
			Timeout: benchStep + time.Minute,
		})
		waitIdle(t, e)
		after := sampleProc(t, e.cmd.Process.Pid)
		recs := e.records()
		bridged, longest := 0, int64(0)
		for _, r := range recs[min(seen, len(recs)):] {
			if r.Agent != "" && r.EndReason == "answered" {
				bridged++
			}
			longest = max(longest, r.WaitMs)
		}
		seen = len(recs)
		perCall := (after.cpu - before.cpu) / time.Duration(n)
		got := launchRate(res, n, benchHoldMs*time.Millisecond)
		fmt.Fprintf(w, "| %d | %d | %d | %d | %d | %.0f | %v | %.2f%% | %.2f cores | %d ms |\n", rate, n, res.Successful, res.Failed,
			bridged, got, perCall.Round(time.Microsecond), 100*perCall.Seconds(), machineCores(before, after), longest)
		if res.ExitCode != 0 || res.Failed != 0 || res.Successful != n || bridged != n || got < 0.95*float64(rate) {
			t.Logf("call rate %d: %s\n%s", rate, res, e.log.tail(20))
			break
		}
		best = rate
	}
	fmt.Fprintf(w, "\nHighest rate with 0 failed calls: **%d calls/s**\n\n", best)
	stopForProfile(t, e)
}

// waitIdle waits until the engine has no call left.
func waitIdle(t *testing.T, e *engine) {
	t.Helper()
	waitUntil(t, "no active calls", time.Minute, func() bool {
		return metricValue(t, e, "hotline_calls_active") == 0
	})
}

// waitUntil polls cond until it holds, failing the test after limit.
func waitUntil(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	if !pollUntil(limit, cond) {
		t.Fatalf("timed out after %v waiting for %s", limit, what)
	}
}

// pollUntil polls cond every 50 ms until it holds (true) or limit passes.
func pollUntil(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}

// waitDrained waits (up to 5 s) until no more relayed frames arrive: the
// relay's queues are empty and the loss count is final.
func waitDrained(g *rtpload.Generator) {
	last := uint64(1<<64 - 1)
	pollUntil(5*time.Second, func() bool {
		r := g.Report()
		now := r.CallerToSeat.Relayed + r.SeatToCaller.Relayed
		same := now == last
		last = now
		return same
	})
}

// stopForProfile ends the engine with SIGTERM so that it writes its CPU
// profile on the way out.
func stopForProfile(t *testing.T, e *engine) {
	t.Helper()
	e.signal(syscall.SIGTERM)
	if code := e.waitExit(30 * time.Second); code != 0 {
		t.Errorf("engine exit %d", code)
	}
}

// mediaLevel is what one level of (b) measured.
type mediaLevel struct {
	calls, bridged         int
	relayedPPS             float64 // frames through the relay per second in the window, both ways
	engineCores, machine   float64
	generatorCores         float64
	idleKiB, rssKiB        int64
	report                 rtpload.Report
	callersOK, callerCalls int
}

// benchMedia: for each level, a fresh engine with that many seats, that
// many calls bridged at once with PCMA both ways from the generator; the
// engine's CPU over a window in steady state, its RSS over its idle RSS,
// and every frame counted through the relay.
func benchMedia(t *testing.T, w *strings.Builder, levels []int, profileLevel int, profile string) {
	prompts := benchPrompts(t)
	var got []mediaLevel
	for _, n := range levels {
		prof := ""
		if n == profileLevel {
			prof = profile
		}
		t.Run(strconv.Itoa(n), func(t *testing.T) { got = append(got, mediaRun(t, prompts, n, prof)) })
	}
	fmt.Fprintf(w, "## (b) concurrent bridged calls, PCMA both ways (50 packets/s each way per leg), %v window\n\n", benchWindow)
	fmt.Fprintln(w, "| calls | bridged | relayed packets/s in the window (nominal) | engine CPU | engine CPU per relayed packet | = % of a core per call at 100 packets/s | engine RSS | RSS per call | lost caller->seat | lost seat->caller | machine busy (of 2 cores) | generator+harness CPU | generator ticks late |")
	fmt.Fprintln(w, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, m := range got {
		r := m.report
		perPkt := time.Duration(0)
		if m.relayedPPS > 0 {
			perPkt = time.Duration(m.engineCores / m.relayedPPS * 1e9)
		}
		fmt.Fprintf(w, "| %d | %d | %.0f (%d) | %.1f%% of a core | %.1f µs | %.3f%% | %.1f MiB | %.1f KiB | %d of %d (%.4f%%) | %d of %d (%.4f%%) | %.2f cores | %.2f cores | %d of %d |\n",
			m.calls, m.bridged, m.relayedPPS, 100*m.bridged, 100*m.engineCores,
			float64(perPkt.Nanoseconds())/1000, 100*perPkt.Seconds()*100,
			float64(m.rssKiB)/1024, float64(m.rssKiB-m.idleKiB)/float64(m.calls),
			r.CallerToSeat.Lost, r.CallerToSeat.Relayed+r.CallerToSeat.Lost, 100*r.CallerToSeat.LossRatio(),
			r.SeatToCaller.Lost, r.SeatToCaller.Relayed+r.SeatToCaller.Lost, 100*r.SeatToCaller.LossRatio(),
			m.machine, m.generatorCores, r.LateTicks, r.Ticks)
	}
	fmt.Fprintln(w)
	for _, m := range got {
		fmt.Fprintf(w, "- %d calls: %d/%d callers completed; generator: %v\n", m.calls, m.callersOK, m.callerCalls, m.report)
	}
	fmt.Fprintln(w)
}

func mediaRun(t *testing.T, prompts string, n int, profile string) mediaLevel {
	e := startBenchEngine(t, prompts, n, profile)
	g, err := rtpload.New(rtpload.Config{MaxStreams: n, PayloadType: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	g.Start()
	uas := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "bench_uas.xml"), BufferSize: benchSocketBytes,
		Vars:    map[string]string{"rtp_port": strconv.Itoa(int(g.SeatAddr().Port())), "codec": "8"},
		Timeout: 10 * time.Minute,
	})
	registerBenchSeats(t, e, n, uas.Addr)
	pid := e.cmd.Process.Pid
	idle := sampleProc(t, pid)
	ramp := time.Duration(n) * time.Second / benchLaunchRate
	hold := ramp + benchBridgeWait + benchWindow + 6*time.Second
	uac := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "bench_uac.xml"), Target: e.target(), Service: "12345",
		Calls: n, Rate: benchLaunchRate, Limit: n, BufferSize: benchSocketBytes,
		Vars:    map[string]string{"rtp_port": strconv.Itoa(int(g.CallerAddr().Port())), "codec": "8", "hold_ms": strconv.Itoa(int(hold.Milliseconds()))},
		Timeout: 2*hold + time.Minute,
	})
	// Measure even if some calls never got bridged (an overloaded machine):
	// the row then shows fewer bridged calls.
	bridged := pollUntil(ramp+benchBridgeWait, func() bool {
		_, seats := g.Streams()
		return seats == n
	})
	if !bridged {
		t.Logf("%d calls: not all bridged in time (the table says how many were)", n)
	}
	settle := time.NewTimer(time.Second) // the last calls' first frames
	<-settle.C
	a, selfA, relA := sampleProc(t, pid), selfCPU(), relayedFrames(g)
	window := time.NewTimer(benchWindow)
	<-window.C
	b, selfB, relB := sampleProc(t, pid), selfCPU(), relayedFrames(g)
	g.StopSending()
	waitDrained(g)
	_, seats := g.Streams()
	m := mediaLevel{
		calls: n, bridged: seats, engineCores: cores(a, b), machine: machineCores(a, b),
		relayedPPS:     float64(relB-relA) / b.at.Sub(a.at).Seconds(),
		generatorCores: (selfB - selfA).Seconds() / b.at.Sub(a.at).Seconds(),
		idleKiB:        idle.rssKiB, rssKiB: b.rssKiB, report: g.Report(), callerCalls: n,
	}
	res := uac.Wait()
	m.callersOK = res.Successful
	if res.Successful != n || res.Failed != 0 {
		t.Errorf("%d calls: callers %s", n, res)
	}
	if profile != "" {
		stopForProfile(t, e)
	}
	return m
}

// relayedFrames is how many frames have come through the relay, both ways.
func relayedFrames(g *rtpload.Generator) uint64 {
	r := g.Report()
	return r.CallerToSeat.Relayed + r.SeatToCaller.Relayed
}
