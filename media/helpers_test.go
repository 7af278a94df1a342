package media

import (
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// waitLimit bounds every wait on an event; reaching it fails the test.
const waitLimit = 5 * time.Second

// newTestManager is a manager on 127.0.0.1 with the kernel fast path
// where it loads, unless HOTLINE_FAST_PATH=off; the test logs which path
// relays.
func newTestManager(t testing.TB) *Manager {
	t.Helper()
	m, err := NewManager(Config{Address: netip.MustParseAddr("127.0.0.1"), FastPath: os.Getenv("HOTLINE_FAST_PATH") != "off"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	t.Logf("relay path: %s", m.FastPath())
	return m
}

func newTestSession(t testing.TB, m *Manager, cfg SessionConfig) *Session {
	t.Helper()
	s, err := m.NewSession(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// peer is the far end of a leg: a plain loopback UDP socket speaking RTP.
type peer struct {
	t    testing.TB
	conn *net.UDPConn
	buf  []byte
	ssrc uint32
	seq  uint16
	ts   uint32
}

func newPeer(t testing.TB) *peer {
	t.Helper()
	return newPeerAt(t, "127.0.0.1")
}

// newPeerAt is newPeer on another loopback address.
func newPeerAt(t testing.TB, ip string) *peer {
	t.Helper()
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &peer{t: t, conn: conn, buf: make([]byte, 2048), ssrc: 0x1234abcd, seq: 100, ts: 1000}
}

func (p *peer) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// sendRaw sends b to to.
func (p *peer) sendRaw(to netip.AddrPort, b []byte) {
	p.t.Helper()
	if _, err := p.conn.WriteToUDPAddrPort(b, to); err != nil {
		p.t.Fatal(err)
	}
}

// sendRTP sends one packet of p's own stream (next seq, ts + 160).
func (p *peer) sendRTP(to netip.AddrPort, pt uint8, marker bool, payload []byte) rtp.Header {
	p.t.Helper()
	h := rtp.Header{Version: 2, PayloadType: pt, Marker: marker, SequenceNumber: p.seq, Timestamp: p.ts, SSRC: p.ssrc}
	p.seq++
	p.ts += samplesPerFrame
	b, err := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
	if err != nil {
		p.t.Fatal(err)
	}
	p.sendRaw(to, b)
	return h
}

// recv waits for the next RTP packet (failing after waitLimit).
func (p *peer) recv() (rtp.Packet, netip.AddrPort) {
	p.t.Helper()
	if err := p.conn.SetReadDeadline(time.Now().Add(waitLimit)); err != nil {
		p.t.Fatal(err)
	}
	n, from, err := p.conn.ReadFromUDPAddrPort(p.buf)
	if err != nil {
		p.t.Fatalf("peer %s: no RTP packet: %v", p.addr(), err)
	}
	var pkt rtp.Packet
	if err := pkt.Unmarshal(append([]byte(nil), p.buf[:n]...)); err != nil {
		p.t.Fatalf("peer %s: bad RTP packet: %v", p.addr(), err)
	}
	return pkt, from
}

// recvUntil reads packets until keep returns false for one, which it returns.
func (p *peer) recvUntil(skip func(rtp.Packet) bool) rtp.Packet {
	p.t.Helper()
	for {
		pkt, _ := p.recv()
		if !skip(pkt) {
			return pkt
		}
	}
}

// waitFor polls cond (an observable state change) until it holds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitChan waits for ch to deliver or close.
func waitChan[T any](t testing.TB, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

// framePrompt builds a prompt of n frames, frame i holding the constant
// level base+i*500, so each frame is recognisable on the wire.
func framePrompt(n, base int) *Prompt {
	pcm := make([]int16, n*samplesPerFrame)
	for i := range pcm {
		pcm[i] = int16(base + i/samplesPerFrame*500)
	}
	return NewPrompt("frames", pcm)
}
