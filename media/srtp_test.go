package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

const suite80 = "AES_CM_128_HMAC_SHA1_80"

func testSRTPKey(b byte, suite string) SRTPKey {
	n := srtpSuites[suite].keyLen + srtpSaltLen
	return SRTPKey{Suite: suite, Key: bytes.Repeat([]byte{b}, n)}
}

// srtpRig is relayRig with the caller's leg (a) on SRTP, and, with
// both, the agent's leg (b) too; the test peers encrypt and decrypt with
// their own contexts into buffers made once.
type srtpRig struct {
	*relayRig
	callerOut, callerIn *srtp.Context // the caller phone's contexts
	agentOut, agentIn   *srtp.Context // the agent phone's, when b is SRTP
	sealed, plain       []byte
	hdr                 rtp.Header // the peers' scratch header
}

func newSRTPRig(tb testing.TB, suite string, both bool) *srtpRig {
	tb.Helper()
	r := &srtpRig{relayRig: newRelayRig(tb, PCMU, PCMU), sealed: make([]byte, 0, maxPacket), plain: make([]byte, 0, maxPacket)}
	ours, theirs := testSRTPKey(1, suite), testSRTPKey(2, suite)
	if err := r.a.SetSRTP(ours, theirs); err != nil {
		tb.Fatal(err)
	}
	r.callerOut, r.callerIn = mustContext(tb, theirs), mustContext(tb, ours)
	if both {
		ours, theirs = testSRTPKey(3, suite), testSRTPKey(4, suite)
		if err := r.b.SetSRTP(ours, theirs); err != nil {
			tb.Fatal(err)
		}
		r.agentOut, r.agentIn = mustContext(tb, theirs), mustContext(tb, ours)
	}
	for range 20 {
		r.roundTrip(tb)
	}
	return r
}

func mustContext(tb testing.TB, k SRTPKey) *srtp.Context {
	tb.Helper()
	c, err := newContext(k)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// next stamps the caller's next packet and seals it; the SRTP packet.
func (r *srtpRig) next(tb testing.TB) []byte {
	r.seq++
	binary.BigEndian.PutUint16(r.out[2:], r.seq)
	binary.BigEndian.PutUint32(r.out[4:], uint32(r.seq)*samplesPerFrame)
	sealed, err := r.callerOut.EncryptRTP(r.sealed[:0], r.out, &r.hdr)
	if err != nil {
		tb.Fatal(err)
	}
	r.sealed = sealed
	return sealed
}

// roundTrip sends one SRTP packet into a and reads it out of b (opened
// with the agent's key when b is SRTP).
func (r *srtpRig) roundTrip(tb testing.TB) {
	r.send(tb, r.next(tb))
	r.recvAgent(tb)
}

func (r *srtpRig) send(tb testing.TB, pkt []byte) {
	if _, err := r.caller.conn.WriteToUDPAddrPort(pkt, r.a.LocalAddr()); err != nil {
		tb.Fatal(err)
	}
}

// recvAgent reads one packet at the agent; its plain RTP.
func (r *srtpRig) recvAgent(tb testing.TB) []byte {
	n, _, err := r.agent.conn.ReadFromUDPAddrPort(r.in)
	if err != nil {
		tb.Fatal(err)
	}
	if r.agentIn == nil {
		return r.in[:n]
	}
	plain, err := r.agentIn.DecryptRTP(r.plain[:0], r.in[:n], &r.hdr)
	if err != nil {
		tb.Fatal(err)
	}
	r.plain = plain
	return plain
}

// TestSRTPRelay: an SRTP caller relayed to a plain agent and back, each
// suite: the agent gets the caller's payload in clear, the caller gets
// the agent's sealed under the caller leg's key, and on the wire it is
// not the payload.
func TestSRTPRelay(t *testing.T) {
	for _, suite := range []string{"AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32", "AES_256_CM_HMAC_SHA1_80"} {
		t.Run(suite, func(t *testing.T) {
			r := newSRTPRig(t, suite, false)
			r.send(t, r.next(t))
			var got rtp.Packet
			if err := got.Unmarshal(r.recvAgent(t)); err != nil || !bytes.Equal(got.Payload, r.out[12:]) {
				t.Fatalf("agent got %x, %v; want the caller's payload", got.Payload, err)
			}
			r.b.RelayTo(r.a)
			payload := bytes.Repeat([]byte{0x55}, samplesPerFrame)
			r.agent.sendRTP(r.b.LocalAddr(), PCMU.PayloadType, false, payload)
			if err := r.caller.conn.SetReadDeadline(time.Now().Add(waitLimit)); err != nil {
				t.Fatal(err)
			}
			n, _, err := r.caller.conn.ReadFromUDPAddrPort(r.caller.buf)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(r.caller.buf[:n], payload[:16]) {
				t.Fatal("the caller's leg sent the payload in clear")
			}
			plain, err := r.callerIn.DecryptRTP(nil, r.caller.buf[:n], nil)
			if err != nil || got.Unmarshal(plain) != nil || !bytes.Equal(got.Payload, payload) {
				t.Fatalf("caller could not open the agent's packet: %v", err)
			}
		})
	}
}

// TestSRTPStrangers: a packet with a bad auth tag, a replay, a plain RTP
// packet and a runt sent to an SRTP leg are dropped and counted, and
// never reach the other side: the next packet the agent gets is the good
// one sent after them.
func TestSRTPStrangers(t *testing.T) {
	r := newSRTPRig(t, suite80, false)
	before := r.a.m.Stats().Dropped
	good := append([]byte(nil), r.next(t)...)
	r.send(t, good)
	r.recvAgent(t)

	badTag := append([]byte(nil), r.next(t)...)
	badTag[len(badTag)-1] ^= 1
	r.send(t, badTag)    // auth
	r.send(t, good)      // replay
	r.send(t, r.out)     // plain RTP: no tag that verifies
	r.send(t, good[:14]) // too short to hold a tag
	r.out[12] = 0xee     // the good one after them, marked
	r.send(t, r.next(t))
	r.out[12] = 0
	var got rtp.Packet
	if err := got.Unmarshal(r.recvAgent(t)); err != nil || got.Payload[0] != 0xee {
		t.Fatalf("the agent's next packet is not the good one after the strangers: %x %v", got.Payload[:4], err)
	}
	after := r.a.m.Stats().Dropped
	if d := after[DropSRTPAuth] - before[DropSRTPAuth]; d < 2 {
		t.Errorf("srtp_auth drops: %d, want 2 (bad tag, plain RTP)", d)
	}
	if d := after[DropSRTPReplay] - before[DropSRTPReplay]; d != 1 {
		t.Errorf("srtp_replay drops: %d, want 1", d)
	}
	if DropSRTPAuth.String() != "srtp_auth" || DropSRTPReplay.String() != "srtp_replay" {
		t.Errorf("names: %s %s", DropSRTPAuth, DropSRTPReplay)
	}
}

func TestSetSRTPRefusesBadKeys(t *testing.T) {
	m := newTestManager(t)
	s := newTestSession(t, m, SessionConfig{})
	good := testSRTPKey(1, suite80)
	for _, k := range []SRTPKey{{Suite: "NULL", Key: good.Key}, {Suite: suite80, Key: good.Key[:20]}} {
		if err := s.SetSRTP(good, k); !errors.Is(err, ErrSRTPSuite) {
			t.Errorf("%s/%d: %v", k.Suite, len(k.Key), err)
		}
	}
	if s.Secure() {
		t.Error("a refused key turned SRTP on")
	}
}

// TestSRTPPathAllocatesNothing: SRTP on both legs (decrypt, relay,
// encrypt) allocates nothing per packet, through real sockets and on the
// handler alone.
func TestSRTPPathAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race (sync.Pool drops items)")
	}
	r := newSRTPRig(t, suite80, true)
	if n := testing.AllocsPerRun(500, func() { r.roundTrip(t) }); n != 0 {
		t.Errorf("SRTP -> SRTP over UDP: %v allocations per packet", n)
	}
}

// TestSRTPHandlerAllocatesNothing: the handler alone (decrypt, relay,
// encrypt), on sessions whose reader goroutines are idle: a rig of its
// own, warmed up over the sockets, then driven on this goroutine only.
func TestSRTPHandlerAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race (sync.Pool drops items)")
	}
	r := newSRTPRig(t, suite80, true)
	var pkt rtp.Packet
	src := r.caller.addr()
	buf := make([]byte, maxPacket)
	r.a.srtp.Store(&srtpPair{in: mustContext(t, testSRTPKey(2, suite80)), out: r.a.srtp.Load().out})
	n := testing.AllocsPerRun(1000, func() {
		sealed := r.next(t)
		data := buf[:copy(buf, sealed)]
		r.a.handlePacket(&pkt, data, src, r.a.m.now())
	})
	if n != 0 {
		t.Errorf("handlePacket with SRTP: %v allocations per packet", n)
	}
	if st := r.a.m.Stats(); st.Dropped[DropSRTPAuth]+st.Dropped[DropSRTPReplay] != 0 {
		t.Errorf("packets dropped: %v", st.Dropped)
	}
}

// BenchmarkSRTP is BenchmarkRelay's ping-pong with SRTP: plain both ways
// (the baseline), SRTP to plain (decrypt), SRTP both ways (decrypt and
// encrypt), and the per-packet cost of pion's transform alone.
func BenchmarkSRTP(b *testing.B) {
	b.Run("plain-relay", func(b *testing.B) {
		r := newRelayRig(b, PCMU, PCMU)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			r.roundTrip(b)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
	})
	for _, tc := range []struct {
		name string
		both bool
	}{{"srtp-to-plain-relay", false}, {"srtp-both-relay", true}} {
		b.Run(tc.name, func(b *testing.B) {
			r := newSRTPRig(b, suite80, tc.both)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				r.roundTrip(b)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
		})
	}
	for _, suite := range []string{suite80, "AES_256_CM_HMAC_SHA1_80"} {
		b.Run("seal-open-"+suite, func(b *testing.B) {
			enc, dec := mustContext(b, testSRTPKey(1, suite)), mustContext(b, testSRTPKey(1, suite))
			plain, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 9}, Payload: make([]byte, samplesPerFrame)}).Marshal()
			buf := make([]byte, 0, maxPacket)
			var hdr rtp.Header
			seq := uint16(0)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				seq++
				binary.BigEndian.PutUint16(plain[2:], seq)
				sealed, err := enc.EncryptRTP(buf[:0], plain, &hdr)
				if err == nil {
					_, err = dec.DecryptRTP(sealed, sealed, &hdr)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
