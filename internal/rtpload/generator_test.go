package rtpload

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeCall is one call of a fake engine: a caller leg and a seat leg, each
// its own socket, relaying to each other like a bridge. The caller leg
// first sends an untagged "prompt" packet, as the engine's greeting does.
type fakeCall struct {
	a, b    *net.UDPConn
	dropped atomic.Uint64
	wg      sync.WaitGroup
}

func newFakeCall(t *testing.T, g *Generator, dropEvery uint32) *fakeCall {
	t.Helper()
	c := &fakeCall{a: listen(t), b: listen(t)}
	prompt := make([]byte, headerBytes+frameBytes)
	prompt[0] = 0x80
	prompt[1] = 8
	if _, err := c.a.WriteToUDPAddrPort(prompt, g.CallerAddr()); err != nil {
		t.Fatal(err)
	}
	c.wg.Add(2)
	go c.relay(c.a, c.b, g.SeatAddr(), dropEvery)
	go c.relay(c.b, c.a, g.CallerAddr(), dropEvery)
	t.Cleanup(func() { c.a.Close(); c.b.Close(); c.wg.Wait() })
	return c
}

// relay forwards what in receives out of out to dst, dropping every
// dropEvery-th frame once one has gone through.
func (c *fakeCall) relay(in, out *net.UDPConn, dst netip.AddrPort, dropEvery uint32) {
	defer c.wg.Done()
	buf := make([]byte, 2048)
	var n uint32
	for {
		size, _, err := in.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		if n++; dropEvery > 0 && n > 1 && n%dropEvery == 0 {
			c.dropped.Add(1)
			continue
		}
		_, _ = out.WriteToUDPAddrPort(buf[:size], dst)
	}
}

func listen(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

func runFake(t *testing.T, calls int, dropEvery uint32) (Report, uint64) {
	g, err := New(Config{MaxStreams: calls, PayloadType: 8, Interval: 4 * time.Millisecond, Slots: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	g.Start()
	fakes := make([]*fakeCall, calls)
	for i := range fakes {
		fakes[i] = newFakeCall(t, g, dropEvery)
	}
	waitFor(t, "frames both ways on every call", func() bool {
		r := g.Report()
		return r.CallerToSeat.Silent == 0 && r.SeatToCaller.Silent == 0 &&
			r.SeatToCaller.Streams == calls && r.SeatToCaller.Relayed >= uint64(20*calls)
	})
	g.StopSending()
	dropped := func() uint64 {
		var n uint64
		for _, f := range fakes {
			n += f.dropped.Load()
		}
		return n
	}
	waitFor(t, "the relay to drain", func() bool {
		r := g.Report()
		return r.CallerToSeat.Lost+r.SeatToCaller.Lost == dropped()
	})
	return g.Report(), dropped()
}

func TestGeneratorCountsEveryFrame(t *testing.T) {
	r, _ := runFake(t, 3, 0)
	for _, d := range []Direction{r.CallerToSeat, r.SeatToCaller} {
		if d.Streams != 3 || d.Lost != 0 || d.Silent != 0 || d.Relayed == 0 {
			t.Errorf("%v", d)
		}
	}
	if r.Foreign != 3 {
		t.Errorf("foreign (prompt) packets: got %d, want 3", r.Foreign)
	}
	if r.SendErrors != 0 || r.Invalid != 0 || r.Overflow != 0 {
		t.Errorf("%v", r)
	}
}

func TestGeneratorCountsLosses(t *testing.T) {
	r, dropped := runFake(t, 2, 7)
	if dropped == 0 || r.CallerToSeat.Lost == 0 || r.SeatToCaller.Lost == 0 {
		t.Fatalf("dropped %d: %v", dropped, r)
	}
	if got := r.CallerToSeat.Lost + r.SeatToCaller.Lost; got != dropped {
		t.Errorf("lost %d, the relay dropped %d", got, dropped)
	}
}

func TestConfigRefused(t *testing.T) {
	for _, c := range []Config{{}, {MaxStreams: 1, PayloadType: 18}} {
		if _, err := New(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func TestPacketPathAllocatesNothing(t *testing.T) {
	g, err := New(Config{MaxStreams: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	c, s := g.sides[callerSide], g.sides[seatSide]
	src := g.SeatAddr()
	c.learn(src)
	s.learn(g.CallerAddr())
	pkt := make([]byte, headerBytes+frameBytes)
	pkt[0] = 0x80
	n := testing.AllocsPerRun(200, func() {
		c.send(0)
		tag(pkt[headerBytes:], seatSide, 0, 1)
		c.handle(pkt, src)
	})
	if n != 0 {
		t.Errorf("%v allocations per packet", n)
	}
}

func TestRTPPayload(t *testing.T) {
	p := make([]byte, 12+4+8+5)
	p[0] = 0x80 | 0x10 | 0x20 | 1 // version 2, extension, padding, one CSRC
	p[12+4+3] = 1                 // extension length: one word
	p[len(p)-1] = 2               // two bytes of padding
	got, ok := rtpPayload(p)
	if !ok || len(got) != 3 {
		t.Errorf("payload %d bytes, ok %v; want 3", len(got), ok)
	}
	if _, ok := rtpPayload([]byte{0x40, 0, 0}); ok {
		t.Error("short version-1 packet accepted")
	}
}
