package main

import (
	"strconv"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// natContact is the private address a seat behind NAT puts in its Contact:
// nothing listens there (it stays on loopback so a regression sends nothing
// off the machine), so only a request sent to the REGISTER's source
// reaches the seat.
const natContact = "127.0.0.99:5099"

// registerBehindNAT registers seat 1001 from 127.0.0.1:from with its Via and
// Contact at natContact (register_nat.xml); the answers must come back to
// the source (rport) for SIPp to finish.
func registerBehindNAT(t *testing.T, e *engine, from int) {
	t.Helper()
	res := testpeer.RunSipp(t, testpeer.SippOptions{
		LocalPort: from, Scenario: testpeer.ScenarioPath(t, "register_nat.xml"), Target: e.target(),
		InfFile: testpeer.WriteInf(t, [][]string{testpeer.RegistrationRow("1001", "demo-1001", natContact)}),
		Calls:   1, Timeout: 20 * time.Second,
	})
	if res.ExitCode != 0 || res.Successful != 1 {
		t.Fatalf("registering behind NAT: %s", res)
	}
	if _, err := e.log.wait(`msg=registered part=registrar ext=1001 contact=sip:1001@`+natContact, 20*time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestSeatBehindNAT: a seat registers from 127.0.0.1:P with a Via and a
// Contact naming a private address; a queue call's INVITE goes to 127.0.0.1:P, where
// the phone (SIPp, on the port the REGISTER came from) answers; the ACK
// reaches it there too, and its BYE ends the call.
func TestSeatBehindNAT(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1})
	port := testpeer.FreeUDPPort(t)
	registerBehindNAT(t, e, port)
	seat := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_hangup.xml"), LocalPort: port, Calls: 1, RTPEcho: true,
		Vars: map[string]string{"codec": "8", "hold_ms": "1000"}, Timeout: 40 * time.Second,
	})
	peer := testpeer.NewRTPPeer(t)
	res := testpeer.RunSipp(t, testpeer.SippOptions{
		LocalIP:  carrierIP,
		Scenario: testpeer.ScenarioPath(t, "uac_call.xml"), Target: e.target(), Service: "12345",
		Calls: 1, Timeout: 30 * time.Second,
		Vars: map[string]string{"media_port": strconv.Itoa(peer.Port()), "codecs": "8"},
	})
	if res.ExitCode != 0 || res.Successful != 1 {
		t.Fatalf("caller: %s\n%s", res, e.log.tail(30))
	}
	if sr := seat.Wait(); sr.Successful != 1 {
		t.Fatalf("seat behind NAT: %s\n%s", sr, e.log.tail(30))
	}
	if r := e.waitRecords(1, 10*time.Second)[0]; r.EndReason != "answered" || r.Agent != "1001" || r.HangupBy != "agent" {
		t.Fatalf("record: end_reason %q agent %q hangup_by %q", r.EndReason, r.Agent, r.HangupBy)
	}
}

// TestSeatKeepalive: with sip.seat_keepalive at 1 s, a seat registered over
// UDP from behind NAT is sent OPTIONS at its REGISTER's source; it answers
// two (SIPp then exits) and, after three unanswered, its binding is dropped
// and the agent logged out, as an expired registration is.
func TestSeatKeepalive(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1, SIPExtra: "  seat_keepalive: 1s\n"})
	port := testpeer.FreeUDPPort(t)
	registerBehindNAT(t, e, port)
	agentStateIs(t, e, "1001", "ready")
	seat := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_options.xml"), LocalPort: port, Calls: 2, Timeout: 20 * time.Second,
	})
	if sr := seat.Wait(); sr.ExitCode != 0 || sr.Successful != 2 {
		t.Fatalf("the seat was not sent two keep-alives at its source: %s\n%s", sr, e.log.tail(30))
	}
	answered := time.Now()
	if _, err := e.log.wait(`msg=registration seat=1001 registered=false`, 15*time.Second); err != nil {
		t.Fatalf("the silent seat kept its binding: %v\n%s", err, e.log.tail(30))
	}
	// Three rounds of 1 s, each waiting up to 1 s.
	if d := time.Since(answered); d < 2*time.Second {
		t.Errorf("binding dropped %v after the last answer, want three missed rounds", d)
	}
	if _, err := e.log.wait(`seat answers no keep-alive, registration dropped.* ext=1001`, time.Second); err != nil {
		t.Error(err)
	}
	agentStateIs(t, e, "1001", "logged_out")
}

// TestSeatOverTCPBehindNAT: a seat registers over TCP (SIPp, -t t1) with a
// Via and Contact naming a private address; a queue call reaches it over
// the very connection it registered on (SIPp answers it with its
// out-of-call scenario), and the caller's BYE follows there too.
func TestSeatOverTCPBehindNAT(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1})
	seat := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "register_tcp_hold.xml"), Target: e.target(), Transport: "t1",
		InfFile: testpeer.WriteInf(t, [][]string{testpeer.RegistrationRow("1001", "demo-1001", natContact)}),
		Calls:   1, RTPEcho: true, Timeout: 60 * time.Second, TraceMessages: true,
		Vars:  map[string]string{"hold_ms": "40000", "codec": "8"},
		Extra: []string{"-oocsf", testpeer.ScenarioPath(t, "uas_answer.xml")},
	})
	if _, err := e.log.wait(`msg=registered part=registrar ext=1001 contact="?sip:1001@`+natContact+`;transport=tcp.* transport=tcp`, 20*time.Second); err != nil {
		t.Fatalf("no TCP registration: %v\n%s", err, e.log.tail(20))
	}
	peer := testpeer.NewRTPPeer(t)
	res := testpeer.RunSipp(t, testpeer.SippOptions{
		LocalIP:  carrierIP,
		Scenario: testpeer.ScenarioPath(t, "uac_call.xml"), Target: e.target(), Service: "12345",
		Calls: 1, Timeout: 30 * time.Second,
		Vars: map[string]string{"media_port": strconv.Itoa(peer.Port()), "codecs": "8", "hold_ms": "9000"},
	})
	if res.ExitCode != 0 || res.Successful != 1 {
		t.Fatalf("caller: %s\n%s", res, e.log.tail(30))
	}
	r := e.waitRecords(1, 10*time.Second)[0]
	if r.EndReason != "answered" || r.Agent != "1001" {
		t.Fatalf("record: end_reason %q agent %q\n%s", r.EndReason, r.Agent, e.log.tail(30))
	}
	seat.Stop()
}
