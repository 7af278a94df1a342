package media

import (
	"sync"
	"sync/atomic"
	"time"
)

// jitterFrames is how many frames a leg's inbound queue holds for the
// mixer: enough to absorb a packet arriving just before or after a tick,
// and at most 60 ms of delay. A fuller queue drops its oldest frame.
const jitterFrames = 3

// mixPlan is what the pacer mixes: the legs and, for each, the mask of the
// legs it hears (bit j: legs[j]). Immutable once stored in Room.plan.
type mixPlan struct {
	legs  []*roomLeg
	hears []uint32
}

// roomLeg is one session's part of a room's mixing: the frames its reader
// goroutine queues (guarded by mu, held alone) and the pacer's buffers.
type roomLeg struct {
	s    *Session
	gone atomic.Bool // removed from the room: the pacer skips it

	mu    sync.Mutex // guards queue, head, n: reader goroutine vs pacer
	queue [jitterFrames][samplesPerFrame]int16
	head  int
	n     int

	// pacer goroutine only
	cur  [samplesPerFrame]int16 // this tick's frame, decoded
	live bool                   // cur holds a fresh frame (else: silence)
	enc  [samplesPerFrame]byte  // this tick's mix for this listener, encoded
}

// mixer is a room's pacer-side state.
type mixer struct {
	acc  [samplesPerFrame]int32
	next time.Duration // package clock the next frame is due at; 0: not started
}

// owed is how many frames the room sends this tick: one on time, more
// when ticks were lost (a busy machine drops ticker ticks) so that the
// legs' queues do not overflow, none when ahead by half a frame; at most
// jitterFrames, beyond which the schedule restarts from now.
func (x *mixer) owed(now time.Duration) int {
	if x.next == 0 {
		x.next = now
	}
	d := now - x.next + frameInterval/2
	if d < 0 {
		return 0
	}
	n := int(d/frameInterval) + 1
	if n > jitterFrames {
		x.next = now + frameInterval
		return jitterFrames
	}
	x.next += time.Duration(n) * frameInterval
	return n
}

// put queues one received audio frame, decoded from codec; called on the
// session's reader goroutine. A payload shorter than a frame is padded with
// silence, a longer one cut (every peer of ours sends 20 ms).
func (l *roomLeg) put(payload []byte, codec Codec) {
	dec := &mulawDecTable
	if codec.PayloadType == PCMA.PayloadType {
		dec = &alawDecTable
	}
	l.mu.Lock()
	if l.n == jitterFrames {
		l.head = (l.head + 1) % jitterFrames
		l.n--
	}
	f := &l.queue[(l.head+l.n)%jitterFrames]
	l.n++
	n := min(len(payload), samplesPerFrame)
	for i, b := range payload[:n] {
		f[i] = dec[b]
	}
	clear(f[n:])
	l.mu.Unlock()
}

// take moves the oldest queued frame to cur; live is false (silence) when
// none came since the last tick: a leg whose packets stop is silent, never
// repeated, and never holds up the others.
func (l *roomLeg) take() {
	l.mu.Lock()
	l.live = l.n > 0
	if l.live {
		l.cur = l.queue[l.head]
		l.head = (l.head + 1) % jitterFrames
		l.n--
	}
	l.mu.Unlock()
}

// tick is the room's share of a pacer tick: for each frame owed, take
// each leg's next frame, then give every listener the sum of the legs it
// hears. It allocates nothing.
func (r *Room) tick(now time.Duration, b *sendBatch) {
	p := r.plan.Load()
	if p == nil {
		r.mix.next = 0
		return
	}
	for range r.mix.owed(now) {
		r.mixFrame(p, now, b)
	}
}

// mixFrame mixes and sends one frame for every leg of p.
func (r *Room) mixFrame(p *mixPlan, now time.Duration, b *sendBatch) {
	for _, l := range p.legs {
		l.take()
	}
	for i, l := range p.legs {
		if l.gone.Load() {
			continue
		}
		s := l.s
		if s.closed.Load() || s.failed.Load() || s.player.Load() != nil || s.txState.Load() == txSending {
			continue // the player wins, as over a relay
		}
		codec := s.params.Load().Codec
		r.mix.sum(p, p.hears[i], &l.enc, codec)
		s.sendMixed(b, r, l.enc[:], codec.PayloadType, now)
	}
}

// sum mixes the live frames of the legs in mask into out, saturating to
// int16, encoded in codec.
func (x *mixer) sum(p *mixPlan, mask uint32, out *[samplesPerFrame]byte, codec Codec) {
	clear(x.acc[:])
	for j, t := range p.legs {
		if mask&(1<<j) == 0 || !t.live || t.gone.Load() {
			continue
		}
		for k, v := range &t.cur { // a pointer: the array is not copied
			x.acc[k] += int32(v)
		}
	}
	if codec.PayloadType == PCMA.PayloadType {
		for k, v := range &x.acc {
			out[k] = alawEncTable[uint16(saturate(v))>>3]
		}
		return
	}
	for k, v := range &x.acc {
		out[k] = mulawEncTable[uint16(saturate(v))>>2]
	}
}

// saturate clamps a sum to the int16 range: loud talkers clip, they do not
// wrap around into noise.
func saturate(v int32) int16 {
	return int16(max(-32768, min(32767, v)))
}

// sendMixed sends one mixed frame on s's output stream, continuing its
// sequence and timestamps like a prompt frame; the room is a source of
// its own (marker on the switch to and from it).
func (s *Session) sendMixed(b *sendBatch, r *Room, frame []byte, pt uint8, now time.Duration) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	o := &s.out
	ts := o.endTs
	marker := o.switchTo(source{kind: srcRoom, room: r})
	if marker {
		ts = o.startTs(now)
	}
	s.writeLocked(b, marker, pt, o.lastSeq+1, ts, frame, nil, uint32(len(frame)), now)
}
