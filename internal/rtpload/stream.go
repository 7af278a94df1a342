package rtpload

import (
	"encoding/binary"
	"net/netip"
	"sync/atomic"
)

// Frame layout of the payload a generator sends (160 bytes, one 20 ms G.711
// frame): magic, side, stream index and counter up front, silence after.
const (
	frameBytes   = 160
	samplesFrame = 160
	magic        = 0x484c4247 // "HLBG"
	tagBytes     = 13
	headerBytes  = 12
)

// stream is one call's media on one side: where the engine's leg is, what
// was sent to it, and what arrived on the other side from it.
type stream struct {
	dest netip.AddrPort // written once before the stream is published
	ssrc uint32
	seq  uint16
	sent atomic.Uint32 // frames sent; the next counter value

	// Written by the other side's reader only.
	received  atomic.Uint32 // tagged frames of this stream that came out of the relay
	firstSeen atomic.Uint32 // counter of the first one + 1 (0: none yet)
	lastSeen  atomic.Uint32 // highest counter seen
}

// tag writes the frame's identity into the payload.
func tag(p []byte, side side, index, counter uint32) {
	binary.BigEndian.PutUint32(p[0:], magic)
	p[4] = byte(side)
	binary.BigEndian.PutUint32(p[5:], index)
	binary.BigEndian.PutUint32(p[9:], counter)
}

// untag reads a frame's identity; ok is false for frames the generator did
// not send (the engine's prompts and music).
func untag(p []byte) (s side, index, counter uint32, ok bool) {
	if len(p) < tagBytes || binary.BigEndian.Uint32(p) != magic || p[4] > byte(seatSide) {
		return 0, 0, 0, false
	}
	return side(p[4]), binary.BigEndian.Uint32(p[5:]), binary.BigEndian.Uint32(p[9:]), true
}

// note counts one relayed frame of the stream.
func (st *stream) note(counter uint32) {
	st.received.Add(1)
	st.firstSeen.CompareAndSwap(0, counter+1)
	for {
		last := st.lastSeen.Load()
		if counter <= last || st.lastSeen.CompareAndSwap(last, counter) {
			return
		}
	}
}

// lost is how many frames sent after the first one that came through never
// arrived (tail included): only meaningful once sending has stopped and the
// relay drained.
func (st *stream) lost() uint64 {
	first := st.firstSeen.Load()
	if first == 0 {
		return 0
	}
	expected := uint64(st.sent.Load()) - uint64(first-1)
	got := uint64(st.received.Load())
	if got >= expected {
		return 0
	}
	return expected - got
}
