package call

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/hotline-cc/hotline/internal/guard"
)

// syncBuffer is a log sink safe for the call's helper goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestPanicEndsOnlyThatCall: a panic in a step of a call (admission; an
// event in its loop) ends that call with end_reason error: the caller is
// hung up, the seats it held are released, the record is written, an
// error is logged with the stack and counted; the engine goes on.
func TestPanicEndsOnlyThatCall(t *testing.T) {
	for _, tc := range []struct {
		name     string
		inOrigin bool
	}{
		{"in admission", true},
		{"in an event", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, rec := testEngine(t, nil)
			var logs syncBuffer
			e.log = slog.New(slog.NewTextHandler(&logs, nil))
			before := panics("call")
			leg := &panickyLeg{fakeLeg: fakeLeg{caller: "1001", dialled: "1002"}, inOrigin: tc.inOrigin}
			c := newCall(e, leg)
			c.fromSeat, c.toSeat = "1001", "1002"
			e.seats.reserve("1001", c)
			e.seats.reserve("1002", c)
			if tc.inOrigin {
				c.run()
			} else {
				c.post(evRinging{})
				c.guarded(c.loop)
			}
			r := rec.wait(t)
			if r.EndReason != "error" || leg.code() != 500 {
				t.Errorf("end_reason %q, caller hung up with %d; want error, 500", r.EndReason, leg.code())
			}
			for _, ext := range []string{"1001", "1002"} {
				if e.seats.held(ext) {
					t.Errorf("seat %s still held", ext)
				}
			}
			if got := panics("call"); got != before+1 {
				t.Errorf("panics counted %d, want %d", got, before+1)
			}
			if l := logs.String(); !strings.Contains(l, "panic recovered") || !strings.Contains(l, "guard_test.go") {
				t.Errorf("no error log with the stack:\n%s", l)
			}
			if c.post(evShutdown{}) {
				t.Error("the ended call still takes events")
			}
		})
	}
}

func panics(component string) uint64 {
	for _, e := range guard.Counts() {
		if e.Component == component {
			return e.N
		}
	}
	return 0
}
