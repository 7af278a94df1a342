package fastpath

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"
)

func udp(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ap(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

// openOrSkip opens the path on loopback; where the kernel refuses (no
// privileges, no TCX), the test says so and checks nothing more.
func openOrSkip(t *testing.T) *Path {
	t.Helper()
	p, err := Open(netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Skipf("kernel fast path unavailable here: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	t.Logf("kernel fast path on %s", p.Interface())
	return p
}

func rtpPacket(seq uint16, ts, ssrc uint32, pt byte) []byte {
	b := make([]byte, 12+160)
	b[0], b[1] = 0x80, pt
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	for i := range b[12:] {
		b[12+i] = byte(i)
	}
	return b
}

// TestRelay: a plain packet from the peer is rewritten and sent from the
// other leg's port to its peer; the leg's own socket never sees it; a
// stranger's packet, another payload type and another SSRC go to the
// socket; Take stops the relay and returns the counters.
func TestRelay(t *testing.T) {
	p := openOrSkip(t)
	peerA, legA, legB, peerB, stranger := udp(t), udp(t), udp(t), udp(t), udp(t)
	leg := Leg{Local: ap(legA), Remote: ap(peerA), OutLocal: ap(legB), OutRemote: ap(peerB),
		InSSRC: 0x1111, OutSSRC: 0x2222, SeqOff: 65000, TSOff: 0xfffffff0, PT: 8}
	if err := p.Put(leg); err != nil {
		t.Fatal(err)
	}
	send := func(c *net.UDPConn, b []byte) {
		if _, err := c.WriteToUDPAddrPort(b, ap(legA)); err != nil {
			t.Fatal(err)
		}
	}
	send(peerA, rtpPacket(1000, 160000, 0x1111, 8))
	buf := make([]byte, 1500)
	_ = peerB.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, from, err := peerB.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("nothing relayed: %v", err)
	}
	if from != ap(legB) {
		t.Errorf("from %s, want %s", from, ap(legB))
	}
	got := buf[:n]
	if seq := binary.BigEndian.Uint16(got[2:]); seq != uint16(1000+65000-65536) {
		t.Errorf("seq %d", seq)
	}
	if ts := binary.BigEndian.Uint32(got[4:]); ts != 160000-16 {
		t.Errorf("ts %d", ts)
	}
	if ssrc := binary.BigEndian.Uint32(got[8:]); ssrc != 0x2222 {
		t.Errorf("ssrc %x", ssrc)
	}
	if n != 172 || got[12] != 0 || got[171] != 159 {
		t.Errorf("payload changed: %d bytes", n)
	}
	// Not plain, or not the peer's: to the leg's own socket.
	send(stranger, rtpPacket(1, 1, 0x1111, 8))
	send(peerA, rtpPacket(2, 2, 0x1111, 101))
	send(peerA, rtpPacket(3, 3, 0x3333, 8))
	for i := range 3 {
		_ = legA.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, _, err := legA.ReadFromUDPAddrPort(buf); err != nil {
			t.Fatalf("packet %d did not reach user space: %v", i, err)
		}
	}
	c, ok := p.Read(leg.Local, leg.Remote)
	if !ok || c.Packets != 1 || c.Bytes != 172 || c.LastSeq != uint16(1000+65000-65536) || c.LastLen != 160 || time.Since(c.Last) > 2*time.Second {
		t.Errorf("counters %+v %v", c, ok)
	}
	if c, ok := p.Take(leg.Local, leg.Remote); !ok || c.Packets != 1 {
		t.Errorf("take %+v %v", c, ok)
	}
	send(peerA, rtpPacket(1001, 160160, 0x1111, 8))
	_ = legA.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, _, err := legA.ReadFromUDPAddrPort(buf); err != nil {
		t.Fatalf("after Take the packet did not reach user space: %v", err)
	}
}

// BenchmarkKernelRelay is the kernel path's own cost per packet: one
// goroutine sends a plain RTP packet to a leg in the map and reads it
// where the kernel relays it (the kernel processes a loopback packet
// inside the sender's system call), against the same send and read
// without the relay (direct). ns/op is the whole round; the difference
// between the two cases is what relaying in the kernel adds.
func BenchmarkKernelRelay(b *testing.B) {
	for _, relay := range []bool{false, true} {
		name := "direct"
		if relay {
			name = "kernel"
		}
		b.Run(name, func(b *testing.B) {
			p, err := Open(netip.MustParseAddr("127.0.0.1"))
			if err != nil {
				b.Skipf("kernel fast path unavailable: %v", err)
			}
			defer p.Close()
			conns := make([]*net.UDPConn, 4)
			for i := range conns {
				c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				conns[i] = c
			}
			peerA, legA, legB, peerB := conns[0], conns[1], conns[2], conns[3]
			dst := ap(peerB)
			if relay {
				if err := p.Put(Leg{Local: ap(legA), Remote: ap(peerA), OutLocal: ap(legB), OutRemote: ap(peerB),
					InSSRC: 0x1111, OutSSRC: 0x2222, SeqOff: 7, TSOff: 160, PT: 8}); err != nil {
					b.Fatal(err)
				}
				dst = ap(legA)
			}
			pkt := rtpPacket(1, 1, 0x1111, 8)
			buf := make([]byte, 1500)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := peerA.WriteToUDPAddrPort(pkt, dst); err != nil {
					b.Fatal(err)
				}
				if _, _, err := peerB.ReadFromUDPAddrPort(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
