package media

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// relayRig is a caller peer -> session a -> (relay) -> session b -> agent
// peer path over loopback UDP, with buffers prepared so the test side
// allocates nothing per packet either.
type relayRig struct {
	caller, agent *peer
	a, b          *Session
	out, in       []byte
	seq           uint16
}

func newRelayRig(tb testing.TB, from, to Codec) *relayRig {
	m := newTestManager(tb)
	r := &relayRig{caller: newPeer(tb), agent: newPeer(tb), in: make([]byte, maxPacket)}
	r.a = newTestSession(tb, m, SessionConfig{Params: Params{Remote: r.caller.addr(), Codec: from, DTMF: 101}})
	r.b = newTestSession(tb, m, SessionConfig{Params: Params{Remote: r.agent.addr(), Codec: to, DTMF: 101}})
	r.a.RelayTo(r.b)
	payload := make([]byte, samplesPerFrame)
	for i := range payload {
		payload[i] = byte(i)
	}
	var err error
	r.out, err = (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: from.PayloadType, SSRC: 42}, Payload: payload}).Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	if err := r.agent.conn.SetReadDeadline(time.Now().Add(time.Hour)); err != nil {
		tb.Fatal(err)
	}
	for range 50 { // warm up: first packets learn addresses and switch sources
		r.roundTrip(tb)
	}
	return r
}

// roundTrip sends one packet into a and waits for it to come out of b.
func (r *relayRig) roundTrip(tb testing.TB) { r.burst(tb, 1) }

// burst sends n packets into a, then waits for the n to come out of b.
func (r *relayRig) burst(tb testing.TB, n int) {
	for range n {
		r.seq++
		binary.BigEndian.PutUint16(r.out[2:], r.seq)
		binary.BigEndian.PutUint32(r.out[4:], uint32(r.seq)*samplesPerFrame)
		if _, err := r.caller.conn.WriteToUDPAddrPort(r.out, r.a.LocalAddr()); err != nil {
			tb.Fatal(err)
		}
	}
	for range n {
		if _, _, err := r.agent.conn.ReadFromUDPAddrPort(r.in); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkRelay measures packets through the relay path: socket read,
// parse, rewrite (and transcode), socket write, over real loopback UDP. One
// op is a burst of 1 packet (latency-bound ping-pong) or 8 (closer to
// throughput); the figures include the test's own sends and receives.
func BenchmarkRelay(b *testing.B) {
	for _, tc := range []struct {
		name     string
		from, to Codec
		burst    int
	}{
		{"PCMU-PCMU", PCMU, PCMU, 1},
		{"PCMU-PCMA", PCMU, PCMA, 1},
		{"PCMU-PCMA-burst8", PCMU, PCMA, 8},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r := newRelayRig(b, tc.from, tc.to)
			b.ReportAllocs()
			for b.Loop() {
				r.burst(b, tc.burst)
			}
			b.ReportMetric(float64(b.N*tc.burst)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}

// TestRelayPathAllocatesNothing proves the steady-state packet path
// allocates nothing, through real sockets and on the handler alone.
func TestRelayPathAllocatesNothing(t *testing.T) {
	for _, codecs := range [][2]Codec{{PCMU, PCMU}, {PCMA, PCMU}} {
		r := newRelayRig(t, codecs[0], codecs[1])
		if n := testing.AllocsPerRun(500, func() { r.roundTrip(t) }); n != 0 {
			t.Errorf("%s -> %s over UDP: %v allocations per packet", codecs[0].Name, codecs[1].Name, n)
		}
	}

	r := newRelayRig(t, PCMU, PCMA)
	var pkt rtp.Packet
	event := make([]byte, len(r.out))
	copy(event, r.out)
	event[1] = 101
	telephoneEvent{Event: 3, Duration: 160}.marshalTo(event[12:])
	src := r.caller.addr()
	dtmf := false
	n := testing.AllocsPerRun(1000, func() {
		r.seq++
		data := r.out
		if dtmf = !dtmf; dtmf {
			data = event[:12+telephoneEventSize]
		}
		binary.BigEndian.PutUint16(data[2:], r.seq)
		r.a.handlePacket(&pkt, data, src, r.a.m.now())
	})
	if n != 0 {
		t.Errorf("handlePacket (audio and DTMF): %v allocations per packet", n)
	}
}
