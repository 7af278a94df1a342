package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// TestForkedAnswer: a seat behind a forking proxy (SIPp) answers the
// engine's INVITE twice, with two To tags. The engine keeps the first
// dialog, ACKs both, and ends the second with a BYE to its Contact; the
// call talks on over the first until the seat hangs up.
func TestForkedAnswer(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1, RTPTimeout: "0s"})
	seat := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_fork.xml"), Calls: 1, RTPEcho: true,
		Vars: map[string]string{"hold_ms": "1000"}, TraceMessages: true, Timeout: 40 * time.Second,
	})
	registerSeatWith(t, e, 1001, 0, seat.Addr, "", 1)
	peer := testpeer.NewRTPPeer(t)
	caller := testpeer.StartSipp(t, testpeer.SippOptions{
		LocalIP:  carrierIP,
		Scenario: testpeer.ScenarioPath(t, "uac_call.xml"), Target: e.target(), Service: "12345",
		Calls: 1, Timeout: 30 * time.Second,
		Vars: map[string]string{"media_port": strconv.Itoa(peer.Port()), "codecs": "8"},
	})
	sr := seat.Wait()
	if sr.Successful != 1 {
		t.Fatalf("forking seat: %s\n%s\n%s", sr, sr.Messages, e.log.tail(80))
	}
	if res := caller.Wait(); res.ExitCode != 0 || res.Successful != 1 {
		t.Fatalf("caller: %s\n%s", res, e.log.tail(30))
	}
	if !strings.Contains(sr.Messages, "BYE sip:fork@") {
		t.Errorf("the fork's BYE did not go to its Contact\n%s", sr.Messages)
	}
	if r := e.waitRecords(1, 10*time.Second)[0]; r.EndReason != "answered" || r.Agent != "1001" || r.HangupBy != "agent" {
		t.Fatalf("record: end_reason %q agent %q hangup_by %q", r.EndReason, r.Agent, r.HangupBy)
	}
}

// TestAckLost: a caller takes the engine's 200 but its ACK never comes.
// After 64*T1 (32 s) the engine ends the dialog with BYE and the call has
// its record (ack_timeout); nothing hangs.
func TestAckLost(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1, RTPTimeout: "0s"})
	peer := testpeer.NewRTPPeer(t)
	res := testpeer.RunSipp(t, testpeer.SippOptions{
		LocalIP:  carrierIP,
		Scenario: testpeer.ScenarioPath(t, "uac_no_ack.xml"), Target: e.target(), Service: "12345",
		Calls: 1, Timeout: 70 * time.Second,
		Vars: map[string]string{"media_port": strconv.Itoa(peer.Port())},
	})
	if res.ExitCode != 0 || res.Successful != 1 {
		t.Fatalf("caller: %s\n%s", res, e.log.tail(30))
	}
	r := e.waitRecords(1, 10*time.Second)[0]
	if r.EndReason != "ack_timeout" || r.HangupBy != "system" {
		t.Fatalf("record: end_reason %q hangup_by %q", r.EndReason, r.HangupBy)
	}
	if d := r.EndedAt.Std().Sub(r.StartedAt.Std()); d < 30*time.Second || d > 45*time.Second {
		t.Errorf("ended %v after it started, want 64*T1 = 32 s", d)
	}
}

// TestAnswerCrossesCancel: a seat rings out (sip.seat_ring_timeout 2 s) and
// picks up just as the engine's CANCEL goes out: its 200 to the INVITE
// crosses the CANCEL. The engine ACKs that 200 and hangs the dialog up with
// BYE; the seat counts a miss and the caller stays in the queue.
func TestAnswerCrossesCancel(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1, RingTimeout: "2s", RTPTimeout: "0s", Extra: "acd:\n  max_misses: 1\n"})
	seat := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_answer_on_cancel.xml"), Calls: 1,
		TraceMessages: true, Timeout: 40 * time.Second,
	})
	registerSeatWith(t, e, 1001, 0, seat.Addr, "", 1)
	peer := testpeer.NewRTPPeer(t)
	caller := testpeer.StartSipp(t, testpeer.SippOptions{
		LocalIP:  carrierIP,
		Scenario: testpeer.ScenarioPath(t, "uac_call.xml"), Target: e.target(), Service: "12345",
		Calls: 1, Timeout: 40 * time.Second,
		Vars: map[string]string{"media_port": strconv.Itoa(peer.Port()), "codecs": "8", "hold_ms": "15000"},
	})
	if sr := seat.Wait(); sr.Successful != 1 {
		t.Fatalf("the seat's late 200 was not ACKed and hung up: %s\n%s\n%s", sr, sr.Messages, e.log.tail(40))
	}
	if res := caller.Wait(); res.ExitCode != 0 || res.Successful != 1 {
		t.Fatalf("caller: %s\n%s", res, e.log.tail(30))
	}
	r := e.waitRecords(1, 10*time.Second)[0]
	if r.Agent != "" || len(r.SeatsMissed) != 1 {
		t.Fatalf("record: agent %q seats_missed %v end_reason %q", r.Agent, r.SeatsMissed, r.EndReason)
	}
}
