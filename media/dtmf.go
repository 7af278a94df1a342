package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// DTMF errors.
var (
	ErrNoDTMF    = errors.New("media: no telephone-event payload type negotiated")
	ErrBadDigit  = errors.New("media: not a DTMF digit")
	ErrDTMFQueue = errors.New("media: too many DTMF digits queued")
)

// telephoneEvent is the RFC 4733 §2.3 payload:
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     event     |E|R| volume    |          duration             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type telephoneEvent struct {
	Event    uint8
	End      bool
	Volume   uint8 // -dBm0, 0..63
	Duration uint16
}

const telephoneEventSize = 4

var errShortEvent = errors.New("media: telephone-event payload shorter than 4 bytes")

// parseTelephoneEvent decodes the first event of an RFC 4733 payload; the
// reserved bit is ignored (§2.3.3), extra bytes too.
func parseTelephoneEvent(b []byte) (telephoneEvent, error) {
	if len(b) < telephoneEventSize {
		return telephoneEvent{}, errShortEvent
	}
	return telephoneEvent{
		Event:    b[0],
		End:      b[1]&0x80 != 0,
		Volume:   b[1] & 0x3F,
		Duration: binary.BigEndian.Uint16(b[2:4]),
	}, nil
}

// marshalTo writes e into b, which has room for telephoneEventSize bytes.
func (e telephoneEvent) marshalTo(b []byte) {
	b[0] = e.Event
	b[1] = e.Volume & 0x3F
	if e.End {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:4], e.Duration)
}

// eventDuration is the duration field of an event payload of >= 4 bytes.
func eventDuration(b []byte) uint16 { return binary.BigEndian.Uint16(b[2:4]) }

// dtmfDigits maps RFC 4733 §3.2 event codes 0-15 to digits.
const dtmfDigits = "0123456789*#ABCD"

// eventDigit returns the DTMF digit of event code ev.
func eventDigit(ev uint8) (rune, bool) {
	if int(ev) >= len(dtmfDigits) {
		return 0, false
	}
	return rune(dtmfDigits[ev]), true
}

// digitEvent returns the event code of a DTMF digit (A-D also lower case).
func digitEvent(d rune) (uint8, bool) {
	if d >= 'a' && d <= 'd' {
		d -= 'a' - 'A'
	}
	for i, c := range dtmfDigits {
		if c == d {
			return uint8(i), true
		}
	}
	return 0, false
}

// Limits on received RFC 4733 events, per session. People key at most
// about 10 digits a second (ITU-T Q.24: 40 ms tone, 40 ms pause at the
// fastest), so a faster stream is a flood: events over the rate or the
// cap report no digit and are not relayed (DropDTMF).
const (
	dtmfRecent    = 8                     // events remembered, to know late and redundant packets
	dtmfInterval  = 80 * time.Millisecond // the sustained rate: one event per interval
	dtmfBurst     = 16                    // events that may come faster, back to back
	dtmfMaxEvents = 256                   // events reported in a session's life
	dtmfLogEvery  = 10 * time.Second      // rate limit of the "over the limit" log
)

// rxEvent is one received event, known by its SSRC and timestamp.
type rxEvent struct {
	ssrc, ts uint32
	code     uint8
	dur      uint16 // longest duration seen
	end      bool   // an end packet was seen
	dropped  bool   // over the limits: its packets are dropped
}

// dtmfReceiver reports each received event once: all packets of an event
// (start, refreshes, the retransmitted end packets) share its timestamp
// (RFC 4733 §2.5.2), so an event is new when its SSRC and timestamp are
// not among the last dtmfRecent events (late or reordered packets of an
// older event repeat nothing). A long event that goes on under a new
// timestamp (§2.5.1.3: the duration field is full) is the same digit.
// Reporting at the first packet seen keeps the digit even if every end
// packet is lost. New events pass a rate limit (GCRA: dtmfInterval,
// dtmfBurst) and a cap (dtmfMaxEvents). Used by the reader goroutine only.
type dtmfReceiver struct {
	recent    [dtmfRecent]rxEvent
	n, last   int           // events in recent; index of the newest
	tat       time.Duration // GCRA: theoretical arrival time of the next event
	events    int           // events admitted so far
	limitedAt time.Duration // package clock of the last "over the limits" log
	limitLogs bool
}

// observe takes one telephone-event packet: digit and report tell the
// digit to report (once per event), pass whether the packet may be relayed.
func (r *dtmfReceiver) observe(ssrc, ts uint32, payload []byte, now time.Duration) (digit rune, report, pass bool) {
	ev, err := parseTelephoneEvent(payload)
	if err != nil {
		return 0, false, true // not an event: the relay refuses it
	}
	if e := r.find(ssrc, ts); e != nil {
		e.end = e.end || ev.End
		e.dur = max(e.dur, ev.Duration)
		return 0, false, !e.dropped
	}
	if r.n > 0 {
		if prev := &r.recent[r.last]; prev.continuedBy(ssrc, ts, ev.Event) {
			r.add(rxEvent{ssrc: ssrc, ts: ts, code: ev.Event, dur: ev.Duration, end: ev.End, dropped: prev.dropped})
			return 0, false, !prev.dropped
		}
	}
	e := rxEvent{ssrc: ssrc, ts: ts, code: ev.Event, dur: ev.Duration, end: ev.End, dropped: !r.admit(now)}
	r.add(e)
	if e.dropped {
		return 0, false, false
	}
	digit, report = eventDigit(ev.Event)
	return digit, report, true
}

// find returns the remembered event of ssrc and ts, or nil.
func (r *dtmfReceiver) find(ssrc, ts uint32) *rxEvent {
	for i := range r.n {
		if e := &r.recent[i]; e.ssrc == ssrc && e.ts == ts {
			return e
		}
	}
	return nil
}

// continuedBy tells whether an event at ts with code continues e: same
// source and code, e not ended, its duration near full, and ts where e's
// duration ends (one frame either way).
func (e *rxEvent) continuedBy(ssrc, ts uint32, code uint8) bool {
	if e.ssrc != ssrc || e.code != code || e.end || e.dur < 0xFFFF-8*samplesPerFrame {
		return false
	}
	d := int64(ts-e.ts) - int64(e.dur)
	return d >= -samplesPerFrame && d <= samplesPerFrame
}

func (r *dtmfReceiver) add(e rxEvent) {
	if r.n < len(r.recent) {
		r.last = r.n
		r.n++
	} else {
		r.last = (r.last + 1) % len(r.recent)
	}
	r.recent[r.last] = e
}

// admit counts a new event against the rate limit and the cap.
func (r *dtmfReceiver) admit(now time.Duration) bool {
	if r.events >= dtmfMaxEvents {
		return false
	}
	tat := max(r.tat, now)
	if tat-now > (dtmfBurst-1)*dtmfInterval {
		return false
	}
	r.tat = tat + dtmfInterval
	r.events++
	return true
}

// logLimited logs, at most every dtmfLogEvery, that events over the limits
// are dropped.
func (r *dtmfReceiver) logLimited(log *slog.Logger, now time.Duration) {
	if r.limitLogs && now-r.limitedAt < dtmfLogEvery {
		return
	}
	r.limitLogs, r.limitedAt = true, now
	log.Warn("rtp dtmf over the limits, events dropped", "events", r.events, "max", dtmfMaxEvents)
}

// DTMF sender shape (RFC 4733 §2.5.1): a packet every 20 ms with the
// duration so far, then the end packet sent three times (§2.5.1.4), then a
// pause before the next queued digit.
const (
	dtmfVolume     = 10 // -10 dBm0
	dtmfEndCopies  = 3
	dtmfGapTicks   = 3 // 60 ms between digits
	dtmfMinPackets = 2
	dtmfMaxPackets = 250 // 5 s; the 16-bit duration field holds 8.19 s
	dtmfQueueSize  = 32
)

// txState values: what the pacer must do about the DTMF sender.
const (
	txIdle    uint32 = iota // nothing queued
	txPending               // digits queued or a pause running
	txSending               // an event is on air: relay to this session pauses
)

type queuedDigit struct {
	event   uint8
	packets int
}

// dtmfSender queues digits and yields one event packet per pacer tick.
// Guarded by Session.txMu.
type dtmfSender struct {
	queue      [dtmfQueueSize]queuedDigit
	head, size int
	cur        queuedDigit
	active     bool
	sent, ends int
	gap        int
}

func (t *dtmfSender) push(d queuedDigit) bool {
	if t.size == len(t.queue) {
		return false
	}
	t.queue[(t.head+t.size)%len(t.queue)] = d
	t.size++
	return true
}

// next returns the event packet for this tick, if any, and whether it is
// the first packet of its event.
func (t *dtmfSender) next() (ev telephoneEvent, first, ok bool) {
	if !t.active {
		if t.gap > 0 {
			t.gap--
			return ev, false, false
		}
		if t.size == 0 {
			return ev, false, false
		}
		t.cur, t.active, t.sent, t.ends = t.queue[t.head], true, 0, 0
		t.head = (t.head + 1) % len(t.queue)
		t.size--
	}
	ev = telephoneEvent{Event: t.cur.event, Volume: dtmfVolume}
	if t.sent < t.cur.packets {
		t.sent++
		ev.Duration = uint16(t.sent * samplesPerFrame)
		return ev, t.sent == 1, true
	}
	t.ends++
	ev.End, ev.Duration = true, uint16(t.cur.packets*samplesPerFrame)
	if t.ends == dtmfEndCopies {
		t.active, t.gap = false, dtmfGapTicks
	}
	return ev, false, true
}

func (t *dtmfSender) state() uint32 {
	switch {
	case t.active:
		return txSending
	case t.size > 0 || t.gap > 0:
		return txPending
	}
	return txIdle
}

// SendDTMF queues digit to be sent as RFC 4733 events lasting d (clamped
// to 40 ms..5 s), paced by the shared clock; it returns at once. While an
// event is on air the player pauses and relayed audio to s is dropped.
// Errors: ErrNoDTMF without a negotiated telephone-event payload type,
// ErrBadDigit, ErrDTMFQueue when 32 digits wait, ErrClosed.
func (s *Session) SendDTMF(digit rune, d time.Duration) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if s.params.Load().DTMF == 0 {
		return ErrNoDTMF
	}
	ev, ok := digitEvent(digit)
	if !ok {
		return fmt.Errorf("%w: %q", ErrBadDigit, digit)
	}
	packets := min(max(int((d+frameInterval-1)/frameInterval), dtmfMinPackets), dtmfMaxPackets)
	s.txMu.Lock()
	if !s.tx.push(queuedDigit{event: ev, packets: packets}) {
		s.txMu.Unlock()
		return ErrDTMFQueue
	}
	s.txState.Store(s.tx.state())
	s.txMu.Unlock()
	s.kernelRecheck() // the digit wins over a relay into s: that relay leaves the kernel
	return nil
}

// tickDTMF sends the DTMF sender's packet for this tick; false when it
// had none (the player may send instead).
func (s *Session) tickDTMF(now time.Duration, b *sendBatch) bool {
	if s.txState.Load() == txIdle {
		return false
	}
	s.txMu.Lock()
	ev, first, ok := s.tx.next()
	s.txState.Store(s.tx.state())
	s.txMu.Unlock()
	if !ok {
		return false
	}
	pt := s.params.Load().DTMF
	if pt == 0 {
		s.drop(DropOutput)
		return true
	}
	var payload [telephoneEventSize]byte
	ev.marshalTo(payload[:])
	s.sendEvent(b, payload[:], first, pt, ev.Duration, now)
	return true
}
