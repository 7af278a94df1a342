package main

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// rtpParty is a phone whose SIP is a SIPp answering and whose media is a Go
// RTP endpoint the test drives (its own tone) and reads (what it hears).
func rtpParty(t *testing.T, calls int) (*testpeer.RTPPeer, *testpeer.SippProc) {
	t.Helper()
	peer := testpeer.NewRTPPeer(t)
	sipp := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "bench_uas.xml"), Calls: calls,
		Vars: map[string]string{"rtp_port": fmt.Sprint(peer.Port()), "codec": "0"}, Timeout: 2 * time.Minute,
	})
	return peer, sipp
}

// toneCall registers seat 1001 at agentSIP (an rtpParty) and starts a
// caller bridged to it: the caller sends 1 kHz, the agent 600 Hz, for hold.
func toneCall(t *testing.T, e *engine, hold time.Duration, agent *testpeer.RTPPeer, agentSIP *testpeer.SippProc) (*testpeer.SippProc, *testpeer.RTPPeer) {
	t.Helper()
	caller, peer := callerTalking(t, e, hold, agent, agentSIP)
	agent.SendTone(netip.AddrPort{}, 0, 600, hold)
	return caller, peer
}

// callerTalking is toneCall but for the agent's tone: the agent's phone
// (an rtpParty) says nothing until the test makes it.
func callerTalking(t *testing.T, e *engine, hold time.Duration, agent *testpeer.RTPPeer, agentSIP *testpeer.SippProc) (*testpeer.SippProc, *testpeer.RTPPeer) {
	t.Helper()
	registerSeatRange(t, e, 1001, 1, agentSIP.Addr, 200, 50)
	caller, peer := e.caller(t, "12345", "0", hold)
	peer.SendTone(netip.AddrPort{}, 0, 1000, hold)
	waitUntil(t, "1001 on the call", 30*time.Second, func() bool { return agentOf(t, e, "1001").State == "on_call" })
	if err := agent.WaitPackets(5, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	return caller, peer
}

// registerFrom registers ext (password demo-<ext>) from a free port of
// its own, where the test's phone will then send from; it returns the
// port and the extension's -inf row.
func registerFrom(t *testing.T, e *engine, ext string) (int, []string) {
	t.Helper()
	port := testpeer.FreeUDPPort(t)
	row := testpeer.RegistrationRow(ext, "demo-"+ext, fmt.Sprintf("127.0.0.1:%d", port))
	if res := testpeer.RunSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "register_auth.xml"), Target: e.target(), LocalPort: port,
		Calls: 1, InfFile: testpeer.WriteInf(t, [][]string{row}), Timeout: 10 * time.Second,
	}); res.Successful != 1 {
		t.Fatalf("registering %s: %s", ext, res)
	}
	return port, row
}

// hears checks, on the next second of what peer receives, that each tone
// of want is there and each of not is not.
func hears(t *testing.T, who string, peer *testpeer.RTPPeer, want, not []float64) {
	t.Helper()
	heard := heardSince(t, peer, len(peer.Received())+4000)
	for _, hz := range want {
		if s := toneShare(heard, hz); s < 0.15 {
			t.Errorf("%s does not hear %v Hz (share %.2f)", who, hz, s)
		}
	}
	for _, hz := range not {
		if s := toneShare(heard, hz); s > 0.05 {
			t.Errorf("%s hears %v Hz (share %.2f)", who, hz, s)
		}
	}
}

// TestMonitorModes: supervisor 1002 monitors agent 1001's call through
// the API. Caller 1 kHz, agent 600 Hz, supervisor 2 kHz. Listen: the
// supervisor hears both, nobody hears it; whisper: only the agent hears
// it; barge: all hear all; DELETE hangs the supervisor up. Then a takeover:
// the agent is released and the supervisor talks with the caller. An
// agent is refused (403). The record lists the four modes.
func TestMonitorModes(t *testing.T) {
	t.Parallel()
	const hold = 45 * time.Second
	agent, agentSIP := rtpParty(t, 1)
	sup, supSIP := rtpParty(t, 1)
	e := startEngine(t, centreOpts{Seats: 1, RTPTimeout: "10s",
		Extra: `  - {extension: "1002", password: demo-1002, skills: [general], role: supervisor}
`})
	caller, peer := toneCall(t, e, hold, agent, agentSIP)
	registerSeatRange(t, e, 1002, 1, supSIP.Addr, 200, 50)
	var calls []struct{ ID string }
	apiGet(t, e, "calls", &calls)
	path := "/api/v1/calls/" + calls[0].ID + "/monitor"
	if code := apiStatus(t, e, "POST", path, `{"supervisor": "1001"}`, testToken); code != 403 {
		t.Errorf("an agent monitoring: %d, want 403", code)
	}
	if code := apiStatus(t, e, "POST", path, `{"supervisor": "1002", "mode": "listen"}`, testToken); code != 200 {
		t.Fatalf("monitor: %d", code)
	}
	if err := sup.WaitPackets(5, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	sup.SendTone(netip.AddrPort{}, 0, 2000, hold)
	hears(t, "listening supervisor", sup, []float64{1000, 600}, []float64{2000})
	hears(t, "caller (listen)", peer, []float64{600}, []float64{2000, 1000})
	hears(t, "agent (listen)", agent, []float64{1000}, []float64{2000, 600})
	if code := apiStatus(t, e, "PATCH", path, `{"mode": "whisper"}`, testToken); code != 200 {
		t.Fatalf("whisper: %d", code)
	}
	hears(t, "agent (whisper)", agent, []float64{1000, 2000}, []float64{600})
	hears(t, "caller (whisper)", peer, []float64{600}, []float64{2000, 1000})
	if code := apiStatus(t, e, "PATCH", path, `{"mode": "barge"}`, testToken); code != 200 {
		t.Fatalf("barge: %d", code)
	}
	hears(t, "caller (barge)", peer, []float64{600, 2000}, []float64{1000})
	if code := apiStatus(t, e, "DELETE", path, "", testToken); code != 200 {
		t.Fatalf("stop: %d", code)
	}
	hears(t, "caller (after)", peer, []float64{600}, []float64{2000, 1000})
	// Takeover (from the supervisor's other phone): the agent is released,
	// the supervisor talks with the caller.
	sup2, sup2SIP := rtpParty(t, 1)
	registerSeatRange(t, e, 1002, 1, sup2SIP.Addr, 200, 50)
	if code := apiStatus(t, e, "POST", path, `{"supervisor": "1002", "mode": "takeover"}`, testToken); code != 200 {
		t.Fatalf("takeover: %d", code)
	}
	if res := agentSIP.Wait(); res.Successful != 1 {
		t.Errorf("the agent's leg was not hung up at the takeover: %s", res)
	}
	if err := sup2.WaitPackets(5, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	sup2.SendTone(netip.AddrPort{}, 0, 2000, hold)
	hears(t, "caller (takeover)", peer, []float64{2000}, []float64{600, 1000})
	if res := caller.Wait(); res.Successful != 1 {
		t.Fatalf("caller: %s\n%s", res, e.log.tail(30))
	}
	r := e.waitRecords(1, 10*time.Second)[0]
	modes := []string{}
	for _, m := range r.Monitors {
		if m.Supervisor != "1002" || m.To == nil {
			t.Errorf("monitor entry %+v", m)
		}
		modes = append(modes, m.Mode)
	}
	if fmt.Sprint(modes) != "[listen whisper barge takeover]" {
		t.Errorf("record monitors %v, want listen whisper barge takeover", modes)
	}
	for _, s := range []*testpeer.SippProc{supSIP, sup2SIP} {
		if res := s.Wait(); res.Successful != 1 {
			t.Errorf("a supervisor's leg: %s", res)
		}
	}
}

// TestMonitorByPhone: supervisor 1002's own phone dials *311001 and
// listens to agent 1001's call, then keys 5 (whisper) and 6 (barge), each
// checked by tone (caller 1 kHz, agent 600 Hz, supervisor 2 kHz); DELETE
// through the API ends it and the phone gets a BYE. *311003 (a seat on no
// call) gets 480. The call's record lists listen, whisper and barge; the
// supervisor's own call has a record of its own (line_mode monitor).
func TestMonitorByPhone(t *testing.T) {
	t.Parallel()
	const hold = 40 * time.Second
	agent, agentSIP := rtpParty(t, 1)
	e := startEngine(t, centreOpts{Seats: 1, RTPTimeout: "10s",
		Extra: `  - {extension: "1002", password: demo-1002, skills: [general], role: supervisor}
`})
	caller, peer := toneCall(t, e, hold, agent, agentSIP)

	port, row := registerFrom(t, e, "1002")
	sup := testpeer.NewRTPPeer(t)
	dial := func(code string) testpeer.SippOptions {
		return testpeer.SippOptions{
			Scenario: testpeer.ScenarioPath(t, "uac_seat_auth.xml"), Target: e.target(), LocalPort: port,
			Service: code, Calls: 1, InfFile: testpeer.WriteInf(t, [][]string{row}),
			Vars:  map[string]string{"media_port": fmt.Sprint(sup.Port())},
			Extra: []string{"-auth_uri", code + "@" + e.target()}, TraceMessages: true, Timeout: hold + 20*time.Second,
		}
	}
	if res := testpeer.RunSipp(t, dial("*311003")); res.Successful != 0 {
		t.Errorf("*311003 (on no call) was answered: %s", res)
	}
	phone := testpeer.StartSipp(t, dial("*311001"))
	if err := sup.WaitPackets(5, 10*time.Second); err != nil {
		t.Fatalf("the supervisor hears nothing: %v\n%s", err, e.log.tail(30))
	}
	hears(t, "listening supervisor", sup, []float64{1000, 600}, nil)
	// key switches the mode, then the supervisor speaks for a while.
	key := func(d rune) {
		sup.SendDTMF(netip.AddrPort{}, 101, d)
		if err := sup.WaitSent(5 * time.Second); err != nil {
			t.Fatal(err)
		}
		sup.SendTone(netip.AddrPort{}, 0, 2000, 3*time.Second)
	}
	sup.SendTone(netip.AddrPort{}, 0, 2000, 3*time.Second)
	hears(t, "agent (listen)", agent, []float64{1000}, []float64{2000, 600})
	if err := sup.WaitSent(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	key('5')
	hears(t, "agent (whisper)", agent, []float64{1000, 2000}, []float64{600})
	hears(t, "caller (whisper)", peer, []float64{600}, []float64{2000, 1000})
	if err := sup.WaitSent(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	key('6')
	hears(t, "caller (barge)", peer, []float64{600, 2000}, []float64{1000})
	var calls []struct{ ID, State, Agent string }
	apiGet(t, e, "calls", &calls)
	id := ""
	for _, c := range calls {
		if c.Agent == "1001" {
			id = c.ID
		}
	}
	if code := apiStatus(t, e, "PATCH", "/api/v1/calls/"+id+"/monitor", `{"mode": "takeover"}`, testToken); code != 409 {
		t.Errorf("takeover of a phone's monitoring: %d, want 409", code)
	}
	if code := apiStatus(t, e, "DELETE", "/api/v1/calls/"+id+"/monitor", "", testToken); code != 200 {
		t.Fatalf("stop: %d", code)
	}
	if res := phone.Wait(); res.Successful != 1 {
		t.Errorf("the supervisor's phone was not hung up: %s", res)
	}
	if res := caller.Wait(); res.Successful != 1 {
		t.Fatalf("caller: %s\n%s", res, e.log.tail(30))
	}
	var modes []string
	reasons := map[string]string{}
	for _, r := range e.waitRecords(3, 10*time.Second) {
		if r.LineMode == "monitor" {
			reasons[r.Dialled] = r.EndReason
			continue
		}
		for _, m := range r.Monitors {
			modes = append(modes, m.Mode)
		}
	}
	if fmt.Sprint(modes) != "[listen whisper barge]" {
		t.Errorf("record monitors %v, want listen whisper barge", modes)
	}
	if reasons["*311003"] != "unavailable" || reasons["*311001"] != "answered" {
		t.Errorf("the supervisor's calls ended %v", reasons)
	}
}
