package media

import (
	"math/rand/v2"
	"time"

	"github.com/pion/rtp"
)

// maxPacket bounds one RTP packet read or written (Ethernet MTU).
const maxPacket = 1500

// sourceKind says what feeds a session's output stream.
type sourceKind uint8

const (
	srcNone sourceKind = iota
	srcPlayer
	srcDTMF
	srcRelay
	srcRoom
)

// source identifies one input of the output stream; a change of source
// (including a new SSRC from the same relayed leg) starts a new segment.
type source struct {
	kind sourceKind
	pl   *player  // srcPlayer: each Play is a new source
	from *Session // srcRelay: the receiving session
	ssrc uint32   // srcRelay: the inbound SSRC
	room *Room    // srcRoom: the room mixing for this session
}

// output is a session's single outgoing RTP stream (RFC 3550 §5.1): one
// random SSRC, sequence numbers and timestamps that continue across every
// source switch, the marker bit set on the first packet after a switch.
// Guarded by Session.outMu.
type output struct {
	hdr     rtp.Header
	buf     [maxPacket]byte
	src     source
	restart bool // set by SetDirection: next packet starts a new segment
	lastSeq uint16
	lastTs  uint32        // timestamp of the newest packet sent
	endTs   uint32        // timestamp just past the newest packet's media
	lastAt  time.Duration // package clock of the last packet
	started bool
	seqOff  uint16 // srcRelay: out = in + off
	tsOff   uint32
	eventTs uint32 // srcDTMF: timestamp of the event on air
}

func (o *output) init() {
	o.hdr = rtp.Header{Version: 2, SSRC: rand.Uint32()}
	o.lastSeq = uint16(rand.Uint32())
	o.endTs = rand.Uint32()
	o.lastTs = o.endTs
}

// switchTo makes src the current source; true when that is a change (or a
// restart), i.e. the next packet carries the marker and a new timestamp.
func (o *output) switchTo(src source) bool {
	if o.src == src && !o.restart {
		return false
	}
	o.src, o.restart = src, false
	return true
}

// startTs is the timestamp for the first packet after a switch: the media
// clock advanced by the wall time since the last packet, and at least past
// that packet's media.
func (o *output) startTs(now time.Duration) uint32 {
	if !o.started {
		return o.endTs
	}
	ts := o.lastTs + uint32((now-o.lastAt)/(time.Second/8000))
	if int32(ts-o.endTs) < 0 {
		ts = o.endTs
	}
	return ts
}

// note records a packet sent with seq and ts covering samples.
func (o *output) note(seq uint16, ts, samples uint32, now time.Duration) {
	if !o.started || int16(seq-o.lastSeq) > 0 {
		o.lastSeq = seq
	}
	if !o.started || int32(ts-o.lastTs) > 0 {
		o.lastTs = ts
	}
	if end := ts + samples; !o.started || int32(end-o.endTs) > 0 {
		o.endTs = end
	}
	o.lastAt, o.started = now, true
}

// writeLocked serializes one packet into the session's write buffer (the
// payload copied, or transcoded through table) and sends it to dest: into
// the pacer's batch b when there is one (the pacer's sends), else on the
// session's socket. It allocates nothing. Called with outMu held; false
// when nothing was sent.
func (s *Session) writeLocked(b *sendBatch, marker bool, pt uint8, seq uint16, ts uint32,
	payload []byte, table *[256]byte, samples uint32, now time.Duration) bool {
	o := &s.out
	dst := s.dest()
	if s.closed.Load() || !s.send.Load() || !dst.IsValid() {
		s.drop(DropOutput)
		return false
	}
	o.hdr.Marker, o.hdr.PayloadType, o.hdr.SequenceNumber, o.hdr.Timestamp = marker, pt, seq, ts
	n, err := o.hdr.MarshalTo(o.buf[:])
	if err != nil || n+len(payload) > len(o.buf) {
		s.drop(DropOutput)
		return false
	}
	if table == nil {
		copy(o.buf[n:], payload)
	} else {
		body := o.buf[n : n+len(payload)]
		for i, b := range payload {
			body[i] = table[b]
		}
	}
	pkt, ok := s.protect(o.buf[:n+len(payload)])
	if !ok {
		s.drop(DropOutput)
		return false
	}
	o.note(seq, ts, samples, now)
	if b != nil && b.add(s, s.LocalAddr(), dst, pkt) {
		// counted now; a flush that fails takes the counts back
	} else if _, err := s.conn.WriteToUDPAddrPort(pkt, dst); err != nil {
		s.drop(DropOutput)
		return false
	}
	s.packetsOut.Add(1)
	s.m.stats.packetsOut.Add(1)
	return true
}

// sendFrame sends one player frame: the next sequence number, the
// timestamp continuing the stream (or restarting it after a switch).
func (s *Session) sendFrame(b *sendBatch, pl *player, frame []byte, pt uint8, now time.Duration) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	o := &s.out
	marker := o.switchTo(source{kind: srcPlayer, pl: pl})
	ts := o.endTs
	if marker {
		ts = o.startTs(now)
	}
	s.writeLocked(b, marker, pt, o.lastSeq+1, ts, frame, nil, uint32(len(frame)), now)
}

// sendEvent sends one RFC 4733 packet of the DTMF sender. All packets of
// an event share its start timestamp; the first carries the marker
// (RFC 4733 §2.5.1.3).
func (s *Session) sendEvent(b *sendBatch, payload []byte, first bool, pt uint8, duration uint16, now time.Duration) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	o := &s.out
	o.switchTo(source{kind: srcDTMF})
	if first {
		o.eventTs = o.startTs(now)
	}
	s.writeLocked(b, first, pt, o.lastSeq+1, o.eventTs, payload, nil, uint32(duration), now)
}

// sendRelayed sends a packet received on session from: its sequence
// number and timestamp are shifted into this stream by offsets fixed at the
// switch to that source, so the peer's own gaps and reordering survive.
func (s *Session) sendRelayed(from *Session, h *rtp.Header, payload []byte, pt uint8,
	table *[256]byte, samples uint32, now time.Duration) bool {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	o := &s.out
	marker := h.Marker
	if o.switchTo(source{kind: srcRelay, from: from, ssrc: h.SSRC}) {
		marker = true
		o.tsOff = o.startTs(now) - h.Timestamp
		o.seqOff = o.lastSeq + 1 - h.SequenceNumber
	}
	return s.writeLocked(nil, marker, pt, h.SequenceNumber+o.seqOff, h.Timestamp+o.tsOff, payload, table, samples, now)
}
