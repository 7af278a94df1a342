package main

import (
	"net/http"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
	"github.com/hotline-cc/hotline/records"
)

// callbackCentre starts an engine with one seat (1001, baresip, then set
// not ready so callers wait) whose general queue offers callbacks (extra
// queue settings appended), the trunk calling back to phone.
func callbackCentre(t *testing.T, phone *testpeer.SippProc, queue string) (*engine, *testpeer.Seat) {
	t.Helper()
	e := startEngine(t, centreOpts{Seats: 1, RTPTimeout: "60s", Outbound: "sip:" + phone.Addr,
		Extra: "queues:\n  - name: general\n    callback: true\n" + queue})
	seat := e.seat(t, 1001, testpeer.SeatOptions{Record: true})
	agentStateIs(t, e, "1001", "ready")
	if code := agentState(t, e, "1001", `{"state":"not_ready","reason":"break"}`, "test-token-123"); code != http.StatusOK {
		t.Fatalf("not ready: HTTP %d", code)
	}
	return e, seat
}

// keptPlace waits for the caller's place to be kept and the caller hung up,
// and returns the asking call's record.
func keptPlace(t *testing.T, e *engine, caller *testpeer.SippProc) records.Record {
	t.Helper()
	if _, err := e.log.wait(`msg="queue callback: the caller's place is kept"`, 20*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, e.log.tail(30))
	}
	if res := caller.Wait(); res.ExitCode != 0 {
		t.Fatalf("caller: %s\n%s", res, e.log.tail(20))
	}
	recs := e.waitRecords(1, 10*time.Second)
	r := recs[0]
	if r.EndReason != "callback" || r.Queue != "general" || r.QueuedAt == nil || r.HangupBy != "system" || r.Agent != "" {
		t.Fatalf("asking call's record: %+v", r)
	}
	return r
}

// TestQueueCallback: a caller waiting in a queue that offers callbacks hears
// the offer, presses 1, hears the confirmation and is hung up (end_reason
// callback). When the seat is made ready the engine calls them back through
// the trunk's outbound address (a SIPp phone whose media is a Go RTP
// endpoint): they hear the callback greeting, the baresip seat rings and
// hears the whisper before the caller is connected, and the two talk. The
// callback's record names the call that asked; the seat is ready after.
func TestQueueCallback(t *testing.T) {
	phonePeer := testpeer.NewRTPPeer(t)
	phone := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_callee.xml"), Calls: 1,
		Vars:          map[string]string{"media_port": strconv.Itoa(phonePeer.Port()), "hold_ms": "9000"},
		TraceMessages: true, Timeout: 90 * time.Second,
	})
	e, seat := callbackCentre(t, phone, "")
	caller, peer := e.caller(t, "12345", "0", 60*time.Second)
	if _, err := e.log.wait(`msg="ivr done" .*outcome=queue`, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	// The offer plays once as the caller joins the queue (no announcements
	// here); the key is pressed once that much audio has arrived.
	offer := loadPCM(t, "callback-offer.wav")
	if err := peer.WaitPackets(len(peer.Packets())+len(offer)/160, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	peer.SendDTMF(netip.AddrPort{}, 101, '1')
	asked := keptPlace(t, e, caller)
	for _, p := range []string{"callback-offer.wav", "callback-confirm.wav"} {
		if c := testpeer.BestCorrelation(peer.Received(), loadPCM(t, p)); c < 0.8 {
			t.Errorf("the caller did not hear %s: correlation %.2f", p, c)
		}
	}
	if code := agentState(t, e, "1001", `{"state":"ready"}`, "test-token-123"); code != http.StatusOK {
		t.Fatalf("ready: HTTP %d", code)
	}
	if _, err := seat.WaitEvent("CALL_ESTABLISHED", 30*time.Second); err != nil {
		t.Fatalf("the seat never took the callback: %v\n%s", err, e.log.tail(30))
	}
	if _, err := e.log.wait(`msg="callback bridged"`, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if res := phone.Wait(); res.ExitCode != 0 {
		t.Fatalf("phone: %s\n%s", res, e.log.tail(20))
	}
	recs := e.waitRecords(2, 10*time.Second)
	var cb records.Record
	for _, r := range recs {
		if r.CallID != asked.CallID {
			cb = r
		}
	}
	if cb.LineMode != "callback" || cb.CallbackOf != asked.CallID || cb.EndReason != "answered" || cb.Agent != "1001" ||
		cb.HangupBy != "caller" || cb.Caller != asked.Caller || cb.Queue != "general" || cb.AnsweredAt == nil || cb.TalkMs <= 0 {
		t.Fatalf("callback record: %+v", cb)
	}
	if c := testpeer.BestCorrelation(phonePeer.Received(), loadPCM(t, "callback-hello.wav")); c < 0.8 {
		t.Errorf("the caller did not hear the callback greeting: correlation %.2f over %d packets", c, len(phonePeer.Packets()))
	}
	if _, err := seat.WaitEvent("CALL_CLOSED", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	rec, rate, err := testpeer.ReadWAV(seat.Recording())
	if err != nil || rate != 8000 {
		t.Fatalf("seat recording: rate %d, %v", rate, err)
	}
	if c := testpeer.BestCorrelation(rec, loadPCM(t, "callback-whisper.wav")); c < 0.6 {
		t.Errorf("the seat did not hear the whisper: correlation %.2f", c)
	}
	agentStateIs(t, e, "1001", "ready")
}

// TestCallbackOverflowNotReached: a queue whose max_wait overflows to
// callback keeps the caller's place by itself. The called-back phone is
// busy twice: the first attempt ends callback_no_answer and the place is
// kept; a second later the caller is called again, busy again, and that
// last attempt (callback_attempts: 2) ends callback_failed. Each frees the
// seat, which is not counted a miss (it never rang).
func TestCallbackOverflowNotReached(t *testing.T) {
	phone := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_busy.xml"), Calls: 2, Timeout: 90 * time.Second,
	})
	e, _ := callbackCentre(t, phone, "    max_wait: 2s\n    on_max_wait: callback\n"+
		"    callback_attempts: 2\n    callback_retry_after: 1s\n")
	caller, peer := e.caller(t, "12345", "0", 60*time.Second)
	asked := keptPlace(t, e, caller)
	if c := testpeer.BestCorrelation(peer.Received(), loadPCM(t, "callback-confirm.wav")); c < 0.8 {
		t.Errorf("the caller did not hear the confirmation: correlation %.2f", c)
	}
	if code := agentState(t, e, "1001", `{"state":"ready"}`, "test-token-123"); code != http.StatusOK {
		t.Fatalf("ready: HTTP %d", code)
	}
	if res := phone.Wait(); res.ExitCode != 0 {
		t.Fatalf("phone: %s\n%s", res, e.log.tail(20))
	}
	recs := e.waitRecords(3, 15*time.Second)
	var attempts []records.Record
	for _, r := range recs {
		if r.CallID != asked.CallID {
			attempts = append(attempts, r)
		}
	}
	if len(attempts) != 2 {
		t.Fatalf("%d callback records, want 2: %+v", len(attempts), recs)
	}
	for i, want := range []string{"callback_no_answer", "callback_failed"} {
		cb := attempts[i]
		if cb.CallbackOf != asked.CallID || cb.EndReason != want || cb.Agent != "" || cb.AnsweredAt != nil || cb.LineMode != "callback" {
			t.Fatalf("callback attempt %d: %+v", i+1, cb)
		}
	}
	if gap := time.Time(attempts[1].StartedAt).Sub(time.Time(attempts[0].EndedAt)); gap < time.Second {
		t.Errorf("second attempt %v after the first ended, want at least callback_retry_after (1s)", gap)
	}
	agentStateIs(t, e, "1001", "ready")
}
