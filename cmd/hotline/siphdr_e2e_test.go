package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// TestRequire420: an INVITE (and an OPTIONS) whose Require names an
// extension the engine lacks is answered 420 Bad Extension, with exactly the
// unsupported tags in Unsupported (RFC 3261 8.2.2.3); timer, which the
// engine implements, is not named.
func TestRequire420(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1})
	for _, tc := range []struct{ name, require, unsupported string }{
		{"100rel", "100rel", "100rel"},
		{"timer and an unknown tag", "timer, x-foo", "x-foo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := testpeer.RunSipp(t, testpeer.SippOptions{
				LocalIP:  carrierIP,
				Scenario: testpeer.ScenarioPath(t, "uac_require.xml"), Target: e.target(),
				Service: "12345", Calls: 1, TraceMessages: true, Timeout: 15 * time.Second,
				Vars: map[string]string{"require": tc.require},
			})
			if res.ExitCode != 0 || res.Successful != 1 {
				t.Fatalf("want two 420s\n%s", res)
			}
			if n := strings.Count(res.Messages, "Unsupported: "+tc.unsupported+"\r\n"); n != 2 {
				t.Fatalf("want 2 answers with Unsupported: %s, have %d\n%s", tc.unsupported, n, res)
			}
		})
	}
	if rs := e.records(); len(rs) != 0 {
		t.Fatalf("a refused INVITE made %d call records", len(rs))
	}
}

// TestUpdateInDialog: UPDATE (RFC 3311) outside a dialog gets 481; within
// the caller's dialog, one without a body gets 200, and one with SDP is an
// offer answered in its 200 like a re-INVITE's (hold, then resume). The
// caller then hangs up and the call ends normally.
func TestUpdateInDialog(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1, RTPTimeout: "0s"})
	peer := testpeer.NewRTPPeer(t)
	res := testpeer.RunSipp(t, testpeer.SippOptions{
		LocalIP:  carrierIP,
		Scenario: testpeer.ScenarioPath(t, "uac_update.xml"), Target: e.target(),
		Service: "12345", Calls: 1, TraceMessages: true, Timeout: 20 * time.Second,
		Vars: map[string]string{"media_port": strconv.Itoa(peer.Port()), "talk_ms": "300"},
	})
	if res.ExitCode != 0 || res.Successful != 1 {
		t.Fatalf("UPDATE flow failed\n%s", res)
	}
	rs := e.waitRecords(1, 10*time.Second)
	if r := rs[0]; r.EndReason != "abandoned" && r.EndReason != "answered" || r.HangupBy != "caller" {
		t.Fatalf("record: end_reason %q hangup_by %q", r.EndReason, r.HangupBy)
	}
}

// TestSessionTimer: session timers (RFC 4028) on the caller's leg, with
// sip.min_session_expires at 2 s. Asking for 1 s gets 422 with Min-SE: 2. A
// caller that asks for 4 s and never refreshes is sent BYE once the
// interval less a third has passed (RFC 4028 10), and the record says
// session_expired. A caller that asks for 6 s and refreshes by UPDATE every
// 2 s stays up past the interval until it hangs up itself.
func TestSessionTimer(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1, RTPTimeout: "0s", SIPExtra: "  min_session_expires: 2s\n"})
	run := func(t *testing.T, se, refreshes int) testpeer.SippResult {
		t.Helper()
		peer := testpeer.NewRTPPeer(t)
		return testpeer.RunSipp(t, testpeer.SippOptions{
			LocalIP:  carrierIP,
			Scenario: testpeer.ScenarioPath(t, "uac_timer.xml"), Target: e.target(),
			Service: "12345", Calls: 1, TraceMessages: true, Timeout: 30 * time.Second,
			Vars: map[string]string{
				"media_port": strconv.Itoa(peer.Port()), "se": strconv.Itoa(se),
				"refreshes": strconv.Itoa(refreshes), "refresh_ms": "2000",
			},
		})
	}
	t.Run("below the minimum", func(t *testing.T) {
		res := run(t, 1, 0)
		if codes := res.FinalCodes(); len(codes) != 1 || codes[0] != 422 || !strings.Contains(res.Messages, "Min-SE: 2\r\n") {
			t.Fatalf("want 422 with Min-SE: 2, got %v\n%s", codes, res)
		}
	})
	t.Run("never refreshed", func(t *testing.T) {
		res := run(t, 4, 0)
		if res.ExitCode != 0 || res.Successful != 1 {
			t.Fatalf("the engine's BYE did not come\n%s", res)
		}
		r := e.waitRecords(1, 10*time.Second)[0]
		if r.EndReason != "session_expired" || r.HangupBy != "system" {
			t.Fatalf("record: end_reason %q hangup_by %q", r.EndReason, r.HangupBy)
		}
		// 4 s less min(32 s, 4/3 s) after the answer, never before.
		if d := r.EndedAt.Std().Sub(r.StartedAt.Std()); d < 2600*time.Millisecond || d > 8*time.Second {
			t.Fatalf("ended %v after it started, want about 2.7 s", d)
		}
	})
	t.Run("refreshed by UPDATE", func(t *testing.T) {
		res := run(t, 6, 4)
		if res.ExitCode != 0 || res.Successful != 1 {
			t.Fatalf("refreshed call failed\n%s\n%s", res, e.log.tail(20))
		}
		if n := strings.Count(res.Messages, "Session-Expires: 6;refresher=uac"); n < 5 {
			t.Fatalf("want Session-Expires in the 200 and each refresh's 200, have %d\n%s", n, res)
		}
		rs := e.waitRecords(2, 10*time.Second)
		r := rs[len(rs)-1]
		if r.EndReason == "session_expired" || r.HangupBy != "caller" {
			t.Fatalf("record: end_reason %q hangup_by %q", r.EndReason, r.HangupBy)
		}
		if d := r.EndedAt.Std().Sub(r.StartedAt.Std()); d < 8*time.Second {
			t.Fatalf("ended %v after it started, want past 8 s (four refreshes)", d)
		}
	})
}

// TestSessionTimerEngineRefreshes: a caller asking the engine to refresh
// (refresher=uas, UPDATE allowed) is answered refresher=uas and sent an
// UPDATE every half interval (4 s: every 2 s); three answered, it hangs
// up past the interval. A caller that answers the first refresh 481 is
// hung up at once, end_reason session_expired.
func TestSessionTimerEngineRefreshes(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1, RTPTimeout: "0s", SIPExtra: "  min_session_expires: 2s\n"})
	run := func(t *testing.T, refreshes, refuse int) testpeer.SippResult {
		t.Helper()
		peer := testpeer.NewRTPPeer(t)
		return testpeer.RunSipp(t, testpeer.SippOptions{
			LocalIP:  carrierIP,
			Scenario: testpeer.ScenarioPath(t, "uac_timer_uas.xml"), Target: e.target(),
			Service: "12345", Calls: 1, TraceMessages: true, Timeout: 30 * time.Second,
			Vars: map[string]string{
				"media_port": strconv.Itoa(peer.Port()), "se": "4",
				"refreshes": strconv.Itoa(refreshes), "refuse": strconv.Itoa(refuse),
			},
		})
	}
	t.Run("refreshed", func(t *testing.T) {
		res := run(t, 3, 0)
		if res.ExitCode != 0 || res.Successful != 1 {
			t.Fatalf("refreshed call failed\n%s\n%s", res, e.log.tail(20))
		}
		if n := strings.Count(res.Messages, "UPDATE sip:"); n != 3 {
			t.Errorf("want 3 UPDATEs from the engine, have %d", n)
		}
		r := e.waitRecords(1, 10*time.Second)[0]
		if r.EndReason == "session_expired" || r.HangupBy != "caller" {
			t.Fatalf("record: end_reason %q hangup_by %q", r.EndReason, r.HangupBy)
		}
		if d := r.EndedAt.Std().Sub(r.StartedAt.Std()); d < 5500*time.Millisecond {
			t.Fatalf("ended %v after it started, want past 6 s (three refreshes 2 s apart)", d)
		}
	})
	t.Run("refresh refused", func(t *testing.T) {
		res := run(t, 0, 1)
		if res.ExitCode != 0 || res.Successful != 1 {
			t.Fatalf("the engine's BYE did not follow the 481\n%s\n%s", res, e.log.tail(20))
		}
		rs := e.waitRecords(2, 10*time.Second)
		if r := rs[len(rs)-1]; r.EndReason != "session_expired" || r.HangupBy != "system" {
			t.Fatalf("record: end_reason %q hangup_by %q", r.EndReason, r.HangupBy)
		}
	})
}

// TestSeatSessionTimer: with sip.seat_session_expires at 4 s, the engine's
// INVITE to a seat asks for a session timer it refreshes; a seat that
// agrees (its 200 carries Session-Expires;refresher=uac) is sent an UPDATE
// every 2 s: three answered, it hangs up itself. A seat that answers the
// first refresh 481 is hung up, the call ends session_expired.
func TestSeatSessionTimer(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1, RTPTimeout: "0s",
		SIPExtra: "  min_session_expires: 2s\n  seat_session_expires: 4s\n"})
	call := func(t *testing.T, refreshes, refuse, n int) (testpeer.SippResult, testpeer.SippResult) {
		t.Helper()
		seat := testpeer.StartSipp(t, testpeer.SippOptions{
			Scenario: testpeer.ScenarioPath(t, "uas_timer.xml"), Calls: 1, RTPEcho: true, TraceMessages: true,
			Vars:    map[string]string{"se": "4", "refreshes": strconv.Itoa(refreshes), "refuse": strconv.Itoa(refuse)},
			Timeout: 40 * time.Second,
		})
		registerSeatWith(t, e, 1001, 0, seat.Addr, "", n)
		peer := testpeer.NewRTPPeer(t)
		caller := testpeer.StartSipp(t, testpeer.SippOptions{
			LocalIP:  carrierIP,
			Scenario: testpeer.ScenarioPath(t, "uac_call.xml"), Target: e.target(), Service: "12345",
			Calls: 1, Timeout: 40 * time.Second,
			Vars: map[string]string{"media_port": strconv.Itoa(peer.Port()), "codecs": "8"},
		})
		return seat.Wait(), caller.Wait()
	}
	t.Run("refreshed", func(t *testing.T) {
		sr, cr := call(t, 3, 0, 1)
		if sr.Successful != 1 || cr.Successful != 1 {
			t.Fatalf("seat: %s\ncaller: %s\n%s", sr, cr, e.log.tail(30))
		}
		if n := strings.Count(sr.Messages, "UPDATE sip:"); n != 3 {
			t.Errorf("want 3 UPDATEs to the seat, have %d", n)
		}
		r := e.waitRecords(1, 10*time.Second)[0]
		if r.EndReason != "answered" || r.HangupBy != "agent" {
			t.Fatalf("record: end_reason %q hangup_by %q", r.EndReason, r.HangupBy)
		}
		if d := r.EndedAt.Std().Sub(r.AnsweredAt.Std()); d < 5500*time.Millisecond {
			t.Fatalf("talked %v, want past 6 s (three refreshes 2 s apart)", d)
		}
	})
	t.Run("refresh refused", func(t *testing.T) {
		sr, cr := call(t, 0, 1, 2)
		if sr.Successful != 1 || cr.Successful != 1 {
			t.Fatalf("seat: %s\ncaller: %s\n%s", sr, cr, e.log.tail(30))
		}
		rs := e.waitRecords(2, 10*time.Second)
		if r := rs[len(rs)-1]; r.EndReason != "session_expired" || r.HangupBy != "system" {
			t.Fatalf("record: end_reason %q hangup_by %q", r.EndReason, r.HangupBy)
		}
	})
}
