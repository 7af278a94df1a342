package media

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// silence is one PCMU frame.
var silence = make([]byte, samplesPerFrame)

// closeWindow makes the session's learning window over, as if it had
// started learnWindow ago.
func closeWindow(s *Session) {
	s.learnFrom.Store(int64(s.m.now() - learnWindow - time.Second))
}

// sendN sends n audio packets of p's stream to s.
func (p *peer) sendN(s *Session, n int) {
	for range n {
		p.sendRTP(s.LocalAddr(), PCMU.PayloadType, false, silence)
	}
}

// expectNothing fails if p receives a packet within d.
func (p *peer) expectNothing(d time.Duration) {
	p.t.Helper()
	if err := p.conn.SetReadDeadline(time.Now().Add(d)); err != nil {
		p.t.Fatal(err)
	}
	if n, from, err := p.conn.ReadFromUDPAddrPort(p.buf); err == nil {
		p.t.Fatalf("peer %s got %d bytes from %s, want nothing", p.addr(), n, from)
	}
}

// waitDrops waits until the manager counted want drops for why.
func waitDrops(t *testing.T, m *Manager, why DropReason, want uint64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d packets dropped for %s", want, why), func() bool { return m.Stats().Dropped[why] >= want })
}

// bridged is a caller and a seat session relaying to each other, with the
// seat's peer at its SDP address.
func bridged(t *testing.T, m *Manager, callerSDP netip.AddrPort) (caller, seat *Session, seatPeer *peer) {
	seatPeer = newPeer(t)
	caller = newTestSession(t, m, SessionConfig{Params: Params{Remote: callerSDP, DTMF: testDTMFPT}})
	seat = newTestSession(t, m, SessionConfig{Params: Params{Remote: seatPeer.addr(), DTMF: testDTMFPT}})
	Bridge(caller, seat)
	return caller, seat, seatPeer
}

func TestLatchSendsToSDPAndLearnsItFirst(t *testing.T) {
	m := newTestManager(t)
	sdp, stranger := newPeer(t), newPeer(t)
	s := newTestSession(t, m, SessionConfig{Params: Params{Remote: sdp.addr()}})
	s.Play(framePrompt(2, 1000), true, nil)
	sdp.recv() // before any packet: to the SDP address

	// Packets that are not valid RTP of the negotiated codec teach nothing.
	stranger.sendRTP(s.LocalAddr(), 8, false, silence) // PCMA, not negotiated
	stranger.sendRaw(s.LocalAddr(), []byte{0x40, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1})
	waitDrops(t, m, DropPayloadType, 1)
	waitDrops(t, m, DropMalformed, 1)

	sdp.sendRTP(s.LocalAddr(), PCMU.PayloadType, true, silence)
	waitFor(t, "the SDP peer learnt", func() bool { return s.Stats().Remote == sdp.addr() })
	// Within the window, but the peer is known: a stranger's steady
	// stream is dropped, however long.
	stranger.sendN(s, 3*learnPackets)
	waitDrops(t, m, DropSource, 3*learnPackets)
	if st := s.Stats(); st.Remote != sdp.addr() || st.PacketsIn != 1 {
		t.Fatalf("stats %+v after a stranger's packets", st)
	}
	sdp.recv()
	stranger.expectNothing(100 * time.Millisecond)
}

func TestLatchNATPeerFromTheStart(t *testing.T) {
	m := newTestManager(t)
	sdp, real := newPeer(t), newPeer(t) // SDP says sdp; packets come from real
	caller, seat, seatPeer := bridged(t, m, sdp.addr())

	real.sendN(caller, learnPackets-1)
	waitDrops(t, m, DropSource, learnPackets-1)
	if st := caller.Stats(); st.Remote.IsValid() {
		t.Fatalf("learnt %s after %d packets", st.Remote, learnPackets-1)
	}
	real.sendN(caller, 1)
	waitFor(t, "the NAT peer learnt", func() bool { return caller.Stats().Remote == real.addr() })
	seatPeer.recv() // the learning packet is relayed

	// Two-way audio: the seat's packets reach the NAT peer, not the SDP address.
	seatPeer.sendRTP(seat.LocalAddr(), PCMU.PayloadType, true, silence)
	if _, from := real.recv(); from != caller.LocalAddr() {
		t.Fatalf("NAT peer got audio from %s", from)
	}
	real.sendN(caller, 1)
	seatPeer.recv()
	sdp.expectNothing(50 * time.Millisecond)
}

// TestLatchOnlyAtSDPOrSignalAddress: within the window, a stranger at
// another IP is never learnt however many packets it sends first; a NAT
// peer at the leg's SIP address is.
func TestLatchOnlyAtSDPOrSignalAddress(t *testing.T) {
	m := newTestManager(t)
	sdp, stranger, public := newPeer(t), newPeerAt(t, "127.0.0.67"), newPeerAt(t, "127.0.0.68")
	caller, _, seatPeer := bridged(t, m, sdp.addr())
	caller.SetSignal(public.addr().Addr())

	stranger.sendN(caller, 3*learnPackets)
	waitDrops(t, m, DropSource, 3*learnPackets)
	if st := caller.Stats(); st.Remote.IsValid() {
		t.Fatalf("learnt the stranger %s", st.Remote)
	}
	public.sendN(caller, learnPackets)
	waitFor(t, "the peer at the SIP address learnt", func() bool { return caller.Stats().Remote == public.addr() })
	seatPeer.recv()
	stranger.expectNothing(50 * time.Millisecond)
}

func TestLatchStrangerAfterWindowDropped(t *testing.T) {
	m := newTestManager(t)
	sdp, stranger := newPeer(t), newPeer(t)
	caller, seat, seatPeer := bridged(t, m, sdp.addr())
	closeWindow(caller)

	stranger.sendN(caller, 5*learnPackets)
	stranger.sendRTP(caller.LocalAddr(), testDTMFPT, true, eventPayload(1, false, 160))
	waitDrops(t, m, DropSource, 5*learnPackets+1)
	if st := caller.Stats(); st.Remote.IsValid() || st.PacketsIn != 0 {
		t.Fatalf("stats %+v after a late stranger", st)
	}
	// The SDP peer is still learnt by its first packet, late as it is.
	sdp.sendN(caller, 1)
	seatPeer.recv()
	seatPeer.sendRTP(seat.LocalAddr(), PCMU.PayloadType, true, silence)
	sdp.recv()
	stranger.expectNothing(50 * time.Millisecond)
}

func TestLatchStrangerFewPacketsDoesNotSteal(t *testing.T) {
	m := newTestManager(t)
	sdp, real, stranger := newPeer(t), newPeer(t), newPeer(t)
	caller, seat, seatPeer := bridged(t, m, sdp.addr())

	// In the window, a stranger's short burst, then the NAT peer's
	// stream: the peer is learnt, the stranger's packets went nowhere.
	stranger.sendN(caller, learnPackets-1)
	real.sendN(caller, learnPackets)
	waitFor(t, "the NAT peer learnt", func() bool { return caller.Stats().Remote == real.addr() })
	seatPeer.recv()
	// Packets of one source alternating SSRCs are not consecutive either.
	other := newPeer(t)
	for i := range 2 * learnPackets {
		other.ssrc = uint32(i % 2)
		other.sendN(caller, 1)
	}
	stranger.sendN(caller, 2*learnPackets)
	// dropped: the stranger's burst, the peer's probation, the alternating
	// SSRCs, the stranger once the peer is known
	waitDrops(t, m, DropSource, uint64(learnPackets-1+learnPackets-1+2*learnPackets+2*learnPackets))
	if caller.Stats().Remote != real.addr() {
		t.Fatalf("peer %s, want %s", caller.Stats().Remote, real.addr())
	}
	seatPeer.sendRTP(seat.LocalAddr(), PCMU.PayloadType, true, silence)
	real.recv()
	stranger.expectNothing(50 * time.Millisecond)
	other.expectNothing(10 * time.Millisecond)
}

func TestLatchUpdateOpensNewWindow(t *testing.T) {
	m := newTestManager(t)
	sdp, moved, real := newPeer(t), newPeer(t), newPeer(t)
	s := newTestSession(t, m, SessionConfig{Params: Params{Remote: sdp.addr()}})
	sdp.sendN(s, 1)
	waitFor(t, "the SDP peer learnt", func() bool { return s.Stats().Remote == sdp.addr() })
	closeWindow(s)

	// A re-INVITE moves the peer: output goes to the new address, the old
	// one is forgotten, and a NAT source is learnt again in the new window.
	s.Update(Params{Remote: moved.addr()})
	if st := s.Stats(); st.Remote.IsValid() {
		t.Errorf("learnt address %s kept after a new remote", st.Remote)
	}
	s.Play(framePrompt(1, 0), true, nil)
	moved.recv()
	real.sendN(s, learnPackets)
	waitFor(t, "the new NAT peer learnt", func() bool { return s.Stats().Remote == real.addr() })
	real.recv()
	sdp.sendN(s, 1) // the old address is a stranger now
	waitDrops(t, m, DropSource, learnPackets)
	if s.Stats().Remote != real.addr() {
		t.Fatalf("old address took the session back")
	}
	// An Update that keeps the address (a codec change) keeps the peer.
	s.Update(Params{Remote: moved.addr(), Codec: PCMA})
	if s.Stats().Remote != real.addr() {
		t.Fatalf("codec change forgot the peer")
	}
}

func TestStrangerCannotInjectDTMF(t *testing.T) {
	m := newTestManager(t)
	sdp, stranger := newPeer(t), newPeer(t)
	digits := make(chan rune, 64)
	s := newTestSession(t, m, SessionConfig{
		Params: Params{Remote: sdp.addr(), DTMF: testDTMFPT},
		OnDTMF: func(d rune) { digits <- d },
	})
	sdp.sendN(s, 1)
	waitFor(t, "the SDP peer learnt", func() bool { return s.Stats().Remote == sdp.addr() })
	for i := range 3 * learnPackets {
		stranger.ts = uint32(5000 + 800*i)
		stranger.sendRTP(s.LocalAddr(), testDTMFPT, true, eventPayload(uint8(i%10), i%2 == 1, 160))
	}
	waitDrops(t, m, DropSource, 3*learnPackets)
	sdp.ts = 90000
	sdp.sendRTP(s.LocalAddr(), testDTMFPT, true, eventPayload(11, false, 160))
	if d := waitChan(t, "the peer's digit", digits); d != '#' {
		t.Fatalf("digit %q, want the peer's '#' (none of the stranger's)", d)
	}
	if n := m.Stats().DTMFEvents; n != 1 {
		t.Errorf("DTMFEvents %d, want 1", n)
	}
}

// freePorts finds n consecutive free UDP ports on 127.0.0.1 starting at an
// even one (checked by binding them, then released).
func freePorts(t *testing.T, n int) int {
	t.Helper()
	for range 200 {
		port := 20000 + 2*rand.IntN(10000)
		var conns []*net.UDPConn
		for p := port; p < port+n; p++ {
			c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
			if err != nil {
				break
			}
			conns = append(conns, c)
		}
		for _, c := range conns {
			_ = c.Close()
		}
		if len(conns) == n {
			return port
		}
	}
	t.Fatalf("no %d free ports found", n)
	return 0
}

func TestPortRangeQuarantineAndFull(t *testing.T) {
	base := freePorts(t, 6)
	m, err := NewManager(Config{Address: netip.MustParseAddr("127.0.0.1"), PortMin: base - 1, PortMax: base + 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	range3 := []uint16{uint16(base), uint16(base + 2), uint16(base + 4)}
	a := newTestSession(t, m, SessionConfig{})
	b := newTestSession(t, m, SessionConfig{})
	// The released port is quarantined while another is free.
	_ = a.Close()
	c := newTestSession(t, m, SessionConfig{})
	got := []uint16{a.LocalAddr().Port(), b.LocalAddr().Port(), c.LocalAddr().Port()}
	if slices.Sort(got); !slices.Equal(got, range3) {
		t.Fatalf("ports %v, want %v (a's port not reused while another is free)", got, range3)
	}
	// When the quarantined port is all that is left, it is used.
	d := newTestSession(t, m, SessionConfig{})
	if d.LocalAddr().Port() != a.LocalAddr().Port() {
		t.Errorf("port %d, want the last free one %d", d.LocalAddr().Port(), a.LocalAddr().Port())
	}
	if _, err := m.NewSession(SessionConfig{}); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("fourth session: %v, want ErrNoPorts", err)
	}
	// A port someone else holds is skipped.
	_ = b.Close()
	hold, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(b.LocalAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	if _, err := m.NewSession(SessionConfig{}); !errors.Is(err, ErrNoPorts) {
		t.Errorf("with the other port taken: %v, want ErrNoPorts", err)
	}
}

func TestPortsAreRandom(t *testing.T) {
	const span = 400
	base := freePorts(t, 2)
	m, err := NewManager(Config{Address: netip.MustParseAddr("127.0.0.1"), PortMin: base, PortMax: base + span})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	var ports []int
	for range 8 {
		s := newTestSession(t, m, SessionConfig{})
		p := int(s.LocalAddr().Port())
		if p%2 != 0 || p < base || p > base+span {
			t.Fatalf("port %d outside the even ports of %d-%d", p, base, base+span)
		}
		ports = append(ports, p)
	}
	// In order, each would be the last plus 2 (a guessable next port).
	steps := 0
	for i := 1; i < len(ports); i++ {
		if ports[i] == ports[i-1]+2 {
			steps++
		}
	}
	if steps > 2 {
		t.Errorf("ports %v follow each other: handed out in order", ports)
	}
}
