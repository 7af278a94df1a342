package sip

import (
	"net/netip"
	"testing"
	"time"
)

func fixed(l Limits) func() Limits { return func() Limits { return l } }

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

// TestSourceLimiter: a source gets its burst (twice the rate), then 503s at
// the rate, then silence; another source is not affected; time refills.
func TestSourceLimiter(t *testing.T) {
	clk := newFakeClock()
	l := newSourceLimiter(fixed(Limits{SourceRequestsPerSecond: 5, SourceRegistersPerSecond: 1}), clk.Now)
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	got := map[verdict]int{}
	for range 30 {
		got[l.check(a, false)]++
	}
	if got[allow] != 10 || got[refuse] != 5 || got[discard] != 15 {
		t.Errorf("30 at once: %v, want 10 allowed, 5 refused, 15 dropped", got)
	}
	if l.check(b, false) != allow {
		t.Errorf("another source paid for the flood")
	}
	clk.Add(time.Second)
	if l.check(a, false) != allow {
		t.Errorf("no refill after a second")
	}
	if l.check(b, true) != allow || l.check(b, true) != allow || l.check(b, true) == allow {
		t.Errorf("REGISTER burst of 2 not enforced")
	}
}

// TestSourceLimiterBounded: a flood of new addresses never grows the table
// past its bound.
func TestSourceLimiterBounded(t *testing.T) {
	clk := newFakeClock()
	l := newSourceLimiter(fixed(Limits{SourceRequestsPerSecond: 1}), clk.Now)
	for i := range 3 * maxSources {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		l.check(ip, false)
		if len(l.m) > maxSources {
			t.Fatalf("table at %d entries, bound %d", len(l.m), maxSources)
		}
	}
}

// TestAdmission: max_calls counts live calls and release gives a slot back
// once however often it is called; each trunk has its own rate.
func TestAdmission(t *testing.T) {
	clk := newFakeClock()
	a := newAdmission(fixed(Limits{MaxCalls: 2, TrunkCallsPerSecond: 3}), clk.Now)
	seat := Origin{Seat: "1001"}
	r1, _, ok1 := a.admit(seat)
	_, _, ok2 := a.admit(seat)
	_, why, ok3 := a.admit(seat)
	if !ok1 || !ok2 || ok3 || why != RejectMaxCalls {
		t.Fatalf("third call of max 2: ok %v %v %v, reason %q", ok1, ok2, ok3, why)
	}
	r1()
	r1()
	if a.calls.Load() != 1 {
		t.Fatalf("calls %d after one release (twice)", a.calls.Load())
	}
	a = newAdmission(fixed(Limits{TrunkCallsPerSecond: 3}), clk.Now)
	n := 0
	for range 10 {
		if _, _, ok := a.admit(Origin{Trunk: "carrier"}); ok {
			n++
		}
	}
	_, why, _ = a.admit(Origin{Trunk: "carrier"})
	if _, _, ok := a.admit(Origin{Trunk: "other"}); n != 3 || why != RejectTrunkRate || !ok {
		t.Errorf("10 at once at 3/s: %d admitted (reason %q); another trunk admitted %v", n, why, ok)
	}
}
