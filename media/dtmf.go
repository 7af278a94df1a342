package media

import (
	"encoding/binary"
	"errors"
	"fmt"
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

// dtmfReceiver reports each received event once: all packets of an event
// (start, refreshes, the retransmitted end packets) share its timestamp
// (RFC 4733 §2.5.2), so an event is new when its SSRC or timestamp is.
// Reporting at the first packet seen keeps the digit even if every end
// packet is lost. Used by the reader goroutine only.
type dtmfReceiver struct {
	seen     bool
	ssrc, ts uint32
}

func (r *dtmfReceiver) observe(ssrc, ts uint32, payload []byte) (rune, bool) {
	ev, err := parseTelephoneEvent(payload)
	if err != nil {
		return 0, false
	}
	if r.seen && r.ssrc == ssrc && r.ts == ts {
		return 0, false
	}
	r.seen, r.ssrc, r.ts = true, ssrc, ts
	return eventDigit(ev.Event)
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
	defer s.txMu.Unlock()
	if !s.tx.push(queuedDigit{event: ev, packets: packets}) {
		return ErrDTMFQueue
	}
	s.txState.Store(s.tx.state())
	return nil
}

// tickDTMF sends the DTMF sender's packet for this tick; false when it
// had none (the player may send instead).
func (s *Session) tickDTMF(now time.Duration) bool {
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
		s.drop()
		return true
	}
	var payload [telephoneEventSize]byte
	ev.marshalTo(payload[:])
	s.sendEvent(payload[:], first, pt, ev.Duration, now)
	return true
}
