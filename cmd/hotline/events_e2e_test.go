package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
	"github.com/hotline-cc/hotline/records"
)

// sseEvent is one event of the stream as a client reads it.
type sseEvent struct {
	id        uint64
	typ, data string
}

// eventStream reads GET /api/v1/events (query q, Last-Event-ID last when
// not "") until stop; events arrive on the returned channel.
func eventStream(t *testing.T, e *engine, q, last string) (<-chan sseEvent, func()) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+e.HTTP+"/api/v1/events"+q, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	if last != "" {
		req.Header.Set("Last-Event-ID", last)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" || res.Header.Get("X-Accel-Buffering") != "no" {
		t.Fatalf("events: %d %v", res.StatusCode, res.Header)
	}
	ch := make(chan sseEvent, 64)
	go func() {
		defer close(ch)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.typ != "" {
					ch <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id, _ = strconv.ParseUint(line[4:], 10, 64)
			case strings.HasPrefix(line, "event: "):
				ev.typ = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	t.Cleanup(stop)
	return ch, stop
}

// nextEvent waits for the stream's next event.
func nextSSE(t *testing.T, ch <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("the event stream ended")
		}
		return ev
	case <-time.After(20 * time.Second):
		t.Fatal("no event in 20 s")
	}
	return sseEvent{}
}

// TestEventStream: a client of /api/v1/events sees a seat log in
// (agent.state, ready) when its phone registers, and a call start and end
// (ids increasing, the record in call.ended); it disconnects, another call
// comes and goes, and resuming with Last-Event-ID gives exactly what it
// missed; ?types= filters; an id older than the stream keeps would be a
// reset; no token: 401.
func TestEventStream(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1})
	if code := apiStatus(t, e, "GET", "/api/v1/events", "", ""); code != 401 {
		t.Errorf("events without the token: %d, want 401", code)
	}
	if code := apiStatus(t, e, "GET", "/api/v1/events?last_event_id=x", "", testToken); code != 400 {
		t.Errorf("a Last-Event-ID that is not an id: %d, want 400", code)
	}
	agents, _ := eventStream(t, e, "?types=agent.state", "")
	seat := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_answer.xml"), Calls: 1, Timeout: time.Minute,
	})
	registerSeatRange(t, e, 1001, 1, seat.Addr, 200, 50)
	var st struct {
		CallID string             `json:"call_id"`
		Data   records.AgentState `json:"data"`
	}
	if ev := nextSSE(t, agents); json.Unmarshal([]byte(ev.data), &st) != nil || st.CallID != "" ||
		st.Data.Agent != "1001" || st.Data.State != "ready" || st.Data.Since.IsZero() {
		t.Fatalf("agent.state event: %+v", ev)
	}
	ch, stop := eventStream(t, e, "?types=call.started,call.ended", "")
	caller, _ := e.caller(t, "12345", "0", time.Second)
	started, ended := nextSSE(t, ch), nextSSE(t, ch)
	if started.typ != records.EventCallStarted || ended.typ != records.EventCallEnded || ended.id <= started.id {
		t.Fatalf("events %+v then %+v", started, ended)
	}
	var ev records.Event
	if err := json.Unmarshal([]byte(ended.data), &ev); err != nil || ev.Record == nil || ev.Record.Dialled != "12345" || ev.Record.EndReason == "" || ev.CallID != ev.Record.CallID {
		t.Fatalf("call.ended data %s: %v", ended.data, err)
	}
	caller.Wait()
	stop()
	missed, _ := e.caller(t, "12345", "0", time.Second)
	missed.Wait()
	e.waitRecords(2, 10*time.Second)
	again, _ := eventStream(t, e, "?types=call.started,call.ended", strconv.FormatUint(ended.id, 10))
	a, b := nextSSE(t, again), nextSSE(t, again)
	if a.id <= ended.id || b.id <= a.id || a.typ != records.EventCallStarted || b.typ != records.EventCallEnded {
		t.Errorf("resumed: %+v then %+v", a, b)
	}
	only, _ := eventStream(t, e, "?types=call.ended", "0")
	if x, y := nextSSE(t, only), nextSSE(t, only); x.typ != records.EventCallEnded || y.typ != records.EventCallEnded || y.id <= x.id {
		t.Errorf("filtered: %+v then %+v", x, y)
	}
	// Stopping, the node ends its streams instead of waiting for them.
	e.signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(4 * time.Second):
		t.Fatal("the node did not stop within 4 s with event streams open")
	}
	for range again {
	}
}

// TestMissedCallers: a caller who gives up waiting in the queue (no seat
// is there) is listed by GET /api/v1/missed; after a restart the list is
// read back from the records files; 401 without the token.
func TestMissedCallers(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1})
	gone, _ := e.caller(t, "12345", "0", 9*time.Second) // the greeting takes about 5 s, then the queue
	gone.Wait()
	if r := e.waitRecords(1, 10*time.Second)[0]; r.EndReason != "abandoned" || r.QueuedAt == nil {
		t.Fatalf("record: %s queued %v", r.EndReason, r.QueuedAt)
	}
	check := func(e *engine) {
		t.Helper()
		var missed []struct {
			Number     string
			LastReason string `json:"last_reason"`
			Calls      int
		}
		apiGet(t, e, "missed", &missed)
		if len(missed) != 1 || missed[0].Number != "13800138000" || missed[0].Calls != 1 || missed[0].LastReason != "abandoned" {
			t.Fatalf("missed %+v", missed)
		}
	}
	waitUntil(t, "the missed caller listed", 5*time.Second, func() bool {
		var missed []any
		apiGet(t, e, "missed", &missed)
		return len(missed) == 1
	})
	check(e)
	if code := apiStatus(t, e, "GET", "/api/v1/missed", "", ""); code != 401 {
		t.Errorf("missed without the token: %d, want 401", code)
	}
	e.kill()
	check(launch(t, e.dir, e.cfg, "info"))
}

// waitEvents waits until the node's event log holds n events of type typ
// since it started (read from the stream's beginning, so an event that
// came before the call is not missed) and returns them. The e2e tests
// wait on these, not on log lines.
func waitEvents(t *testing.T, e *engine, typ string, n int, limit time.Duration) []sseEvent {
	t.Helper()
	ch, stop := eventStream(t, e, "?types="+typ, "0")
	defer stop()
	var got []sseEvent
	deadline := time.After(limit)
	for len(got) < n {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("the event stream ended with %d %s events, want %d", len(got), typ, n)
			}
			if ev.typ == typ {
				got = append(got, ev)
			}
		case <-deadline:
			t.Fatalf("%d %s events after %v, want %d\n%s", len(got), typ, limit, n, e.log.tail(30))
		}
	}
	return got
}
