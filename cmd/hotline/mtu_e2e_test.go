package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// registerSeatWith registers extension ext with its Contact at contact plus
// the URI parameters params (one SIPp REGISTER over UDP from 127.0.0.1:from,
// 0 for any port), and waits until the engine has logged n registrations in
// all.
func registerSeatWith(t *testing.T, e *engine, ext, from int, contact, params string, n int) {
	t.Helper()
	x := strconv.Itoa(ext)
	res := testpeer.RunSipp(t, testpeer.SippOptions{
		LocalPort: from, Scenario: testpeer.ScenarioPath(t, "register_auth.xml"), Target: e.target(),
		InfFile: testpeer.WriteInf(t, [][]string{testpeer.RegistrationRow(x, "demo-"+x, contact)}),
		Calls:   1, Vars: map[string]string{"contact_params": params}, Timeout: 20 * time.Second,
	})
	if res.ExitCode != 0 || res.Successful != 1 {
		t.Fatalf("registering seat %s: %s", x, res)
	}
	if _, err := e.log.waitCount(`msg=registration seat=\d+ registered=true`, n, 20*time.Second); err != nil {
		t.Fatalf("engine saw fewer than %d registrations: %v", n, err)
	}
}

// bigAnswerRE finds the size SIPp logged for a 200 OK to an INVITE.
var bigAnswerRE = regexp.MustCompile(`message received \[(\d+)\] bytes :\s+SIP/2\.0 200 OK\r?\n(?:[^\r\n]+\r?\n)*?CSeq: 1 INVITE`)

// TestLargeAnswerOverUDP: an INVITE over UDP that came through three
// proxies (four Via, four Record-Route) gets a 200 OK of over 1300 bytes;
// RFC 3261 18.2.2 sends it back over UDP, and it arrives (sipgo dropped
// it before), the caller ACKs through its route set, and the call is
// bridged to the seat until the seat hangs up; the engine's BYE to the
// caller follows the route set (its first Record-Route).
func TestLargeAnswerOverUDP(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1})
	seat := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_hangup.xml"), Calls: 1, RTPEcho: true,
		Vars: map[string]string{"codec": "8", "hold_ms": "1000"}, Timeout: 40 * time.Second,
	})
	registerSeatWith(t, e, 1001, 0, seat.Addr, "", 1)
	peer := testpeer.NewRTPPeer(t)
	res := testpeer.RunSipp(t, testpeer.SippOptions{
		LocalIP:  carrierIP,
		Scenario: testpeer.ScenarioPath(t, "uac_big.xml"), Target: e.target(), Service: "12345",
		Calls: 1, TraceMessages: true, Timeout: 30 * time.Second,
		Vars: map[string]string{"media_port": strconv.Itoa(peer.Port()), "hold_ms": "60000"},
	})
	if res.ExitCode != 0 || res.Successful != 1 {
		t.Fatalf("caller: %s\n%s", res, e.log.tail(30))
	}
	m := bigAnswerRE.FindStringSubmatch(res.Messages)
	if m == nil {
		t.Fatalf("no 200 OK to the INVITE in the trace\n%s", res)
	}
	if n, _ := strconv.Atoi(m[1]); n <= 1300 {
		t.Fatalf("the 200 OK was %d bytes, want over 1300 (the test lost its point)", n)
	}
	if got := strings.Count(res.Messages, "Record-Route: <sip:10.20.30.4"); got < 6 {
		t.Errorf("the 200 OK lacks the Record-Routes (%d seen in INVITE and 200)", got)
	}
	if r := seat.Wait(); r.Successful != 1 {
		t.Errorf("seat: %s", r)
	}
	if r := e.waitRecords(1, 10*time.Second)[0]; r.EndReason != "answered" || r.Agent != "1001" {
		t.Fatalf("record: end_reason %q agent %q", r.EndReason, r.Agent)
	}
}

// TestLargeRequestOverTCP: a seat registered over UDP whose Contact URI
// carries 700 bytes of parameters gets an INVITE of over 1300 bytes: the
// engine sends it over TCP to the Contact's host and port (RFC 3261
// 18.1.1), where the seat (SIPp listening on TCP only) answers; the ACK and
// the seat's BYE follow over the same connection.
func TestLargeRequestOverTCP(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1})
	seat := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_hangup.xml"), Transport: "t1", Calls: 1, RTPEcho: true,
		Vars: map[string]string{"codec": "8", "hold_ms": "1000"}, TraceMessages: true, Timeout: 40 * time.Second,
	})
	registerSeatWith(t, e, 1001, 0, seat.Addr, ";x-pad="+strings.Repeat("a", 700), 1)
	peer := testpeer.NewRTPPeer(t)
	res := testpeer.RunSipp(t, testpeer.SippOptions{
		LocalIP:  carrierIP,
		Scenario: testpeer.ScenarioPath(t, "uac_call.xml"), Target: e.target(), Service: "12345",
		Calls: 1, Timeout: 30 * time.Second,
		Vars: map[string]string{"media_port": strconv.Itoa(peer.Port()), "hold_ms": "60000", "codecs": "8"},
	})
	if res.ExitCode != 0 || res.Successful != 1 {
		t.Fatalf("caller: %s\n%s", res, e.log.tail(30))
	}
	sr := seat.Wait()
	if sr.Successful != 1 {
		t.Fatalf("seat over TCP: %s\n%s", sr, e.log.tail(30))
	}
	if !strings.Contains(sr.Messages, "TCP message received") || !strings.Contains(sr.Messages, "Via: SIP/2.0/TCP ") {
		t.Errorf("the INVITE did not come over TCP\n%s", sr.Messages)
	}
	if r := e.waitRecords(1, 10*time.Second)[0]; r.EndReason != "answered" || r.Agent != "1001" {
		t.Fatalf("record: end_reason %q agent %q", r.EndReason, r.Agent)
	}
}
