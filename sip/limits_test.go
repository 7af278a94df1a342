package sip

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
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

// holder is a Handler that keeps every leg unanswered until the test says.
type holder chan *InboundLeg

func (h holder) HandleInvite(leg *InboundLeg) { h <- leg }

// TestMaxCallsAtTheEdge: with max_calls 1, a second INVITE while the first
// is held gets 503 with Retry-After and no 100 Trying; once the first leg
// is rejected its slot is free for the next.
func TestMaxCallsAtTheEdge(t *testing.T) {
	legs := make(holder, 4)
	s, addr := startEdge(t, Limits{MaxCalls: 1, RetryAfter: 9 * time.Second}, legs)
	conn, err := net.Dial("udp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	send := func(msg string) {
		t.Helper()
		if _, err := conn.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	// next returns the next response to call n (skipping others).
	next := func(n int) string {
		t.Helper()
		buf := make([]byte, 4096)
		for {
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			k, err := conn.Read(buf)
			if err != nil {
				t.Fatalf("call %d: %v", n, err)
			}
			if r := string(buf[:k]); strings.Contains(r, fmt.Sprintf("Call-ID: mc-%d\r\n", n)) {
				return r
			}
		}
	}
	head := func(method string, n int) string {
		return fmt.Sprintf("%s sip:12345@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;rport;branch=z9hG4bK-mc%d\r\n"+
			"From: <sip:1380013800%d@127.0.0.1>;tag=f%d\r\nCall-ID: mc-%d\r\nCSeq: 1 %s\r\n"+
			"Max-Forwards: 70\r\nContent-Length: 0\r\n", method, addr, conn.LocalAddr(), n, n, n, n, method)
	}
	invite := func(n int) string { // the first response
		t.Helper()
		send(head("INVITE", n) + fmt.Sprintf("To: <sip:12345@%s>\r\nContact: <sip:caller@%s>\r\n\r\n", addr, conn.LocalAddr()))
		return next(n)
	}
	// reject has the engine turn call n away with 486 and ACKs it.
	reject := func(n int, leg *InboundLeg) {
		t.Helper()
		done := make(chan error, 1)
		go func() { done <- leg.Reject(486, "Busy Here") }()
		r := next(n)
		to := r[strings.Index(r, "\r\nTo: ")+2:]
		to = to[:strings.Index(to, "\r\n")]
		send(head("ACK", n) + to + "\r\n\r\n")
		if err := <-done; err != nil {
			t.Fatalf("reject %d: %v", n, err)
		}
	}
	if r := invite(1); !strings.HasPrefix(r, "SIP/2.0 100") {
		t.Fatalf("first INVITE: %q", r)
	}
	first := <-legs
	r := invite(2)
	if !strings.HasPrefix(r, "SIP/2.0 503") || !strings.Contains(r, "Retry-After: 9\r\n") {
		t.Fatalf("second INVITE over max_calls: %q, want 503 with Retry-After: 9 and nothing before", r)
	}
	if s.Calls() != 1 {
		t.Fatalf("edge holds %d calls, want 1", s.Calls())
	}
	reject(1, first)
	if s.Calls() != 0 {
		t.Fatalf("edge holds %d calls after the reject, want 0", s.Calls())
	}
	if r := invite(3); !strings.HasPrefix(r, "SIP/2.0 100") {
		t.Fatalf("INVITE after the slot came back: %q", r)
	}
	reject(3, <-legs)
}

// TestTCPKeepAliveAndFraming: over one TCP connection a CRLF CRLF ping gets
// a CRLF pong, and two requests written in one segment, split mid-header
// and glued to a ping, are each answered.
func TestTCPKeepAliveAndFraming(t *testing.T) {
	_, addr := startEdge(t, Limits{}, nil)
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	pong := make([]byte, 2)
	if _, err := io.ReadFull(c, pong); err != nil || string(pong) != "\r\n" {
		t.Fatalf("pong: %q %v", pong, err)
	}
	local := c.LocalAddr().String()
	two := append(testpeer.OptionsProbe("tcp", addr, local, "k1"), "\r\n\r\n"...)
	two = append(two, testpeer.OptionsProbe("tcp", addr, local, "k2")...)
	for _, part := range [][]byte{two[:40], two[40:]} {
		if _, err := c.Write(part); err != nil {
			t.Fatal(err)
		}
	}
	r := bufio.NewReader(c)
	seen := map[string]bool{}
	for len(seen) < 2 {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("answers %v: %v", seen, err)
		}
		if id, ok := strings.CutPrefix(strings.TrimSpace(line), "Call-ID: "); ok {
			seen[id] = true
		}
	}
}
