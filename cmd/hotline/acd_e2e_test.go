package main

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
	"github.com/hotline-cc/hotline/store/redistest"
)

// agentState posts a state change to the agent API, with or without the
// bearer token, and returns the HTTP status.
func agentState(t *testing.T, e *engine, ext, body, token string) int {
	t.Helper()
	return apiStatus(t, e, http.MethodPost, "/api/v1/agents/"+ext+"/state", body, token)
}

// apiStatus sends one HTTP request to the engine, with the bearer token
// unless it is empty, and returns the status.
func apiStatus(t *testing.T, e *engine, method, path, body, token string) int {
	t.Helper()
	code, _ := apiDo(t, e, method, path, body, token)
	return code
}

// apiDo is apiStatus that also returns the answer's body.
func apiDo(t *testing.T, e *engine, method, path, body, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+e.HTTP+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, data
}

// agentStateIs waits until the agents snapshot shows ext in state.
func agentStateIs(t *testing.T, e *engine, ext, state string) {
	t.Helper()
	want := fmt.Sprintf(`"extension":"%s"`, ext)
	deadline := time.Now().Add(10 * time.Second)
	for {
		body := httpGet(t, "http://"+e.HTTP+"/api/v1/agents")
		for _, row := range strings.Split(body, "},{") {
			if strings.Contains(row, want) && strings.Contains(row, `"state":"`+state+`"`) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent %s never %s: %s", ext, state, body)
		}
		// The snapshot has no change event to wait on; poll it briefly.
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAgentFeatureCodes: a baresip seat is logged in by registering, logs
// out with *12 and in again with *11, goes not ready with *13 (the engine
// confirms and hangs up), so a caller waits; *14 makes it ready and the
// waiting caller is offered to it at once; after the call the seat is in
// wrap-up, then ready again by itself.
func TestAgentFeatureCodes(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1, RTPTimeout: "60s", Extra: "queues:\n  - name: general\n    wrap_up: 5s\n"})
	seat := e.seat(t, 1001, testpeer.SeatOptions{})
	agentStateIs(t, e, "1001", "ready")
	dial := func(code string) {
		t.Helper()
		if err := seat.Dial(fmt.Sprintf("sip:%s@%s", code, e.target())); err != nil {
			t.Fatal(err)
		}
		if _, err := seat.WaitEvent("CALL_CLOSED", 15*time.Second); err != nil {
			t.Fatalf("feature code %s: %v\n%s", code, err, e.log.tail(20))
		}
	}
	dial("*12")
	agentStateIs(t, e, "1001", "logged_out")
	dial("*11")
	agentStateIs(t, e, "1001", "ready")
	dial("*13")
	agentStateIs(t, e, "1001", "not_ready")
	p, _ := e.caller(t, "12345", "0", 12*time.Second)
	waitEvents(t, e, "call.ivr", 1, 15*time.Second)
	dial("*14")
	if _, err := seat.WaitEvent("CALL_ESTABLISHED", 10*time.Second); err != nil {
		t.Fatalf("the ready seat was not offered the waiting call: %v\n%s", err, e.log.tail(30))
	}
	if res := p.Wait(); res.ExitCode != 0 {
		t.Fatalf("sipp: %s", res)
	}
	agentStateIs(t, e, "1001", "wrap_up")
	agentStateIs(t, e, "1001", "ready")
	var r = e.waitRecords(5, 10*time.Second)
	var call *struct{}
	for _, rec := range r {
		if rec.Dialled == "12345" {
			call = &struct{}{}
			if rec.Agent != "1001" || rec.EndReason != "answered" || rec.WaitMs <= 0 {
				t.Errorf("queued call: %+v", rec)
			}
		} else if rec.EndReason != "feature_code" {
			t.Errorf("feature code call: %+v", rec)
		}
	}
	if call == nil {
		t.Fatalf("no record of the queued call")
	}
}

// TestAgentStateAPI: state changes over HTTP need the bearer token.
func TestAgentStateAPI(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 2})
	registerSeats(t, e, 1, "127.0.0.1:7997")
	agentStateIs(t, e, "1001", "ready")
	if code := agentState(t, e, "1001", `{"state":"not_ready","reason":"meal"}`, ""); code != http.StatusUnauthorized {
		t.Errorf("without token: %d, want 401", code)
	}
	if code := agentState(t, e, "1001", `{"state":"not_ready","reason":"meal"}`, "wrong-token-xx"); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 401", code)
	}
	if code := agentState(t, e, "1001", `{"state":"not_ready","reason":"meal"}`, "test-token-123"); code != http.StatusOK {
		t.Fatalf("with token: %d, want 200", code)
	}
	agentStateIs(t, e, "1001", "not_ready")
	if code := agentState(t, e, "9999", `{"state":"ready"}`, "test-token-123"); code != http.StatusNotFound {
		t.Errorf("unknown agent: %d, want 404", code)
	}
	if code := agentState(t, e, "1001", `{"state":"dancing"}`, "test-token-123"); code != http.StatusBadRequest {
		t.Errorf("bad state: %d, want 400", code)
	}
}

// TestBusySeatSkipped: the longest-idle seat answers busy; the call goes to
// the next seat, and the record names the seat that missed it.
func TestBusySeatSkipped(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 2, RTPTimeout: "60s"})
	busy := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_busy.xml"), Calls: 1, Timeout: 60 * time.Second,
	})
	registerSeats(t, e, 1, busy.Addr)
	agentStateIs(t, e, "1001", "ready")
	e.seat(t, 1002, testpeer.SeatOptions{})
	p, _ := e.caller(t, "12345", "0", 10*time.Second)
	if res := p.Wait(); res.ExitCode != 0 {
		t.Fatalf("sipp: %s", res)
	}
	r := e.waitRecords(1, 10*time.Second)[0]
	if r.Agent != "1002" || !slices.Contains(r.SeatsMissed, "1001") || r.EndReason != "answered" {
		t.Fatalf("record: agent %q missed %v end %q", r.Agent, r.SeatsMissed, r.EndReason)
	}
	if res := busy.Wait(); res.Successful != 1 {
		t.Errorf("busy seat: %s", res)
	}

}

// TestQueueFullAndAbandoned: with no seat logged in, the first caller waits
// and hangs up (abandoned, with its wait); the general queue holds one
// caller, so the second caller overflows to a message (heard, decoded from
// RTP) and is hung up.
func TestQueueFullAndAbandoned(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1, RTPTimeout: "60s",
		Extra: "queues:\n  - name: general\n    max_length: 1\n    on_full: message goodbye.wav\n"})
	first, _ := e.caller(t, "12345", "0", 12*time.Second)
	waitEvents(t, e, "call.ivr", 1, 15*time.Second)
	second, peer := e.caller(t, "12345", "0", 20*time.Second)
	for _, p := range []*testpeer.SippProc{first, second} {
		if res := p.Wait(); res.ExitCode != 0 {
			t.Fatalf("sipp: %s\n%s", res, e.log.tail(20))
		}
	}
	reasons := map[string]int{}
	for _, r := range e.waitRecords(2, 10*time.Second) {
		reasons[r.EndReason]++
		switch r.EndReason {
		case "abandoned":
			if r.QueuedAt == nil || r.WaitMs <= 0 || r.Agent != "" || r.HangupBy != "caller" {
				t.Errorf("abandoned call: %+v", r)
			}
		case "overflow":
			if r.HangupBy != "system" {
				t.Errorf("overflowed call: %+v", r)
			}
		}
	}
	if reasons["abandoned"] != 1 || reasons["overflow"] != 1 {
		t.Fatalf("end reasons %v, want one abandoned and one overflow", reasons)
	}
	if c := testpeer.BestCorrelation(peer.Received(), loadPCM(t, "goodbye.wav")); c < 0.8 {
		t.Errorf("the overflowed caller did not hear the message: correlation %.2f", c)
	}
}

// TestRedisOutage: with the Redis store gone, a bridged call goes on to its
// normal end, and a new caller who reaches the queue gets a clear end
// (acd_unavailable) instead of waiting forever; the engine stays up.
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	rds := redistest.Start(t)
	e := startEngine(t, centreOpts{Seats: 1, RTPTimeout: "60s",
		Extra: fmt.Sprintf("store:\n  kind: redis\n  redis: {address: %q}\n  node: outage\n", rds.Addr)})
	seat := e.seat(t, 1001, testpeer.SeatOptions{})
	agentStateIs(t, e, "1001", "ready")
	p1, _ := e.caller(t, "12345", "0", 12*time.Second)
	if _, err := seat.WaitEvent("CALL_ESTABLISHED", 15*time.Second); err != nil {
		t.Fatal(err)
	}
	waitEvents(t, e, "call.answered", 1, 10*time.Second)
	rds.Stop()
	p2, _ := e.caller(t, "12345", "0", 15*time.Second)
	for _, p := range []*testpeer.SippProc{p1, p2} {
		if res := p.Wait(); res.ExitCode != 0 {
			t.Fatalf("sipp: %s\n%s", res, e.log.tail(20))
		}
	}
	reasons := map[string]int{}
	for _, r := range e.waitRecords(2, 10*time.Second) {
		reasons[r.EndReason]++
	}
	if reasons["answered"] != 1 || reasons["acd_unavailable"] != 1 {
		t.Fatalf("end reasons %v, want the bridged call answered and the new one acd_unavailable", reasons)
	}
	if body := httpGet(t, "http://"+e.HTTP+"/healthz"); !strings.Contains(body, "ok") {
		t.Errorf("engine not healthy after the outage: %q", body)
	}
}

// TestRingAll: a ring_all queue rings every free seat at once (three baresip
// phones that do not answer by themselves); the one the test answers takes
// the call, the others stop ringing (CANCEL) and are not counted as missing
// it; the record names all three as rung and the one as the agent.
func TestRingAll(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 3, RTPTimeout: "60s",
		Extra: "queues:\n  - name: general\n    strategy: ring_all\n"})
	seats := make([]*testpeer.Seat, 3)
	for i := range seats {
		seats[i] = e.phone(t, 1001+i, testpeer.SeatOptions{})
		agentStateIs(t, e, strconv.Itoa(1001+i), "ready")
	}
	caller, _ := e.caller(t, "12345", "0", 60*time.Second)
	for i, s := range seats {
		if _, err := s.WaitEvent("CALL_INCOMING", 15*time.Second); err != nil {
			t.Fatalf("seat %d never rang: %v\n%s", 1001+i, err, e.log.tail(30))
		}
	}
	if err := seats[1].Accept(); err != nil {
		t.Fatal(err)
	}
	if _, err := seats[1].WaitEvent("CALL_ESTABLISHED", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 2} {
		if _, err := seats[i].WaitEvent("CALL_CLOSED", 10*time.Second); err != nil {
			t.Fatalf("seat %d still rings after another answered: %v", 1001+i, err)
		}
	}
	if err := seats[1].Hangup(); err != nil {
		t.Fatal(err)
	}
	if res := caller.Wait(); res.ExitCode != 0 {
		t.Fatalf("caller: %s\n%s", res, e.log.tail(20))
	}
	r := e.waitRecords(1, 10*time.Second)[0]
	rung := slices.Clone(r.SeatsRung)
	slices.Sort(rung)
	if r.EndReason != "answered" || r.Agent != "1002" || !slices.Equal(rung, []string{"1001", "1002", "1003"}) || len(r.SeatsMissed) != 0 {
		t.Fatalf("record: %+v", r)
	}
	for _, ext := range []string{"1001", "1002", "1003"} {
		agentStateIs(t, e, ext, "ready")
	}
}

// TestPositionAnnouncement: with the only seat on a call, a second caller
// is told as they join that nobody is ahead of them and that the wait is
// about three minutes (one round of the queue's default handle time),
// decoded from the RTP they receive.
func TestPositionAnnouncement(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1, RTPTimeout: "60s",
		Extra: "queues:\n  - name: general\n    announce_every: 30s\n"})
	seat := e.seat(t, 1001, testpeer.SeatOptions{})
	first, _ := e.caller(t, "12345", "0", 30*time.Second)
	if _, err := seat.WaitEvent("CALL_ESTABLISHED", 15*time.Second); err != nil {
		t.Fatal(err)
	}
	second, peer := e.caller(t, "12345", "0", 20*time.Second)
	if _, err := e.log.wait(`msg="queue position" .*position=1 wait=3m0s`, 20*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, e.log.tail(20))
	}
	if res := second.Wait(); res.ExitCode != 0 {
		t.Fatalf("second caller: %s", res)
	}
	heard := peer.Received()
	for _, p := range []string{"position-ahead.wav", "digit-0.wav", "position-waiting.wav", "wait-about.wav", "digit-3.wav", "wait-minutes.wav"} {
		if c := testpeer.BestCorrelation(heard, loadPCM(t, p)); c < 0.8 {
			t.Errorf("the waiting caller did not hear %s: correlation %.2f", p, c)
		}
	}
	if res := first.Wait(); res.ExitCode != 0 {
		t.Fatalf("first caller: %s", res)
	}
}
