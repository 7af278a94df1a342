package media

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
)

// TestPacerSendPaths plays a prompt on each send path of the pacer: the
// peer must get the same stream from the session's own address and port
// either way (symmetric RTP), and its replies must reach the session.
func TestPacerSendPaths(t *testing.T) {
	for _, unbatched := range []bool{false, true} {
		m, err := NewManager(Config{Address: netip.MustParseAddr("127.0.0.1"), UnbatchedSends: unbatched})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Close() })
		if unbatched && m.Batched() {
			t.Fatal("UnbatchedSends set, but the pacer batches")
		}
		t.Logf("UnbatchedSends %v: pacer batched %v", unbatched, m.Batched())
		p := newPeer(t)
		s := newTestSession(t, m, SessionConfig{Params: Params{Remote: p.addr(), Codec: PCMU}})
		prompt := framePrompt(5, -3000)
		s.Play(prompt, false, nil)
		var seq0 uint16
		for i := range 5 {
			pkt, from := p.recv()
			if from != s.LocalAddr() {
				t.Fatalf("batched %v: packet from %s, session is %s", m.Batched(), from, s.LocalAddr())
			}
			if i == 0 {
				seq0 = pkt.SequenceNumber
			}
			if pkt.SequenceNumber != seq0+uint16(i) || string(pkt.Payload) != string(prompt.frame(PCMU, i)) {
				t.Fatalf("batched %v: packet %d: seq %d, or the wrong frame", m.Batched(), i, pkt.SequenceNumber)
			}
		}
		p.sendRTP(s.LocalAddr(), PCMU.PayloadType, true, make([]byte, 160))
		waitFor(t, "the reply on the session's socket", func() bool { return s.packetsIn.Load() == 1 })
	}
}

// TestUDPChecksum checks the raw packets' checksum against RFC 768: the
// one's complement sum over the pseudo-header and the datagram, checksum
// included, is all ones.
func TestUDPChecksum(t *testing.T) {
	src, dst := [4]byte{127, 0, 0, 1}, [4]byte{10, 1, 2, 3}
	for _, n := range []int{0, 1, 160, 171} {
		u := make([]byte, 8+n)
		binary.BigEndian.PutUint16(u[0:], 20000)
		binary.BigEndian.PutUint16(u[2:], 5004)
		binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
		for i := 8; i < len(u); i++ {
			u[i] = byte(i * 37)
		}
		binary.BigEndian.PutUint16(u[6:], udpChecksum(src, dst, u))
		pseudo := []byte{src[0], src[1], src[2], src[3], dst[0], dst[1], dst[2], dst[3], 0, 17, byte(len(u) >> 8), byte(len(u))}
		if s := onesSum(append(pseudo, u...)); s != 0xffff {
			t.Errorf("%d bytes of payload: sum %#x, want 0xffff", n, s)
		}
	}
}

func onesSum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}

// pacerRig is n sessions playing a looped prompt to one draining peer,
// ticked by the test (its manager's own pacer is stopped) through b.
type pacerRig struct {
	m        *Manager
	sessions []*Session
	b        *sendBatch
	now      time.Duration
}

func newPacerRig(tb testing.TB, n int, batched bool) *pacerRig {
	tb.Helper()
	m := newTestManager(tb)
	close(m.done) // the rig ticks, not the pacer
	m.pacing.Wait()
	m.done = make(chan struct{})
	sink := newPeer(tb)
	_ = sink.conn.SetReadBuffer(8 << 20)
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := sink.conn.ReadFromUDPAddrPort(buf); err != nil {
				return
			}
		}
	}()
	r := &pacerRig{m: m}
	if batched {
		b, err := newSendBatch()
		if err != nil {
			tb.Skipf("no raw socket here: %v", err)
		}
		tb.Cleanup(b.close)
		r.b = b
	}
	prompt := framePrompt(50, 0)
	for range n {
		s := newTestSession(tb, m, SessionConfig{Params: Params{Remote: sink.addr(), Codec: PCMA}})
		s.Play(prompt, true, nil)
		r.sessions = append(r.sessions, s)
	}
	return r
}

// tick is one pacer tick of every session, sent.
func (r *pacerRig) tick() {
	r.now += frameInterval
	for _, s := range r.sessions {
		s.tick(r.now, r.b)
	}
	if r.b != nil {
		r.b.flush()
	}
}

// TestPacerBatchAllocs: a batched tick of 300 playing sessions allocates
// nothing.
func TestPacerBatchAllocs(t *testing.T) {
	r := newPacerRig(t, 300, true)
	r.tick()
	if a := testing.AllocsPerRun(20, r.tick); a != 0 {
		t.Errorf("%v allocations per tick of 300 sessions", a)
	}
	var out uint64
	for _, s := range r.sessions {
		out += s.packetsOut.Load()
	}
	if out != 300*22 {
		t.Errorf("%d packets counted sent, want %d", out, 300*22)
	}
}

// BenchmarkPacerTick is the pacer's cost per packet sent: 1,000 sessions
// each playing a prompt, one tick per 1,000 ops, sent one sendto per
// packet or batched into sendmmsg on a raw socket.
func BenchmarkPacerTick(b *testing.B) {
	for _, batched := range []bool{false, true} {
		name := "sendto"
		if batched {
			name = "sendmmsg"
		}
		b.Run(name, func(b *testing.B) {
			const n = 1000
			r := newPacerRig(b, n, batched)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += n {
				r.tick()
			}
		})
	}
}
