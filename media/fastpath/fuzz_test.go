package fastpath

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// fuzzRig is one leg in the kernel map with its four sockets, shared by
// the fuzz target's runs.
type fuzzRig struct {
	p                        *Path
	peerA, legA, legB, peerB *net.UDPConn
	leg                      Leg
	buf                      []byte
}

var (
	rigOnce sync.Once
	rig     *fuzzRig
	rigErr  error
)

// FuzzKernelRelay sends arbitrary datagrams from a leg's peer to the leg's
// port. Each must come out exactly once: at the other leg's peer,
// rewritten as the relay would (a plain RTP packet of the leg's payload
// type and SSRC: only SSRC, sequence number and timestamp differ), or at
// the leg's own socket, untouched (everything else).
func FuzzKernelRelay(f *testing.F) {
	f.Add(rtpPacket(1, 160, 0x1111, 8))                            // relayed
	f.Add(rtpPacket(65535, 0xffffffff, 0x1111, 8|0x80))            // marker, wrapping seq and ts: relayed
	f.Add(rtpPacket(1, 160, 0x2222, 8))                            // another SSRC
	f.Add(rtpPacket(1, 160, 0x1111, 101))                          // an event
	f.Add(append([]byte{0x90}, rtpPacket(1, 1, 0x1111, 8)[1:]...)) // an extension bit
	f.Add(append([]byte{0xa0}, rtpPacket(1, 1, 0x1111, 8)[1:]...)) // padding
	f.Add([]byte{0x80, 8, 0, 1, 0, 0, 0, 1, 0, 0, 0x11})           // 11 bytes: too short
	f.Add(rtpPacket(1, 1, 0x1111, 8)[:12])                         // header only
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1400 {
			return
		}
		r := openRig(t)
		if _, err := r.peerA.WriteToUDPAddrPort(data, r.leg.Local); err != nil {
			t.Fatal(err)
		}
		got, relayed := r.next(t, data)
		plain := len(data) >= 12 && data[0] == 0x80 && data[1]&0x7f == r.leg.PT &&
			binary.BigEndian.Uint32(data[8:]) == r.leg.InSSRC
		if relayed != plain {
			t.Fatalf("% x: relayed %v, plain %v", data, relayed, plain)
		}
		if !relayed {
			if !bytes.Equal(got, data) {
				t.Fatalf("% x reached the socket as % x", data, got)
			}
			return
		}
		want := bytes.Clone(data)
		binary.BigEndian.PutUint16(want[2:], binary.BigEndian.Uint16(data[2:])+r.leg.SeqOff)
		binary.BigEndian.PutUint32(want[4:], binary.BigEndian.Uint32(data[4:])+r.leg.TSOff)
		binary.BigEndian.PutUint32(want[8:], r.leg.OutSSRC)
		if !bytes.Equal(got, want) {
			t.Fatalf("% x relayed as % x, want % x", data, got, want)
		}
	})
}

// openRig opens the shared rig once; where the kernel path cannot load the
// target skips (and says why).
func openRig(t *testing.T) *fuzzRig {
	rigOnce.Do(func() {
		p, err := Open(netip.MustParseAddr("127.0.0.1"))
		if err != nil {
			rigErr = err
			return
		}
		c := make([]*net.UDPConn, 4)
		for i := range c {
			if c[i], err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0"))); err != nil {
				rigErr = err
				return
			}
		}
		r := &fuzzRig{p: p, peerA: c[0], legA: c[1], legB: c[2], peerB: c[3], buf: make([]byte, 2048)}
		r.leg = Leg{Local: ap(r.legA), Remote: ap(r.peerA), OutLocal: ap(r.legB), OutRemote: ap(r.peerB),
			InSSRC: 0x1111, OutSSRC: 0x7777, SeqOff: 40000, TSOff: 0x80000000, PT: 8}
		rigErr = p.Put(r.leg)
		rig = r
	})
	if rigErr != nil {
		t.Skipf("kernel fast path unavailable here: %v", rigErr)
	}
	return rig
}

// next returns the one datagram that came out, and whether it was relayed
// (true: at the other leg's peer, from the other leg's port).
func (r *fuzzRig) next(t *testing.T, sent []byte) ([]byte, bool) {
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		for _, c := range []*net.UDPConn{r.peerB, r.legA} {
			_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
			n, from, err := c.ReadFromUDPAddrPort(r.buf)
			if err != nil {
				continue
			}
			if c == r.peerB && from != r.leg.OutLocal {
				t.Fatalf("relayed from %s, want %s", from, r.leg.OutLocal)
			}
			return bytes.Clone(r.buf[:n]), c == r.peerB
		}
	}
	t.Fatalf("% x came out nowhere", sent)
	return nil, false
}
