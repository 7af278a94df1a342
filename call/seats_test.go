package call

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"testing"

	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/sip"
)

// fakeRegs is a registrar stand-in: the set of registered extensions.
type fakeRegs map[string]bool

func (f fakeRegs) Lookup(ext string) (sip.Registration, bool) {
	if !f[ext] {
		return sip.Registration{}, false
	}
	return sip.Registration{Extension: ext, Contact: "sip:" + ext + "@127.0.0.1:5070"}, true
}

func testPool(regs fakeRegs, exts ...string) *seatPool {
	e := &Engine{opts: Options{Seats: regs}}
	p := newSeatPool(e)
	cfg := &config.Config{}
	for _, x := range exts {
		cfg.Seats = append(cfg.Seats, config.Seat{Extension: x})
	}
	p.configure(cfg)
	return p
}

func testCall(id string) *Call {
	return &Call{id: id, tried: map[string]bool{}, inbox: make(chan any, 8), done: make(chan struct{}), log: slog.New(slog.DiscardHandler)}
}

// offered drains the seat offers a call has received.
func offered(c *Call) []string {
	var out []string
	for {
		select {
		case ev := <-c.inbox:
			if s, ok := ev.(evSeat); ok {
				out = append(out, s.offer.ext)
			}
		default:
			return out
		}
	}
}

func TestSeatPool(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T)
	}{
		{"first free registered seat by extension", func(t *testing.T) {
			p := testPool(fakeRegs{"1002": true, "1003": true}, "1003", "1001", "1002")
			o, ok := p.acquire(testCall("a"), false)
			if !ok || o.ext != "1002" || o.contact == "" {
				t.Fatalf("got %+v %v, want 1002", o, ok)
			}
		}},
		{"no registered seat: caller waits", func(t *testing.T) {
			p := testPool(fakeRegs{}, "1001")
			if _, ok := p.acquire(testCall("a"), false); ok {
				t.Fatal("offered an unregistered seat")
			}
			if q := p.queueSnapshot()[0]; q.Waiting != 1 {
				t.Fatalf("waiting %d", q.Waiting)
			}
		}},
		{"released seat goes to the longest waiting caller", func(t *testing.T) {
			p := testPool(fakeRegs{"1001": true}, "1001")
			holder := testCall("h")
			if _, ok := p.acquire(holder, false); !ok {
				t.Fatal("no seat")
			}
			a, b := testCall("a"), testCall("b")
			p.acquire(a, false)
			p.acquire(b, false)
			p.release("1001", holder)
			if got := offered(a); len(got) != 1 || got[0] != "1001" {
				t.Fatalf("a offered %v", got)
			}
			if got := offered(b); len(got) != 0 {
				t.Fatalf("b offered %v while a holds the seat", got)
			}
		}},
		{"a caller whose seat missed keeps its place at the head", func(t *testing.T) {
			p := testPool(fakeRegs{"1001": true}, "1001")
			holder, a, b := testCall("h"), testCall("a"), testCall("b")
			p.acquire(holder, false)
			p.acquire(a, false)
			p.acquire(b, true)
			if q := p.queueSnapshot()[0]; fmt.Sprint(q.Calls) != "[b a]" {
				t.Fatalf("order %v", q.Calls)
			}
		}},
		{"a seat the caller already tried is not offered again", func(t *testing.T) {
			p := testPool(fakeRegs{"1001": true}, "1001")
			a := testCall("a")
			p.markTried(a, "1001")
			if _, ok := p.acquire(a, true); ok {
				t.Fatal("offered a tried seat")
			}
			p.clearTried(a)
			p.offerWaiting()
			if got := offered(a); len(got) != 1 {
				t.Fatalf("after clearTried offered %v", got)
			}
		}},
		{"busy seat is not reserved twice", func(t *testing.T) {
			p := testPool(fakeRegs{"1001": true}, "1001")
			if !p.reserve("1001", testCall("a")) || p.reserve("1001", testCall("b")) {
				t.Fatal("seat reserved twice")
			}
		}},
		{"an ended caller's offer is taken back", func(t *testing.T) {
			p := testPool(fakeRegs{"1001": true}, "1001")
			holder, a := testCall("h"), testCall("a")
			p.acquire(holder, false)
			p.acquire(a, false)
			close(a.done)
			p.release("1001", holder)
			if s := p.snapshot()[0]; s.State != "idle" {
				t.Fatalf("seat state %q after the offer bounced", s.State)
			}
		}},
	} {
		t.Run(tc.name, tc.run)
	}
}

// TestSeatPoolNeverDoubleBooks drives the pool with random arrivals,
// releases and registrations, checking after each step that no seat is held
// by two calls and no call holds two seats or waits while holding one.
func TestSeatPoolNeverDoubleBooks(t *testing.T) {
	regs := fakeRegs{}
	var exts []string
	for i := 0; i < 10; i++ {
		exts = append(exts, fmt.Sprint(1001+i))
	}
	p := testPool(regs, exts...)
	rng := rand.New(rand.NewPCG(1, 2))
	holding := map[*Call]string{}
	var calls []*Call
	for step := 0; step < 5000; step++ {
		switch rng.IntN(4) {
		case 0:
			regs[exts[rng.IntN(len(exts))]] = true
			p.offerWaiting()
		case 1:
			c := testCall(fmt.Sprint("c", step))
			calls = append(calls, c)
			if o, ok := p.acquire(c, false); ok {
				holding[c] = o.ext
			}
		case 2:
			for c, ext := range holding {
				delete(holding, c)
				p.release(ext, c)
				break
			}
		case 3:
			if len(calls) > 0 {
				c := calls[rng.IntN(len(calls))]
				if _, h := holding[c]; !h {
					p.leave(c)
				}
			}
		}
		for _, c := range calls {
			for _, ext := range offered(c) {
				if _, h := holding[c]; h {
					t.Fatalf("step %d: call %s offered %s while holding %s", step, c.id, ext, holding[c])
				}
				holding[c] = ext
			}
		}
		seen := map[string]*Call{}
		for c, ext := range holding {
			if other := seen[ext]; other != nil {
				t.Fatalf("step %d: seat %s held by %s and %s", step, ext, c.id, other.id)
			}
			seen[ext] = c
			if p.busy[ext] != c.id {
				t.Fatalf("step %d: pool says %s is held by %q, not %s", step, ext, p.busy[ext], c.id)
			}
		}
	}
}
