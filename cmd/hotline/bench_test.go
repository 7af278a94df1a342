package main

// The benchmark runs behind make bench (HOTLINE_BENCH=1; skipped otherwise):
// (c) SIPp UAC -> SIPp UAS directly, the harness's own ceiling; (a) sustained
// calls per second answered -> 2 s greeting -> queue -> bridged to a seat,
// stepping the rate up until a step has a failure, through the memory store
// and through a real redis-server; the surge: 1,000 callers kept waiting
// with music while 200 seats take calls, then nothing left behind; (b) concurrent bridged calls with
// media both ways from the Go generator (internal/rtpload) at several
// levels: the engine's CPU and RSS per call and the packet loss. Each run
// is bounded in calls and time and ends by itself; the figures are printed
// as tables and written to HOTLINE_BENCH_OUT/figures.md.

import (
	"errors"
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
	"github.com/hotline-cc/hotline/records"
	"github.com/hotline-cc/hotline/store/redistest"
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

// TestBench runs the benchmarks and prints their figures.
// HOTLINE_BENCH_RATES, HOTLINE_BENCH_REDIS_RATES, HOTLINE_BENCH_CEILING and
// HOTLINE_BENCH_LEVELS override the steps (comma-separated);
// HOTLINE_BENCH_PROFILE_LEVEL picks the level of (b) whose engine writes
// media.cpu.pprof (default 500); HOTLINE_BENCH_SURGE is how long the surge
// keeps 1,000 callers waiting (a Go duration, default 10m).
func TestBench(t *testing.T) {
	report, finish := benchReport(t, "bench", "figures.md")
	defer finish()
	out := benchOut(t)
	t.Run("SippCeiling", func(t *testing.T) {
		benchSippCeiling(t, report, envInts(t, "HOTLINE_BENCH_CEILING", []int{1000, 2000, 4000, 8000, 12000, 16000}))
	})
	rates := []int{100, 200, 300, 400, 450, 500, 550, 600, 700}
	var byStore []callRateResult
	t.Run("CallRate", func(t *testing.T) {
		byStore = append(byStore, benchCallRate(t, report, envInts(t, "HOTLINE_BENCH_RATES", rates),
			filepath.Join(out, "callrate.cpu.pprof"), callRateStore{name: "memory"}))
	})
	t.Run("Redis", func(t *testing.T) {
		rds := redistest.Start(t)
		pid := childPID(t, "redis-server", "")
		if pid == 0 {
			t.Fatal("no redis-server process found among the test's children")
		}
		yaml := fmt.Sprintf("store:\n  kind: redis\n  redis: {address: %q}\n  node: bench\n", rds.Addr)
		byStore = append(byStore, benchCallRate(t, report, envInts(t, "HOTLINE_BENCH_REDIS_RATES", rates),
			filepath.Join(out, "callrate-redis.cpu.pprof"), callRateStore{name: "redis", yaml: yaml, serverPID: pid}))
	})
	if len(byStore) > 1 {
		writeStoreComparison(report, byStore)
	}
	// The cost of the event fan-out and of recording every call, beside
	// the memory store's run: HOTLINE_BENCH_VARIANT_RATES (default 300).
	var variants []callRateResult
	for _, v := range []callRateStore{
		{name: "memory, no event client"},
		{name: "memory, no event client, pacer unbatched (one sendto per packet)", rtp: "  batch_sends: false\n"},
		{name: "memory, 20 event-stream clients", sse: 20},
		{name: "memory, every call recorded", recording: true, yaml: "queues:\n  - {name: general, record: true}\n"},
	} {
		t.Run("Variant", func(t *testing.T) {
			variants = append(variants, benchCallRate(t, report, envInts(t, "HOTLINE_BENCH_VARIANT_RATES", []int{300}), "", v))
		})
	}
	if len(variants) > 1 {
		writeStoreComparison(report, variants)
	}
	t.Run("Surge", func(t *testing.T) { benchSurge(t, report, surgeDuration(t)) })
	t.Run("Conference", func(t *testing.T) {
		benchConference(t, report, envInts(t, "HOTLINE_BENCH_CONFERENCE", []int{100})[0])
	})
	t.Run("Media", func(t *testing.T) {
		benchMedia(t, report, envInts(t, "HOTLINE_BENCH_LEVELS", []int{200, 500, 1000, 2000}),
			envInts(t, "HOTLINE_BENCH_PROFILE_LEVEL", []int{500})[0], filepath.Join(out, "media.cpu.pprof"))
	})
}

// benchReport skips t unless HOTLINE_BENCH=1 and returns the report to
// write figures to, with the function that prints it and writes it to
// HOTLINE_BENCH_OUT/file.
func benchReport(t *testing.T, title, file string) (*strings.Builder, func()) {
	t.Helper()
	if os.Getenv("HOTLINE_BENCH") != "1" {
		t.Skip("benchmarks run with HOTLINE_BENCH=1 (make bench)")
	}
	out := benchOut(t)
	report := &strings.Builder{}
	fmt.Fprintf(report, "# hotline %s %s\n\n", title, time.Now().Format(time.RFC3339))
	return report, func() {
		fmt.Println(report.String())
		path := filepath.Join(out, file)
		if err := os.WriteFile(path, []byte(report.String()), 0o644); err != nil {
			t.Error(err)
		}
		t.Logf("figures in %s (CPU profiles beside them)", path)
	}
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

// callRateStore is the store a calls/s run goes through: its name, the
// YAML that selects it, and its own server process (0: in the engine).
type callRateStore struct {
	name      string
	yaml      string
	serverPID int
	sse       int    // event-stream clients connected throughout
	recording bool   // every call recorded: disk per call is reported
	rtp       string // more keys of the rtp section, indented
}

// callRateResult is what a calls/s run found: the highest rate with no
// failed call and the CPU per call at that rate (engine, store server).
type callRateResult struct {
	store                  string
	best                   int
	perCall, serverPerCall time.Duration
}

// benchCallRate: carrier calls to 12345 at rising rates; each is answered,
// greeted (2 s), queued, bridged to a free seat (SIPp answering for 2,000
// registered extensions, HOTLINE_BENCH_SEATS to change) and hung up by the
// caller 3 s after the answer. A step passes when every call succeeded at
// SIPp and every record shows a seat.
func benchCallRate(t *testing.T, w *strings.Builder, rates []int, profile string, st callRateStore) callRateResult {
	seats := envInts(t, "HOTLINE_BENCH_SEATS", []int{2000})[0]
	sink := newRTPSink(t)
	e := startBenchEngine(t, benchEngineOpts{prompts: benchPrompts(t), seats: seats, extra: st.yaml, rtp: st.rtp, profile: profile})
	uas := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "bench_uas.xml"), BufferSize: benchSocketBytes,
		Vars: map[string]string{"rtp_port": strconv.Itoa(sink.port())}, Timeout: 30 * time.Minute,
	})
	registerBenchSeats(t, e, seats, uas.Addr)
	for range st.sse {
		ch, stop := eventStream(t, e, "", "")
		t.Cleanup(stop)
		go func() {
			for range ch { // the clients only have to keep up
			}
		}()
	}
	fmt.Fprintf(w, "## (a) calls/s, %s store, %d seats: answer -> 2 s greeting -> queue -> seat answers -> bridged, caller hangs up %d ms after the answer, %v per step\n\n", st.name, seats, benchHoldMs, benchStep)
	fmt.Fprintln(w, "| offered calls/s | calls | successful | failed | bridged (records with a seat) | achieved calls/s | engine CPU per call | = % of a core per call/s | store server CPU per call | machine busy (of 2 cores) | longest wait for a seat |")
	fmt.Fprintln(w, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	got := callRateResult{store: st.name}
	seen := 0
	for _, rate := range rates {
		waitIdle(t, e)
		n := rate * int(benchStep/time.Second)
		before, srvBefore := sampleProc(t, e.cmd.Process.Pid), serverCPU(t, st.serverPID)
		res := testpeer.RunSipp(t, testpeer.SippOptions{
			LocalIP:  carrierIP,
			Scenario: testpeer.ScenarioPath(t, "bench_uac.xml"), Target: e.target(), Service: "12345",
			Calls: n, Rate: float64(rate), Limit: n, BufferSize: benchSocketBytes,
			Vars:    map[string]string{"rtp_port": strconv.Itoa(sink.port()), "hold_ms": strconv.Itoa(benchHoldMs)},
			Timeout: benchStep + time.Minute,
		})
		waitIdle(t, e)
		after, srvAfter := sampleProc(t, e.cmd.Process.Pid), serverCPU(t, st.serverPID)
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
		srvPerCall := (srvAfter - srvBefore) / time.Duration(n)
		srv := "-"
		if st.serverPID != 0 {
			srv = srvPerCall.Round(time.Microsecond).String()
		}
		achieved := launchRate(res, n, benchHoldMs*time.Millisecond)
		fmt.Fprintf(w, "| %d | %d | %d | %d | %d | %.0f | %v | %.2f%% | %s | %.2f cores | %d ms |\n", rate, n, res.Successful, res.Failed,
			bridged, achieved, perCall.Round(time.Microsecond), 100*perCall.Seconds(), srv, machineCores(before, after), longest)
		if st.recording {
			bytes, files := dirBytes(filepath.Join(e.dir, "data", "recordings"))
			fmt.Fprintf(w, "\nRecordings so far: %d files, %.1f MiB, %.0f KiB per recorded call\n\n", files, float64(bytes)/(1<<20), float64(bytes)/1024/float64(max(files, 1)))
		}
		if res.ExitCode != 0 || res.Failed != 0 || res.Successful != n || bridged != n || achieved < 0.95*float64(rate) {
			t.Logf("call rate %d (%s store): %s\n%s", rate, st.name, res, e.log.tail(20))
			break
		}
		got.best, got.perCall, got.serverPerCall = rate, perCall, srvPerCall
	}
	fmt.Fprintf(w, "\nHighest rate with 0 failed calls (%s store): **%d calls/s**\n\n", st.name, got.best)
	if st.sse > 0 {
		fmt.Fprintf(w, "%d event-stream clients connected throughout\n\n", st.sse)
	}
	stopForProfile(t, e)
	return got
}

// dirBytes is the size and number of the files under dir.
func dirBytes(dir string) (bytes int64, files int) {
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				bytes += fi.Size()
				files++
			}
		}
		return nil
	})
	return bytes, files
}

// serverCPU is a store server's CPU time so far (0 for none).
func serverCPU(t *testing.T, pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	return sampleProc(t, pid).cpu
}

// writeStoreComparison puts the calls/s runs of both stores side by side.
func writeStoreComparison(w *strings.Builder, runs []callRateResult) {
	fmt.Fprintln(w, "## (a) calls/s by store")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| store | highest rate with 0 failed calls | engine CPU per call there | store server CPU per call there |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: |")
	for _, r := range runs {
		srv := "-"
		if r.serverPerCall > 0 {
			srv = r.serverPerCall.Round(time.Microsecond).String()
		}
		fmt.Fprintf(w, "| %s | %d calls/s | %v | %s |\n", r.store, r.best, r.perCall.Round(time.Microsecond), srv)
	}
	fmt.Fprintln(w)
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
	path                   string // rtp.fast_path of the run
	kernelLegs             float64
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
	paths := strings.Split(os.Getenv("HOTLINE_BENCH_MEDIA_PATHS"), ",") // e.g. off,auto: both, side by side
	for _, n := range levels {
		prof := ""
		if n == profileLevel {
			prof = profile
		}
		for _, path := range paths {
			t.Run(strconv.Itoa(n)+path, func(t *testing.T) { got = append(got, mediaRun(t, prompts, n, prof, path)) })
		}
	}
	fmt.Fprintf(w, "## (b) concurrent bridged calls, PCMA both ways (50 packets/s each way per leg), %v window\n\n", benchWindow)
	fmt.Fprintln(w, "| calls | rtp.fast_path (legs in the kernel) | bridged | relayed packets/s in the window (nominal) | engine CPU | engine CPU per relayed packet | = % of a core per call at 100 packets/s | machine CPU per relayed packet | engine RSS | RSS per call | lost caller->seat | lost seat->caller | machine busy (of 2 cores) | generator+harness CPU | generator ticks late |")
	fmt.Fprintln(w, "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, m := range got {
		r := m.report
		perPkt := time.Duration(0)
		if m.relayedPPS > 0 {
			perPkt = time.Duration(m.engineCores / m.relayedPPS * 1e9)
		}
		machinePerPkt := 0.0
		if m.relayedPPS > 0 {
			machinePerPkt = m.machine / m.relayedPPS * 1e6
		}
		path := m.path
		if path == "" {
			path = "default"
		}
		fmt.Fprintf(w, "| %d | %s (%.0f) | %d | %.0f (%d) | %.1f%% of a core | %.1f µs | %.3f%% | %.1f µs | %.1f MiB | %.1f KiB | %d of %d (%.4f%%) | %d of %d (%.4f%%) | %.2f cores | %.2f cores | %d of %d |\n",
			m.calls, path, m.kernelLegs, m.bridged, m.relayedPPS, 100*m.bridged, 100*m.engineCores,
			float64(perPkt.Nanoseconds())/1000, 100*perPkt.Seconds()*100, machinePerPkt,
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

// benchSeatMedia starts the generator playing n calls' media (PCMA) and
// the SIPp answering for the seats with their SDP pointed at it.
func benchSeatMedia(t *testing.T, n int) (*rtpload.Generator, *testpeer.SippProc) {
	t.Helper()
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
	return g, uas
}

// benchCallers launches n carrier callers at benchLaunchRate whose media
// the generator plays, each hanging up after hold.
func benchCallers(t *testing.T, e *engine, g *rtpload.Generator, n int, hold time.Duration) *testpeer.SippProc {
	t.Helper()
	return testpeer.StartSipp(t, testpeer.SippOptions{
		LocalIP:  carrierIP,
		Scenario: testpeer.ScenarioPath(t, "bench_uac.xml"), Target: e.target(), Service: "12345",
		Calls: n, Rate: benchLaunchRate, Limit: n, BufferSize: benchSocketBytes,
		Vars:    map[string]string{"rtp_port": strconv.Itoa(int(g.CallerAddr().Port())), "codec": "8", "hold_ms": strconv.Itoa(int(hold.Milliseconds()))},
		Timeout: 2*hold + time.Minute,
	})
}

func mediaRun(t *testing.T, prompts string, n int, profile, fastPath string) mediaLevel {
	e := startBenchEngine(t, benchEngineOpts{prompts: prompts, seats: n, profile: profile, fastPath: fastPath})
	g, uas := benchSeatMedia(t, n)
	registerBenchSeats(t, e, n, uas.Addr)
	pid := e.cmd.Process.Pid
	idle := sampleProc(t, pid)
	ramp := time.Duration(n) * time.Second / benchLaunchRate
	hold := ramp + benchBridgeWait + benchWindow + 6*time.Second
	uac := benchCallers(t, e, g, n, hold)
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
	kernelLegs := metricValue(t, e, "hotline_rtp_kernel_legs")
	g.StopSending()
	waitDrained(g)
	_, seats := g.Streams()
	m := mediaLevel{
		path: fastPath, kernelLegs: kernelLegs,
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

const (
	surgeSeats      = 200
	surgeWaiting    = 1000            // callers kept waiting with music for the whole surge
	surgeTalk       = 5 * time.Second // a seat hangs up this long after answering
	surgeGreeting   = 2 * time.Second // the bench welcome prompt
	surgeLaunchRate = 400             // callers/s: the burst, and each refill as calls end
	surgePatience   = 5 * time.Minute // a caller still connected this long after its answer hangs up (a failure)
	surgeSample     = 2 * time.Second // how often the queue and the engine are sampled
	surgeDrain      = time.Minute     // after the last caller, the bound on the engine's clean-up
)

// sippPatient keeps a long run's SIPp from quitting by itself when the
// machine is busy: its watchdog ends the process after 120 scheduling
// delays over 500 ms (an hour's surge met that with other work running).
var sippPatient = []string{"-watchdog_minor_maxtriggers", "1000000", "-watchdog_major_maxtriggers", "1000000"}

// surgeDuration is HOTLINE_BENCH_SURGE (a Go duration), default 10 minutes.
func surgeDuration(t *testing.T) time.Duration {
	v := os.Getenv("HOTLINE_BENCH_SURGE")
	if v == "" {
		return 10 * time.Minute
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("HOTLINE_BENCH_SURGE=%q: want a positive Go duration such as 2m", v)
	}
	return d
}

// surgeCallers is how many callers SIPp keeps connected at once: the
// waiting ones, one talking per seat, and those hearing the greeting
// (seats' throughput × greeting length).
func surgeCallers() int {
	return surgeWaiting + surgeSeats + surgeSeats*int(surgeGreeting/time.Millisecond)/int(surgeTalk/time.Millisecond)
}

// surgeWatch is what sampling the engine during the surge saw.
type surgeWatch struct {
	samples, plateau       int   // samples; those after the queue first held 90% of surgeWaiting
	maxWaiting, minWaiting int   // minWaiting: on the plateau
	sumWaiting             int   // on the plateau
	peakRSSKiB             int64 // engine
	// warmRSSKiB: the engine's RSS at the first plateau sample a sixth of
	// the way in (warmAt), the base of the growth over the rest.
	warmRSSKiB int64
	warmAt     time.Duration
}

// benchSurge: 200 seats (one SIPp answering for all, hanging up 5 s after
// answering) and callers arriving in a burst; SIPp keeps surgeCallers()
// connected for d, a new caller arriving as each call ends, so about 1,000
// wait with music the whole time. Then no new caller comes, the queue
// drains, and the engine must hold nothing: no call, no waiting entry, no
// seat other than ready, no RTP session; every call has its record.
func benchSurge(t *testing.T, w *strings.Builder, d time.Duration) {
	sink := newRTPSink(t)
	e := startBenchEngine(t, benchEngineOpts{prompts: benchPrompts(t), seats: surgeSeats, rtpTimeout: "15m"})
	hard := d + surgePatience + 5*time.Minute
	uas := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_hangup.xml"), BufferSize: benchSocketBytes,
		Vars: map[string]string{"hold_ms": strconv.Itoa(int(surgeTalk.Milliseconds())), "codec": "8"}, Timeout: hard, Extra: sippPatient,
	})
	registerBenchSeats(t, e, surgeSeats, uas.Addr)
	pid := e.cmd.Process.Pid
	idle := sampleProc(t, pid)
	uac := testpeer.StartSipp(t, testpeer.SippOptions{
		LocalIP:  carrierIP,
		Scenario: testpeer.ScenarioPath(t, "bench_uac.xml"), Target: e.target(), Service: "12345",
		Rate: surgeLaunchRate, Limit: surgeCallers(), BufferSize: benchSocketBytes,
		Vars:    map[string]string{"rtp_port": strconv.Itoa(sink.port()), "hold_ms": strconv.Itoa(int(surgePatience.Milliseconds()))},
		Timeout: hard, Extra: sippPatient,
	})
	sippPID := childPID(t, "sipp", "\x00-p\x00"+strconv.Itoa(uac.Port)+"\x00")
	if sippPID == 0 {
		t.Fatal("the callers' SIPp process was not found among the test's children")
	}
	start := sampleProc(t, pid)
	// The seats' phones refresh their registrations (3,600 s) as real
	// phones do, at half the interval: without it every seat lapses, and
	// is rightly logged out, an hour in.
	reregister := func() { registerBenchSeats(t, e, surgeSeats, uas.Addr) }
	seen := watchSurge(t, e, pid, d, uac.Done(), reregister)
	end := sampleProc(t, pid)
	// SIPp's graceful quit: no new caller, the connected ones finish. (It
	// may have ended by itself: watchSurge said so; its result says why.)
	if err := syscall.Kill(sippPID, syscall.SIGUSR1); err != nil && !errors.Is(err, syscall.ESRCH) {
		t.Fatal(err)
	}
	res := uac.Wait()
	if res.ExitCode != 0 && res.Failed == 0 {
		t.Logf("the callers' SIPp: %s", res)
	}
	drainedAt := time.Now()
	var left []string
	pollUntil(surgeDrain, func() bool { left = leftBehind(t, e); return len(left) == 0 })
	settled := time.Since(drainedAt)
	total := res.Successful + res.Failed
	pollUntil(surgeDrain, func() bool { return len(e.records()) >= total })
	after := sampleProc(t, pid)
	writeSurge(w, d, surgeFigures{res: res, recs: e.records(), seen: seen, idle: idle, start: start, end: end,
		after: after, left: left, settled: settled})
	// Over a long surge the RSS must settle: growth from a sixth of the way
	// in to the end under surgeMaxGrowth (shorter runs only report it).
	if g := rssGrowth(seen, end); d >= 30*time.Minute && (seen.warmRSSKiB == 0 || g >= surgeMaxGrowth) {
		t.Errorf("surge: RSS grew %.1f%% from %.1f MiB at %v to %.1f MiB at the end (limit %.0f%%)",
			100*g, float64(seen.warmRSSKiB)/1024, seen.warmAt.Round(time.Second), float64(end.rssKiB)/1024, 100*surgeMaxGrowth)
	}
	if res.Failed != 0 || len(left) > 0 || len(e.records()) != total {
		t.Errorf("surge: %d failed callers, %d records for %d calls, left behind: %v\n%s\n%s",
			res.Failed, len(e.records()), total, left, res, e.log.tail(20))
	}
}

// watchSurge samples the queue length and the engine's RSS every
// surgeSample for d, or until the callers' SIPp exits early.
func watchSurge(t *testing.T, e *engine, pid int, d time.Duration, callersDone <-chan struct{}, reregister func()) surgeWatch {
	s := surgeWatch{minWaiting: surgeWaiting * 10}
	began := time.Now()
	registered := began
	stop := time.NewTimer(d)
	defer stop.Stop()
	tick := time.NewTicker(surgeSample)
	defer tick.Stop()
	for {
		select {
		case <-stop.C:
			return s
		case <-callersDone:
			t.Errorf("the callers' SIPp ended before the surge did")
			return s
		case <-tick.C:
		}
		if time.Since(registered) >= surgeReregister {
			reregister()
			registered = time.Now()
		}
		s.samples++
		rss := sampleProc(t, pid).rssKiB
		s.peakRSSKiB = max(s.peakRSSKiB, rss)
		n := queueWaiting(t, e)
		s.maxWaiting = max(s.maxWaiting, n)
		if s.plateau > 0 || n >= surgeWaiting*9/10 {
			s.plateau++
			s.sumWaiting += n
			s.minWaiting = min(s.minWaiting, n)
			if at := time.Since(began); s.warmRSSKiB == 0 && at >= d/6 {
				s.warmRSSKiB, s.warmAt = rss, at
			}
		}
	}
}

// surgeReregister is how often the surge's seats register again (half
// their 3,600 s registration).
const surgeReregister = 30 * time.Minute

// surgeMaxGrowth bounds the RSS growth of a surge of 30 minutes or more.
const surgeMaxGrowth = 0.05

// rssGrowth is the engine's RSS growth from the warm sample to end (0 with
// no warm sample).
func rssGrowth(s surgeWatch, end procSample) float64 {
	if s.warmRSSKiB == 0 {
		return 0
	}
	return float64(end.rssKiB-s.warmRSSKiB) / float64(s.warmRSSKiB)
}

// surgeFigures is what the surge measured.
type surgeFigures struct {
	res                     testpeer.SippResult
	recs                    []records.Record
	seen                    surgeWatch
	idle, start, end, after procSample
	left                    []string
	settled                 time.Duration
}

func writeSurge(w *strings.Builder, d time.Duration, f surgeFigures) {
	bridged, longest, sumWait := 0, int64(0), int64(0)
	reasons := map[string]int{}
	for _, r := range f.recs {
		reasons[r.EndReason]++
		if r.Agent != "" && r.EndReason == "answered" {
			bridged++
		}
		longest = max(longest, r.WaitMs)
		sumWait += r.WaitMs
	}
	mean := int64(0)
	if len(f.recs) > 0 {
		mean = sumWait / int64(len(f.recs))
	}
	meanWaiting := 0
	if f.seen.plateau > 0 {
		meanWaiting = f.seen.sumWaiting / f.seen.plateau
	} else {
		f.seen.minWaiting = 0
	}
	total := f.res.Successful + f.res.Failed
	fmt.Fprintf(w, "## Surge: %d callers kept connected (about %d waiting with music) for %v, %d seats, each call %v with a seat\n\n",
		surgeCallers(), surgeWaiting, d, surgeSeats, surgeTalk)
	fmt.Fprintln(w, "| | |")
	fmt.Fprintln(w, "| --- | ---: |")
	fmt.Fprintf(w, "| callers (SIPp) | %d: %d successful, %d failed |\n", total, f.res.Successful, f.res.Failed)
	fmt.Fprintf(w, "| records | %d (%d bridged to a seat; end reasons %v) |\n", len(f.recs), bridged, reasons)
	fmt.Fprintf(w, "| calls waiting in /api/v1/queues, every %v | max %d; on the plateau (%d of %d samples) min %d, mean %d |\n",
		surgeSample, f.seen.maxWaiting, f.seen.plateau, f.seen.samples, f.seen.minWaiting, meanWaiting)
	fmt.Fprintf(w, "| wait for a seat (records) | longest %d ms, mean %d ms |\n", longest, mean)
	fmt.Fprintf(w, "| bridged calls per second over the surge | %.1f |\n", float64(bridged)/f.after.at.Sub(f.start.at).Seconds())
	fmt.Fprintf(w, "| engine CPU during the surge | %.1f%% of a core |\n", 100*cores(f.start, f.end))
	fmt.Fprintf(w, "| engine CPU per call, its music included (surge and drain) | %v |\n", ((f.after.cpu - f.start.cpu) / time.Duration(max(total, 1))).Round(time.Microsecond))
	peak := max(f.seen.peakRSSKiB, f.end.rssKiB, f.after.rssKiB)
	fmt.Fprintf(w, "| engine RSS | idle %.1f MiB, highest sampled %.1f MiB, after the drain %.1f MiB |\n",
		float64(f.idle.rssKiB)/1024, float64(peak)/1024, float64(f.after.rssKiB)/1024)
	if f.seen.warmRSSKiB > 0 {
		fmt.Fprintf(w, "| engine RSS growth over the surge | %+.1f%%: %.1f MiB at %v, %.1f MiB at its end |\n",
			100*rssGrowth(f.seen, f.end), float64(f.seen.warmRSSKiB)/1024, f.seen.warmAt.Round(time.Second), float64(f.end.rssKiB)/1024)
	}
	fmt.Fprintf(w, "| machine busy during the surge (of 2 cores) | %.2f cores |\n", machineCores(f.start, f.end))
	stuck := "nothing"
	if len(f.left) > 0 {
		stuck = strings.Join(f.left, "; ")
	}
	fmt.Fprintf(w, "| left behind after the last caller | %s (checked within %v) |\n\n", stuck, f.settled.Round(time.Millisecond))
}
