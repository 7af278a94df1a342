package main

import (
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
	"github.com/hotline-cc/hotline/records"
	"github.com/hotline-cc/hotline/store/redistest"
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
	var r records.Record
	// The asking call's record; a short callback_expiry may write the
	// place's own record first.
	for n := 1; r.CallID == ""; n++ {
		for _, rec := range e.waitRecords(n, 10*time.Second) {
			if rec.LineMode != "callback" {
				r = rec
			}
		}
	}
	if r.EndReason != "callback" || r.Queue != "general" || r.QueuedAt == nil || r.HangupBy != "system" || r.Agent != "" {
		t.Fatalf("asking call's record: %+v", r)
	}
	return r
}

// placeRecord waits for the record of the kept place of the asking call
// asked (its callback, or its expiry): the other of the first two.
func placeRecord(e *engine, asked records.Record) records.Record {
	e.t.Helper()
	var cb records.Record
	for _, r := range e.waitRecords(2, 15*time.Second) {
		if r.CallID != asked.CallID {
			cb = r
		}
	}
	return cb
}

// TestQueueCallback: a caller waiting in a queue that offers callbacks hears
// the offer, presses 1, hears the confirmation and is hung up (end_reason
// callback). When the seat is made ready the engine calls them back through
// the trunk's outbound address (a SIPp phone whose media is a Go RTP
// endpoint): they hear the callback greeting, the baresip seat rings and
// hears the whisper before the caller is connected, and the two talk. The
// callback's record names the call that asked; the seat is ready after.
// The queue records: the callback's conversation is recorded.
func TestQueueCallback(t *testing.T) {
	t.Parallel()
	phonePeer := testpeer.NewRTPPeer(t)
	phone := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_callee.xml"), Calls: 1,
		Vars:          map[string]string{"media_port": strconv.Itoa(phonePeer.Port()), "hold_ms": "9000"},
		TraceMessages: true, Timeout: 90 * time.Second,
	})
	e, seat := callbackCentre(t, phone, "    record: true\n")
	caller, peer := e.caller(t, "12345", "0", 60*time.Second)
	waitEvents(t, e, "call.ivr", 1, 15*time.Second)
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
	cb := placeRecord(e, asked)
	if cb.LineMode != "callback" || cb.CallbackOf != asked.CallID || cb.EndReason != "answered" || cb.Agent != "1001" ||
		cb.HangupBy != "caller" || cb.Caller != asked.Caller || cb.Queue != "general" || cb.AnsweredAt == nil || cb.TalkMs <= 0 {
		t.Fatalf("callback record: %+v", cb)
	}
	if cb.Recording == "" || cb.RecordingStatus != "complete" || cb.RecordingMs <= 0 || asked.Recording != "" {
		t.Errorf("recordings: the callback's %q (%s, %d ms), the asking call's %q; want the callback's only",
			cb.Recording, cb.RecordingStatus, cb.RecordingMs, asked.Recording)
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
	t.Parallel()
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

// pressAfterOffer waits until n callers have finished the IVR into a queue
// and the newest has received as much audio as the callback offer lasts,
// then presses 1 on peer (RFC 4733).
func pressAfterOffer(t *testing.T, e *engine, peer *testpeer.RTPPeer, n int) {
	t.Helper()
	waitEvents(t, e, "call.ivr", n, 20*time.Second)
	offer := loadPCM(t, "callback-offer.wav")
	if err := peer.WaitPackets(len(peer.Packets())+len(offer)/160, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	peer.SendDTMF(netip.AddrPort{}, 101, '1')
}

// TestCallbackOnlyToCallbackNumbers: callers from an international number
// (00881…, a satellite phone) and from "anonymous" wait in a queue that
// offers callbacks and keeps places past max_wait: neither hears the
// offer, the key does nothing (it is in the record), max_wait does not
// keep their place, and nobody is dialled back: both end abandoned when
// they hang up.
func TestCallbackOnlyToCallbackNumbers(t *testing.T) {
	t.Parallel()
	phone := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_callee.xml"), Calls: 1, Timeout: 60 * time.Second,
	})
	e, _ := callbackCentre(t, phone, "    max_wait: 2s\n    on_max_wait: callback\n")
	from := []string{"00881234", "anonymous"}
	callers := make([]*testpeer.SippProc, len(from))
	peers := make([]*testpeer.RTPPeer, len(from))
	for i, number := range from {
		callers[i], peers[i] = e.callerFrom(t, "", number, "12345", "0", 14*time.Second)
		pressAfterOffer(t, e, peers[i], i+1)
	}
	for i, c := range callers {
		if res := c.Wait(); res.ExitCode != 0 {
			t.Fatalf("caller: %s\n%s", res, e.log.tail(20))
		}
		if c := testpeer.BestCorrelation(peers[i].Received(), loadPCM(t, "callback-offer.wav")); c > 0.5 {
			t.Errorf("%s heard the callback offer: correlation %.2f", from[i], c)
		}
	}
	recs := e.waitRecords(2, 10*time.Second)
	for _, r := range recs {
		if r.EndReason != "abandoned" || r.HangupBy != "caller" || r.Queue != "general" || !slices.Contains(r.DTMF, "1") {
			t.Errorf("record of %s: %+v", r.Caller, r)
		}
	}
	if n := len(e.records()); n != 2 {
		t.Errorf("%d records, want the 2 callers' only: %+v", n, e.records())
	}
	if strings.Contains(e.log.text(), "place is kept") || strings.Contains(e.log.text(), "calling the caller back") {
		t.Errorf("a callback was kept or dialled:\n%s", e.log.tail(40))
	}
}

// TestCallbackOnePerNumber: a number keeps one place per queue. The same
// number asks twice: the second call hears the confirmation (the earlier
// place stands) and ends callback_duplicate; the queue holds one place for
// it. Kept places count in max_length: with the kept place and one caller
// waiting, the queue (max_length 2) is full and the next caller is refused
// (overflow).
func TestCallbackOnePerNumber(t *testing.T) {
	t.Parallel()
	phone := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_callee.xml"), Calls: 1, Timeout: 90 * time.Second,
	})
	e, _ := callbackCentre(t, phone, "    max_length: 2\n")
	first, peer := e.callerFrom(t, "", "13800138000", "12345", "0", 60*time.Second)
	pressAfterOffer(t, e, peer, 1)
	asked := keptPlace(t, e, first)
	second, peer := e.callerFrom(t, "", "13800138000", "12345", "0", 60*time.Second)
	pressAfterOffer(t, e, peer, 2)
	if res := second.Wait(); res.ExitCode != 0 {
		t.Fatalf("second caller: %s\n%s", res, e.log.tail(20))
	}
	if c := testpeer.BestCorrelation(peer.Received(), loadPCM(t, "callback-confirm.wav")); c < 0.8 {
		t.Errorf("the second caller did not hear the confirmation: correlation %.2f", c)
	}
	dup := e.waitRecords(2, 10*time.Second)[1]
	if dup.EndReason != "callback_duplicate" || dup.Caller != asked.Caller || dup.CallID == asked.CallID || dup.Queue != "general" {
		t.Fatalf("second ask's record: %+v", dup)
	}
	e.callerFrom(t, "", "13800138001", "12345", "0", 40*time.Second) // waits; hangs up as the test ends
	waitEvents(t, e, "call.ivr", 3, 20*time.Second)
	type queued struct {
		Name  string `json:"name"`
		Calls []struct {
			Caller   string `json:"caller"`
			Callback bool   `json:"callback"`
		} `json:"calls"`
	}
	var general queued
	// The IVR's end is logged as the call goes to the ACD: the snapshot
	// may not have it yet.
	waitUntil(t, "two in the general queue", 10*time.Second, func() bool {
		var qs []queued
		apiGet(t, e, "queues", &qs)
		for _, q := range qs {
			if q.Name == "general" {
				general = q
			}
		}
		return len(general.Calls) == 2
	})
	if q := general; !q.Calls[0].Callback || q.Calls[0].Caller != "13800138000" || q.Calls[1].Callback {
		t.Fatalf("general queue: %+v", q)
	}
	refused, _ := e.callerFrom(t, "", "13800138002", "12345", "0", 40*time.Second)
	if res := refused.Wait(); res.ExitCode != 0 {
		t.Fatalf("refused caller: %s\n%s", res, e.log.tail(20))
	}
	over := e.waitRecords(3, 10*time.Second)[2]
	if over.EndReason != "overflow" || over.Caller != "13800138002" {
		t.Fatalf("caller at a full queue: %+v", over)
	}
}

// TestCallbackExpires: a kept place not called back within the queue's
// callback_expiry is given up with a record of its own: line_mode
// callback, callback_of the asking call, end_reason callback_expired; the
// queue no longer holds it.
func TestCallbackExpires(t *testing.T) {
	t.Parallel()
	phone := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_callee.xml"), Calls: 1, Timeout: 60 * time.Second,
	})
	e, _ := callbackCentre(t, phone, "    callback_expiry: 2s\n")
	caller, peer := e.caller(t, "12345", "0", 60*time.Second)
	pressAfterOffer(t, e, peer, 1)
	asked := keptPlace(t, e, caller)
	r := placeRecord(e, asked)
	if r.LineMode != "callback" || r.CallbackOf != asked.CallID || r.EndReason != "callback_expired" || r.Caller != asked.Caller ||
		r.Queue != "general" || r.AnsweredAt != nil {
		t.Fatalf("expired place's record: %+v", r)
	}
	if n := queueWaiting(t, e); n != 0 {
		t.Fatalf("%d waiting after the place expired", n)
	}
}

// TestCallbackSurvivesKill: a kept place outlives a kill -9 of the engine,
// in Redis with the Redis store and in DATA/callbacks.json (0600) with the
// memory store, and a SIGTERM too (no record: the place is not given up):
// restarted on the same config, the engine puts the place back, and once a
// seat registers and is ready it calls the caller back and puts them
// through to the seat.
func TestCallbackSurvivesKill(t *testing.T) {
	t.Parallel()
	kill := func(e *engine) { e.kill() }
	term := func(e *engine) {
		e.signal(syscall.SIGTERM)
		if code := e.waitExit(30 * time.Second); code != 0 {
			e.t.Fatalf("exit %d after SIGTERM", code)
		}
		if _, err := e.log.wait(`msg="queue callback kept for the next start"`, time.Second); err != nil {
			e.t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		stop func(*engine)
	}{{"redis", kill}, {"memory", kill}, {"memory SIGTERM", term}} {
		t.Run(tc.name, func(t *testing.T) {
			store := ""
			if tc.name == "redis" {
				store = fmt.Sprintf("store:\n  kind: redis\n  redis: {address: %q}\n  node: cb-node\n", redistest.Start(t).Addr)
			}
			callbackAfterStop(t, store, tc.stop)
		})
	}
}

// callbackAfterStop is TestCallbackSurvivesKill on one store section, the
// engine stopped by stop.
func callbackAfterStop(t *testing.T, store string, stop func(*engine)) {
	phonePeer := testpeer.NewRTPPeer(t)
	phone := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_callee.xml"), Calls: 1,
		Vars:    map[string]string{"media_port": strconv.Itoa(phonePeer.Port()), "hold_ms": "6000"},
		Timeout: 120 * time.Second,
	})
	e := startEngine(t, centreOpts{Seats: 1, RTPTimeout: "60s", Outbound: "sip:" + phone.Addr,
		Extra: "queues:\n  - name: general\n    callback: true\n" + store})
	caller, peer := e.caller(t, "12345", "0", 60*time.Second)
	pressAfterOffer(t, e, peer, 1)
	asked := keptPlace(t, e, caller)
	if store == "" {
		fi, err := os.Stat(filepath.Join(e.dir, "data", "callbacks.json"))
		if err != nil || fi.Mode() != 0o600 {
			t.Fatalf("the kept places' file: %v", err)
		}
	}

	stop(e)
	e2 := launch(t, e.dir, e.cfg, "debug")
	if _, err := e2.log.wait(`msg="queue callback places restored" restored=1 stored=1`, 15*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, e2.log.tail(30))
	}
	// The callback may reach the seat as soon as it registers, before the
	// test's control connection to baresip exists (PEERS.md): the engine
	// says when it is bridged, the record who answered.
	e2.seat(t, 1001, testpeer.SeatOptions{})
	if _, err := e2.log.wait(`msg="callback bridged"`, 30*time.Second); err != nil {
		t.Fatalf("the seat never took the callback: %v\n%s", err, e2.log.tail(30))
	}
	if res := phone.Wait(); res.ExitCode != 0 {
		t.Fatalf("phone: %s\n%s", res, e2.log.tail(20))
	}
	cb := placeRecord(e2, asked)
	if cb.LineMode != "callback" || cb.CallbackOf != asked.CallID || cb.EndReason != "answered" || cb.Agent != "1001" ||
		cb.Caller != asked.Caller || cb.Queue != "general" {
		t.Fatalf("callback record after the restart: %+v", cb)
	}
	agentStateIs(t, e2, "1001", "ready")
}
