package media

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// Sources a fuzzed packet can come from: the SDP address, a NAT address
// of the same phone (its SIP peer address), and a stranger.
var latchSources = [3]netip.AddrPort{
	netip.MustParseAddrPort("127.0.0.1:40000"),
	netip.MustParseAddrPort("127.0.0.2:51000"),
	netip.MustParseAddrPort("127.0.0.3:62000"),
}

// latchStep is one fuzzed packet: its source, how long after the previous
// one it arrives, and its bytes.
type latchStep struct {
	src  int
	gap  time.Duration
	data []byte
}

// latchSteps cuts fuzz input into steps: a header byte (source in bits
// 0-1, gap in 100 ms units in bits 2-7), a length byte, then the packet.
func latchSteps(in []byte) []latchStep {
	var out []latchStep
	for len(in) >= 2 && len(out) < 64 {
		h, n := in[0], int(in[1])
		in = in[2:]
		n = min(n, len(in))
		out = append(out, latchStep{src: int(h&3) % len(latchSources), gap: time.Duration(h>>2) * 100 * time.Millisecond, data: in[:n]})
		in = in[n:]
	}
	return out
}

// latchSeed encodes steps of valid PCMU packets from src with one SSRC.
func latchSeed(steps ...[3]int) []byte {
	var out []byte
	for i, st := range steps {
		b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: PCMU.PayloadType, SequenceNumber: uint16(i), Timestamp: uint32(160 * i), SSRC: uint32(st[2])}, Payload: silence[:20]}).Marshal()
		out = append(out, byte(st[0])|byte(st[1])<<2, byte(len(b)))
		out = append(out, b...)
	}
	return out
}

// FuzzLatch drives the packet path (validation, latch, DTMF) with
// sequences of packets from the SDP address, a NAT address and a stranger,
// at fuzzed times. Whatever arrives: nothing panics; once a source is
// learnt it never changes; a source other than the SDP address is learnt
// only within the learning window and after learnPackets packets from it,
// and the stranger never.
func FuzzLatch(f *testing.F) {
	f.Add(latchSeed([3]int{0, 0, 7}, [3]int{2, 0, 9}))
	f.Add(latchSeed([3]int{1, 0, 5}, [3]int{1, 0, 5}, [3]int{1, 0, 5}, [3]int{1, 0, 5}, [3]int{2, 0, 5}))
	f.Add(latchSeed([3]int{2, 40, 1}, [3]int{2, 0, 1}, [3]int{2, 0, 1}, [3]int{2, 0, 1}, [3]int{2, 0, 1}))
	f.Add(latchSeed([3]int{1, 0, 5}, [3]int{2, 0, 5}, [3]int{1, 0, 5}, [3]int{1, 0, 6}, [3]int{1, 0, 6}))
	f.Add([]byte{0, 12, 0x80, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 4, 0x80, 101, 0, 1})
	m := newTestManager(f)
	s := newTestSession(f, m, SessionConfig{Params: Params{Remote: latchSources[0], DTMF: testDTMFPT}})
	s.SetSignal(latchSources[1].Addr())
	var pkt rtp.Packet
	f.Fuzz(func(t *testing.T, in []byte) {
		// A fresh latch on the same session: the window opens now.
		start := m.now()
		s.learned.Store(nil)
		s.learnFrom.Store(int64(start))
		s.learnGen.Add(1)
		s.rx = dtmfReceiver{}
		now := start
		var learnt *netip.AddrPort
		var sent [len(latchSources)]int // valid packets per source, in the window
		for _, st := range latchSteps(in) {
			now += st.gap
			src := latchSources[st.src]
			if now-start <= learnWindow && len(st.data) >= 12 && pkt.Unmarshal(st.data) == nil {
				sent[st.src]++
			}
			s.handlePacket(&pkt, st.data, src, now)
			cur := s.learned.Load()
			switch {
			case learnt != nil && (cur == nil || *cur != *learnt):
				t.Fatalf("the peer %v changed to %v", *learnt, cur)
			case learnt == nil && cur != nil:
				learnt = cur
				i := 0
				for i < len(latchSources) && latchSources[i] != *cur {
					i++
				}
				if i == len(latchSources) {
					t.Fatalf("learnt %v, which sent nothing", *cur)
				}
				if i == 2 || i != 0 && sent[i] < learnPackets {
					t.Fatalf("learnt %v after %d packets in the window", *cur, sent[i])
				}
			}
		}
	})
}
