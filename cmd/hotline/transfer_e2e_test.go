package main

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// transferCentre is a centre with one seat and the directory entry
// social-security (12333, key *51) at dept, ringing for ring.
func transferCentre(t *testing.T, dept, ring string) *engine {
	t.Helper()
	return startEngine(t, centreOpts{Seats: 1, RTPTimeout: "10s", Extra: fmt.Sprintf(`directory:
  - {name: social-security, number: "12333", kind: department, target: "sip:12333@%s", ring_timeout: %s, key: "*51"}
`, dept, ring)})
}

// bridgedToSeat starts a caller (1 kHz for hold) bridged to seat 1001, a
// SIPp echoing the caller's audio, and returns the call's id.
func bridgedToSeat(t *testing.T, e *engine, hold time.Duration) (*testpeer.SippProc, *testpeer.RTPPeer, *testpeer.SippProc, string) {
	t.Helper()
	seat := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_answer.xml"), Calls: 1, RTPEcho: true, Timeout: hold + time.Minute,
	})
	registerSeatRange(t, e, 1001, 1, seat.Addr, 200, 50)
	caller, peer := e.caller(t, "12345", "0", hold)
	peer.SendTone(netip.AddrPort{}, 0, 1000, hold)
	waitUntil(t, "1001 on the call", 30*time.Second, func() bool { return agentOf(t, e, "1001").State == "on_call" })
	var calls []struct{ ID, State string }
	apiGet(t, e, "calls", &calls)
	if len(calls) != 1 || calls[0].State != "bridged" {
		t.Fatalf("calls %+v, want one bridged", calls)
	}
	return caller, peer, seat, calls[0].ID
}

// transferPost posts to the call's transfer route (op "" starts one with
// body) and returns the status.
func transferPost(t *testing.T, e *engine, id, op, body string) int {
	t.Helper()
	path := "/api/v1/calls/" + id + "/transfer"
	if op != "" {
		path += "/" + op
	}
	return apiStatus(t, e, "POST", path, body, testToken)
}

// callState is the state of call id in /api/v1/calls ("" when gone).
func callState(t *testing.T, e *engine, id string) string {
	t.Helper()
	var calls []struct{ ID, State string }
	apiGet(t, e, "calls", &calls)
	for _, c := range calls {
		if c.ID == id {
			return c.State
		}
	}
	return ""
}

// toneShare is the share of the signal's energy at hz (Goertzel), 0..1.
func toneShare(pcm []int16, hz float64) float64 {
	if len(pcm) == 0 {
		return 0
	}
	k := 2 * math.Cos(2*math.Pi*hz/8000)
	var s1, s2, total float64
	for _, v := range pcm {
		x := float64(v)
		s1, s2 = x+k*s1-s2, s1
		total += x * x
	}
	power := s1*s1 + s2*s2 - k*s1*s2
	if total == 0 {
		return 0
	}
	return 2 * power / (float64(len(pcm)) * total)
}

// putThrough waits until social-security answered a transfer and checks
// that the caller (peer, sending 1 kHz) now hears the department's echo.
func putThrough(t *testing.T, e *engine, peer *testpeer.RTPPeer) {
	t.Helper()
	waitUntil(t, "the department answered", 20*time.Second, func() bool {
		return metricValue(t, e, `hotline_transfers_total{entry="social-security",result="answered"}`) == 1
	})
	if got := toneShare(heardSince(t, peer, len(peer.Received())+4000), 1000); got < 0.5 {
		t.Errorf("put through to the echoing department, the caller's 1 kHz share is %.2f", got)
	}
}

// peakShare is the largest share of hz in any eighth of a second of pcm.
func peakShare(pcm []int16, hz float64) float64 {
	peak := 0.0
	for i := 0; i+1000 <= len(pcm); i += 1000 {
		peak = max(peak, toneShare(pcm[i:i+1000], hz))
	}
	return peak
}

// heardSince waits until the peer has 1 s more audio than from, and
// returns that second.
func heardSince(t *testing.T, peer *testpeer.RTPPeer, from int) []int16 {
	t.Helper()
	waitUntil(t, "a second of audio", 10*time.Second, func() bool { return len(peer.Received()) >= from+8000 })
	return peer.Received()[from : from+8000]
}

// TestTransferConsultComplete: the agent consults social-security through
// the API: the caller hears music (not the agent) while the department is
// consulted, complete hands the caller over (the caller's 1 kHz comes back
// from the department's echo), the seat's leg is hung up and it wraps up;
// one record has the agent and the transfer (consult, completed, answered,
// left_at).
func TestTransferConsultComplete(t *testing.T) {
	t.Parallel()
	dept := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_answer.xml"), Calls: 1, RTPEcho: true, Timeout: 2 * time.Minute,
	})
	e := transferCentre(t, dept.Addr, "15s")
	caller, peer, seat, id := bridgedToSeat(t, e, 25*time.Second)
	if got := toneShare(heardSince(t, peer, len(peer.Received())), 1000); got < 0.5 {
		t.Fatalf("bridged to the echoing seat, the caller's 1 kHz share is %.2f", got)
	}
	if code := transferPost(t, e, id, "", `{"target": "12333", "mode": "consult"}`); code != 200 {
		t.Fatalf("transfer: %d", code)
	}
	waitUntil(t, "the department answered", 20*time.Second, func() bool {
		return metricValue(t, e, `hotline_transfers_total{entry="social-security",result="answered"}`) == 1
	})
	if st := callState(t, e, id); st != "consult" {
		t.Fatalf("call state %q while consulting", st)
	}
	if got := toneShare(heardSince(t, peer, len(peer.Received())), 1000); got > 0.2 {
		t.Errorf("holding during the consult, the caller heard its own 1 kHz (share %.2f): not music", got)
	}
	if code := transferPost(t, e, id, "complete", ""); code != 200 {
		t.Fatalf("complete: %d", code)
	}
	if res := seat.Wait(); res.Successful != 1 {
		t.Errorf("the seat's leg was not hung up cleanly: %s", res)
	}
	waitUntil(t, "1001 off the call", 10*time.Second, func() bool { return agentOf(t, e, "1001").State != "on_call" })
	if got := toneShare(heardSince(t, peer, len(peer.Received())+4000), 1000); got < 0.5 {
		t.Errorf("handed over to the echoing department, the caller's 1 kHz share is %.2f", got)
	}
	if res := caller.Wait(); res.Successful != 1 {
		t.Fatalf("caller: %s\n%s", res, e.log.tail(30))
	}
	r := e.waitRecords(1, 10*time.Second)[0]
	if r.Agent != "1001" || r.EndReason != "answered" || len(r.Transfers) != 1 {
		t.Fatalf("record: agent %q end %q transfers %+v", r.Agent, r.EndReason, r.Transfers)
	}
	x := r.Transfers[0]
	if x.Name != "social-security" || x.Mode != "consult" || x.Result != "completed" || !x.Answered ||
		x.AnsweredAt == nil || x.LeftAt == nil || x.StartedAt == nil || !strings.HasPrefix(x.Target, "sip:12333@") {
		t.Errorf("transfer %+v", x)
	}
}

// TestTransferConsultCancelAndRefusals: a consult cancelled brings the
// caller back to the agent; a department that does not answer within its
// ring_timeout is recorded no_answer and the caller is back with the agent;
// a target outside the directory is refused (403), an op with no transfer
// is 409, a call that does not exist 404, three-way before the answer 409.
func TestTransferConsultCancelAndRefusals(t *testing.T) {
	t.Parallel()
	dept := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_noanswer.xml"), Calls: 2, Timeout: 2 * time.Minute,
	})
	e := transferCentre(t, dept.Addr, "3s")
	caller, peer, _, id := bridgedToSeat(t, e, 30*time.Second)
	for _, tc := range []struct {
		op, body string
		want     int
	}{
		{"", `{"target": "95598"}`, 403},
		{"", `{"target": "1001"}`, 403},
		{"", `{"mode": "consult"}`, 400},
		{"complete", "", 409},
		{"cancel", "", 409},
	} {
		if code := transferPost(t, e, id, tc.op, tc.body); code != tc.want {
			t.Errorf("op %q body %s: %d, want %d", tc.op, tc.body, code, tc.want)
		}
	}
	if code := transferPost(t, e, "no-such-call", "", `{"target": "12333"}`); code != 404 {
		t.Errorf("unknown call: %d, want 404", code)
	}
	for _, path := range []string{"/transfer", "/transfer/complete", "/monitor"} {
		if code := apiStatus(t, e, "POST", "/api/v1/calls/"+id+path, `{"target": "12333", "supervisor": "1001"}`, ""); code != 401 {
			t.Errorf("%s without the token: %d, want 401", path, code)
		}
	}
	if code := apiStatus(t, e, "POST", "/api/v1/calls/"+id+"/transfer", strings.Repeat("{", 1<<16), testToken); code != 400 {
		t.Errorf("a flood of braces: %d, want 400", code)
	}
	// Rings out: back with the agent.
	if code := transferPost(t, e, id, "", `{"target": "social-security", "mode": "consult"}`); code != 200 {
		t.Fatalf("transfer: %d", code)
	}
	if code := transferPost(t, e, id, "threeway", ""); code != 409 {
		t.Errorf("threeway while ringing: %d, want 409", code)
	}
	waitUntil(t, "no answer recorded", 20*time.Second, func() bool {
		return metricValue(t, e, `hotline_transfers_total{entry="social-security",result="no_answer"}`) == 1
	})
	// The agent is told with three 450 Hz beeps (the echoing agent sends
	// them back to the caller, in place of the caller's own 1 kHz).
	// (Each beep is a burst of its own: their phases do not line up over a
	// second, so each eighth of a second is measured alone.)
	if got := peakShare(heardSince(t, peer, len(peer.Received())), 450); got < 0.3 {
		t.Errorf("the agent was not told the transfer failed: 450 Hz share %.2f", got)
	}
	waitUntil(t, "back with the agent", 10*time.Second, func() bool { return callState(t, e, id) == "bridged" })
	if got := toneShare(heardSince(t, peer, len(peer.Received())+4000), 1000); got < 0.5 {
		t.Errorf("back with the echoing agent, the caller's 1 kHz share is %.2f", got)
	}
	// Cancelled while ringing: back with the agent.
	if code := transferPost(t, e, id, "", `{"target": "*51"}`); code != 200 {
		t.Fatalf("one-key transfer: %d", code)
	}
	if code := transferPost(t, e, id, "cancel", ""); code != 200 {
		t.Fatalf("cancel: %d", code)
	}
	if st := callState(t, e, id); st != "bridged" {
		t.Errorf("after cancel: %q", st)
	}
	if res := caller.Wait(); res.Successful != 1 {
		t.Fatalf("caller: %s\n%s", res, e.log.tail(30))
	}
	r := e.waitRecords(1, 10*time.Second)[0]
	results := []string{}
	for _, x := range r.Transfers {
		results = append(results, x.Result)
	}
	if r.Agent != "1001" || fmt.Sprint(results) != "[no_answer cancelled]" || r.Transfers[0].Fallback != "agent" {
		t.Errorf("record: agent %q transfers %+v", r.Agent, r.Transfers)
	}
}

// TestTransferBlind: a blind transfer frees the agent at once (the seat's
// leg hung up, wrap-up) while the caller holds; the department's answer
// bridges the caller to it; the department hanging up ends the call.
func TestTransferBlind(t *testing.T) {
	t.Parallel()
	dept := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_hangup.xml"), Calls: 1, RTPEcho: true,
		Vars: map[string]string{"hold_ms": "4000", "codec": "0"}, Timeout: 2 * time.Minute,
	})
	e := transferCentre(t, dept.Addr, "15s")
	caller, _, seat, id := bridgedToSeat(t, e, 40*time.Second)
	if code := transferPost(t, e, id, "", `{"target": "12333", "mode": "blind"}`); code != 200 {
		t.Fatalf("transfer: %d", code)
	}
	if res := seat.Wait(); res.Successful != 1 {
		t.Errorf("the agent's leg was not hung up at once: %s", res)
	}
	if code := transferPost(t, e, id, "cancel", ""); code != 409 {
		t.Errorf("cancel of a blind transfer: %d, want 409", code)
	}
	if res := caller.Wait(); res.Successful != 1 {
		t.Fatalf("caller: %s\n%s", res, e.log.tail(30))
	}
	r := e.waitRecords(1, 10*time.Second)[0]
	if r.Agent != "1001" || r.EndReason != "answered" || r.HangupBy != "department" || len(r.Transfers) != 1 {
		t.Fatalf("record: agent %q end %q hangup_by %q transfers %+v", r.Agent, r.EndReason, r.HangupBy, r.Transfers)
	}
	if x := r.Transfers[0]; x.Mode != "blind" || x.Result != "answered" || x.LeftAt == nil || !x.Answered {
		t.Errorf("transfer %+v", x)
	}
	if a := agentOf(t, e, "1001"); a.State == "on_call" {
		t.Errorf("seat 1001 still on the call")
	}
}

// TestTransferConference110: the agent brings in 110 (an emergency entry:
// conference by default). Caller (1 kHz), agent (600 Hz) and the police
// line (2 kHz) are each a Go RTP endpoint behind SIPp signalling. While 110
// rings the caller keeps talking to the agent (no music); once it answers,
// each party hears the other two and never itself. The agent leaves: the
// caller and 110 go on together, the seat's leg is hung up. One record:
// the transfer in conference mode, answered, left_at.
func TestTransferConference110(t *testing.T) {
	t.Parallel()
	const hold = 40 * time.Second
	police, policeSIP := rtpParty(t, 1)
	agent, seat := rtpParty(t, 1)
	e := startEngine(t, centreOpts{Seats: 1, RTPTimeout: "10s", Extra: fmt.Sprintf(`directory:
  - {name: police, number: "110", kind: emergency, target: "sip:110@%s"}
`, policeSIP.Addr)})
	caller, peer := toneCall(t, e, hold, agent, seat)
	var calls []struct{ ID string }
	apiGet(t, e, "calls", &calls)
	id := calls[0].ID
	if code := transferPost(t, e, id, "", `{"target": "110"}`); code != 200 {
		t.Fatalf("transfer to 110: %d", code)
	}
	waitUntil(t, "110 answered", 20*time.Second, func() bool { return callState(t, e, id) == "conference" })
	if err := police.WaitPackets(5, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	police.SendTone(netip.AddrPort{}, 0, 2000, hold)
	for _, p := range []struct {
		name      string
		peer      *testpeer.RTPPeer
		own       float64
		hear1, h2 float64
	}{
		{"caller", peer, 1000, 600, 2000},
		{"agent", agent, 600, 1000, 2000},
		{"110", police, 2000, 1000, 600},
	} {
		heard := heardSince(t, p.peer, len(p.peer.Received())+4000)
		if own, a, b := toneShare(heard, p.own), toneShare(heard, p.hear1), toneShare(heard, p.h2); own > 0.05 || a < 0.15 || b < 0.15 {
			t.Errorf("in the three-way call %s hears itself %.2f, %v Hz %.2f, %v Hz %.2f", p.name, own, p.hear1, a, p.h2, b)
		}
	}
	if code := transferPost(t, e, id, "leave", ""); code != 200 {
		t.Fatalf("leave: %d", code)
	}
	if res := seat.Wait(); res.Successful != 1 {
		t.Errorf("the agent's leg was not hung up cleanly: %s", res)
	}
	heard := heardSince(t, peer, len(peer.Received())+4000)
	if a, b := toneShare(heard, 600), toneShare(heard, 2000); a > 0.05 || b < 0.5 {
		t.Errorf("after the agent left the caller hears the agent %.2f, 110 %.2f", a, b)
	}
	if res := caller.Wait(); res.Successful != 1 {
		t.Fatalf("caller: %s\n%s", res, e.log.tail(30))
	}
	r := e.waitRecords(1, 10*time.Second)[0]
	if len(r.Transfers) != 1 || r.Transfers[0].Mode != "conference" || r.Transfers[0].Result != "answered" ||
		r.Transfers[0].Kind != "emergency" || r.Transfers[0].LeftAt == nil {
		t.Errorf("record transfers %+v", r.Transfers)
	}
}

// baresipBridged: a centre whose social-security entry is a SIPp echoing
// what it hears, a caller (1 kHz for 30 s) bridged to baresip seat 1001.
func baresipBridged(t *testing.T) (*engine, *testpeer.Seat, *testpeer.SippProc, *testpeer.RTPPeer) {
	t.Helper()
	dept := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_answer.xml"), Calls: 1, RTPEcho: true, Timeout: 2 * time.Minute,
	})
	e := transferCentre(t, dept.Addr, "15s")
	seat := e.seat(t, 1001, testpeer.SeatOptions{})
	caller, peer := e.caller(t, "12345", "0", 30*time.Second)
	peer.SendTone(netip.AddrPort{}, 0, 1000, 30*time.Second)
	waitUntil(t, "1001 on the call", 30*time.Second, func() bool { return agentOf(t, e, "1001").State == "on_call" })
	return e, seat, caller, peer
}

// TestSeatKeysConsult: a baresip seat keys *212333# (RFC 4733): the engine
// consults social-security; the department answers; *2 completes, the
// seat's call closes. No digit of the agent's reached the caller.
func TestSeatKeysConsult(t *testing.T) {
	t.Parallel()
	e, seat, caller, peer := baresipBridged(t)
	var calls []struct{ ID string }
	apiGet(t, e, "calls", &calls)
	id := calls[0].ID
	if err := seat.SendDTMF("*212333#"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the department answered", 20*time.Second, func() bool {
		return metricValue(t, e, `hotline_transfers_total{entry="social-security",result="answered"}`) == 1
	})
	if st := callState(t, e, id); st != "consult" {
		t.Fatalf("state %q after the keys", st)
	}
	if err := seat.SendDTMF("*2"); err != nil {
		t.Fatal(err)
	}
	if _, err := seat.WaitEvent("CALL_CLOSED", 10*time.Second); err != nil {
		t.Fatalf("the seat's call did not close on *2: %v", err)
	}
	if res := caller.Wait(); res.Successful != 1 {
		t.Fatalf("caller: %s\n%s", res, e.log.tail(30))
	}
	r := e.waitRecords(1, 10*time.Second)[0]
	if len(r.Transfers) != 1 || r.Transfers[0].Result != "completed" || r.Transfers[0].Mode != "consult" {
		t.Errorf("record transfers %+v", r.Transfers)
	}
	if d := peer.Digits(); d != "" {
		t.Errorf("the caller received the agent's digits %q", d)
	}
}

// TestReferBlindTransfer: baresip's /transfer sends REFER to 12333: it is
// taken (202, NOTIFYs), the agent's call closes and the caller is put
// through to the department (its echo of the caller's 1 kHz comes back).
// The record has the blind transfer.
func TestReferBlindTransfer(t *testing.T) {
	t.Parallel()
	e, seat, caller, peer := baresipBridged(t)
	if _, err := seat.Command("transfer", "12333"); err != nil {
		t.Fatal(err)
	}
	if _, err := seat.WaitEvent("CALL_CLOSED", 15*time.Second); err != nil {
		t.Fatalf("the agent's call did not close after the REFER: %v\n%s", err, seat.Log())
	}
	putThrough(t, e, peer)
	if res := caller.Wait(); res.Successful != 1 {
		t.Fatalf("caller: %s\n%s", res, e.log.tail(30))
	}
	r := e.waitRecords(1, 10*time.Second)[0]
	if len(r.Transfers) != 1 || r.Transfers[0].Mode != "blind" || r.Transfers[0].Result != "answered" || r.Agent != "1001" {
		t.Errorf("record: agent %q transfers %+v", r.Agent, r.Transfers)
	}
}

// TestReferRefused: a REFER from the agent's phone to a number outside the
// directory gets 403 (baresip says so, and then hangs up by itself, as it
// does on a failed transfer); nothing is dialled and the record has no
// transfer.
func TestReferRefused(t *testing.T) {
	t.Parallel()
	e := transferCentre(t, "127.0.0.1:9", "15s")
	seat := e.seat(t, 1001, testpeer.SeatOptions{})
	caller, _ := e.caller(t, "12345", "0", 15*time.Second)
	waitUntil(t, "1001 on the call", 30*time.Second, func() bool { return agentOf(t, e, "1001").State == "on_call" })
	if _, err := seat.Command("transfer", "95598"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "baresip told 403", 10*time.Second, func() bool { return strings.Contains(seat.Log(), "transfer failed: 403") })
	caller.Wait()
	if r := e.waitRecords(1, 10*time.Second)[0]; len(r.Transfers) != 0 || r.Agent != "1001" {
		t.Errorf("record: agent %q transfers %+v", r.Agent, r.Transfers)
	}
}

// TestSeatDialsDirectory: a seat dials a directory entry (12333: its own
// consult or conference button reaches the department this way) and talks
// to it; it dials 12345 and is answered like a citizen (an agent testing
// the line); a number outside the directory, the seats and the lines is
// refused (403). Each call has its record.
func TestSeatDialsDirectory(t *testing.T) {
	t.Parallel()
	dept := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_answer.xml"), Calls: 1, RTPEcho: true, Timeout: 2 * time.Minute,
	})
	e := transferCentre(t, dept.Addr, "15s")
	seat := e.phone(t, 1001, testpeer.SeatOptions{})
	call := func(number, want string) {
		t.Helper()
		if err := seat.Dial(fmt.Sprintf("sip:%s@%s", number, e.target())); err != nil {
			t.Fatal(err)
		}
		if want == "CALL_ESTABLISHED" {
			if _, err := seat.WaitEvent(want, 15*time.Second); err != nil {
				t.Fatalf("%s: %v\n%s", number, err, seat.Log())
			}
			if err := seat.Hangup(); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := seat.WaitEvent("CALL_CLOSED", 15*time.Second); err != nil {
			t.Fatalf("%s: %v", number, err)
		}
	}
	call("12333", "CALL_ESTABLISHED")
	recs := e.waitRecords(1, 10*time.Second)
	if r := recs[0]; r.LineMode != "internal" || len(r.Transfers) != 1 || !r.Transfers[0].Answered || r.EndReason != "answered" {
		t.Errorf("seat to 12333: %+v", r)
	}
	call("99999", "CALL_CLOSED")
	if r := e.waitRecords(2, 10*time.Second)[1]; r.EndReason != "forbidden" {
		t.Errorf("seat to 99999: end_reason %q, want forbidden", r.EndReason)
	}
	call("12345", "CALL_ESTABLISHED")
	if r := e.waitRecords(3, 10*time.Second)[2]; r.Dialled != "12345" || r.Caller != "1001" {
		t.Errorf("seat to 12345: dialled %q caller %q", r.Dialled, r.Caller)
	}
}

// TestReferReplaces: an agent's desk phone (SIPp, as a Yealink does it)
// answers a caller, dials 12333 itself and sends REFER with Replaces
// naming that second dialog: once the department answered (attended), and
// while it still rings (semi-attended, the department answers 3 s later).
// The caller ends up talking to the department (its 1 kHz comes back from
// the department's echo), nothing is dialled twice (the department's SIPp
// takes one call), the phone's two dialogs end (BYE, or 487 while early),
// and the records say so: the caller's with the transfer, the phone's own
// call ended "replaced".
func TestReferReplaces(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, early, ringMs, mode, result string
	}{
		{"confirmed", "", "0", "consult", "completed"},
		{"early", "1", "3000", "blind", "answered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dept := testpeer.StartSipp(t, testpeer.SippOptions{
				Scenario: testpeer.ScenarioPath(t, "uas_answer.xml"), Calls: 1, RTPEcho: true, Timeout: 2 * time.Minute,
				Vars: map[string]string{"ring_ms": tc.ringMs},
			})
			e := transferCentre(t, dept.Addr, "15s")
			port, row := registerFrom(t, e, "1001")
			phone := testpeer.StartSipp(t, testpeer.SippOptions{
				Scenario: testpeer.ScenarioPath(t, "uas_refer_replaces.xml"), Target: e.target(), LocalPort: port,
				Calls: 1, InfFile: testpeer.WriteInf(t, [][]string{row}), Vars: map[string]string{"early": tc.early},
				Extra: []string{"-auth_uri", "12333@" + e.target()}, TraceMessages: true, Timeout: time.Minute,
			})
			caller, peer := e.caller(t, "12345", "0", 25*time.Second)
			peer.SendTone(netip.AddrPort{}, 0, 1000, 25*time.Second)
			if res := phone.Wait(); res.Successful != 1 {
				t.Fatalf("the agent's phone: %s\n%s", res, e.log.tail(40))
			}
			putThrough(t, e, peer)
			if res := caller.Wait(); res.Successful != 1 {
				t.Fatalf("caller: %s\n%s", res, e.log.tail(30))
			}
			reasons := map[string]string{}
			for _, r := range e.waitRecords(2, 10*time.Second) {
				reasons[r.Dialled] = r.EndReason
				if r.Dialled != "12345" {
					continue
				}
				if len(r.Transfers) != 1 || r.Agent != "1001" {
					t.Fatalf("record: agent %q transfers %+v", r.Agent, r.Transfers)
				}
				if x := r.Transfers[0]; x.Name != "social-security" || x.Mode != tc.mode || x.Result != tc.result || !x.Answered || x.LeftAt == nil {
					t.Errorf("the transfer in the record: %+v", x)
				}
			}
			if reasons["12345"] != "answered" || reasons["12333"] != "replaced" {
				t.Errorf("records ended %v", reasons)
			}
			if res := dept.Wait(); res.Successful != 1 {
				t.Errorf("the department: %s", res)
			}
		})
	}
}
