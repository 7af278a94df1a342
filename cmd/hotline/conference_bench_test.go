package main

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// confPhase is one measured phase of the conference run.
type confPhase struct {
	name           string
	rooms          float64 // hotline_rtp_rooms_mixing during it
	engineCores    float64
	machine        float64
	rssKiB         int64
	generatorCores float64
}

// benchConference (issue 10): n callers bridged to n seats (PCMA; the
// rtpload generator plays both ends, as in (b)), then, one after the
// other on the same calls and over the same window: every call bridged
// (two parties: the relay); every call monitored in listen mode by a
// supervisor whose phone (SIPp, -rtp_echo) sends back what it hears;
// monitoring stopped and every call made a three-way conference with a
// department (SIPp, -rtp_echo); the agents leaving (caller and department
// relay again). Media flows on every leg throughout; the engine's CPU is
// read over each window.
func benchConference(t *testing.T, w *strings.Builder, n int) {
	prompts := benchPrompts(t)
	g, seats := benchSeatMedia(t, n)
	echo := func() *testpeer.SippProc {
		return testpeer.StartSipp(t, testpeer.SippOptions{
			Scenario: testpeer.ScenarioPath(t, "uas_answer.xml"), RTPEcho: true, BufferSize: benchSocketBytes,
			Vars: map[string]string{"codec": "8"}, Timeout: 10 * time.Minute, Extra: sippPatient,
		})
	}
	dept, sup := echo(), echo()
	supExt := strconv.Itoa(1001 + n)
	e := startBenchEngine(t, benchEngineOpts{prompts: prompts, seats: n, extra: fmt.Sprintf(
		`  - {extension: "%s", password: demo-%s, skills: [general], role: supervisor}
directory:
  - {name: department, number: "12333", kind: department, target: "sip:12333@%s", ring_timeout: 15s}
`, supExt, supExt, dept.Addr)})
	registerBenchSeats(t, e, n, seats.Addr)
	pid := e.cmd.Process.Pid
	ramp := time.Duration(n) * time.Second / benchLaunchRate
	hold := ramp + benchBridgeWait + 4*(benchWindow+30*time.Second)
	uac := benchCallers(t, e, g, n, hold)
	waitUntil(t, "every call bridged", ramp+benchBridgeWait, func() bool {
		_, s := g.Streams()
		return s == n
	})
	var calls []struct{ ID, State string }
	apiGet(t, e, "calls", &calls)
	if len(calls) != n {
		t.Fatalf("%d calls listed, want %d", len(calls), n)
	}
	// The supervisor registers now: with no caller waiting, it is offered none.
	registerSeatRange(t, e, 1001+n, 1, sup.Addr, 100, 10)
	each := func(method, path, body string) {
		t.Helper()
		for _, c := range calls {
			if code := apiStatus(t, e, method, "/api/v1/calls/"+c.ID+path, body, testToken); code != 200 {
				t.Fatalf("%s %s: %d", method, path, code)
			}
		}
	}
	mixing := func(want float64) {
		t.Helper()
		waitUntil(t, fmt.Sprintf("%v rooms mixing", want), time.Minute, func() bool {
			return metricValue(t, e, "hotline_rtp_rooms_mixing") == want
		})
	}
	var phases []confPhase
	measure := func(name string) {
		t.Helper()
		settle := time.NewTimer(2 * time.Second) // the newest legs' first frames
		<-settle.C
		a, selfA := sampleProc(t, pid), selfCPU()
		window := time.NewTimer(benchWindow)
		<-window.C
		b, selfB := sampleProc(t, pid), selfCPU()
		phases = append(phases, confPhase{
			name: name, rooms: metricValue(t, e, "hotline_rtp_rooms_mixing"),
			engineCores: cores(a, b), machine: machineCores(a, b), rssKiB: b.rssKiB,
			generatorCores: (selfB - selfA).Seconds() / b.at.Sub(a.at).Seconds(),
		})
	}
	measure("bridged: caller and agent (relay)")
	each("POST", "/monitor", fmt.Sprintf(`{"supervisor": %q, "mode": "listen"}`, supExt))
	mixing(float64(n))
	measure("monitored: a supervisor listening (mixed, 3 legs)")
	each("DELETE", "/monitor", "")
	mixing(0)
	each("POST", "/transfer", `{"target": "12333", "mode": "conference"}`)
	mixing(float64(n))
	measure("three-way: caller, agent, department (mixed, 3 legs)")
	each("POST", "/transfer/leave", "")
	mixing(0)
	measure("the agents left: caller and department (relay)")
	g.StopSending()
	waitDrained(g)
	writeConference(w, n, phases)
	uac.Kill() // the callers' hold covers the phases with room to spare; the run ends here
}

func writeConference(w *strings.Builder, n int, phases []confPhase) {
	fmt.Fprintf(w, "## Issue 10: %d concurrent calls, two-party, monitored and three-way, media on every leg (PCMA), %v windows\n\n", n, benchWindow)
	fmt.Fprintln(w, "| phase | rooms mixing | engine CPU | % of a core per call | engine RSS | machine busy (of 2 cores) | generator+harness CPU |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, p := range phases {
		fmt.Fprintf(w, "| %s | %.0f | %.1f%% of a core | %.3f%% | %.1f MiB | %.2f cores | %.2f cores |\n",
			p.name, p.rooms, 100*p.engineCores, 100*p.engineCores/float64(n), float64(p.rssKiB)/1024, p.machine, p.generatorCores)
	}
	fmt.Fprintln(w)
}
