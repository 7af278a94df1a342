package media

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
)

// Errors of the mixing room.
var (
	ErrInRoom    = errors.New("media: session already in a room")
	ErrNotInRoom = errors.New("media: session not in this room")
	ErrRoomFull  = errors.New("media: room full")
)

// maxRoomLegs bounds the legs of one room (a hear mask is a uint32).
const maxRoomLegs = 16

// Mode is how a leg takes part in a room: who hears it. Every leg hears
// the Talk legs (except itself); the mode says who hears this one.
type Mode uint8

const (
	// Talk is a party of the call (caller, agent, department, a
	// supervisor who barges): heard by every other leg.
	Talk Mode = iota
	// Listen is a silent monitor: it hears the parties, nobody hears it.
	Listen
	// Whisper is a coaching monitor: it hears the parties, only its
	// target (the agent) hears it.
	Whisper
)

// Room is a call's set of legs with a hear/speak matrix: for each ordered
// pair (listener, talker) of its sessions, whether the listener hears the
// talker. The matrix follows from each leg's Mode, and SetHears overrides
// single pairs.
//
// With two legs or fewer the room only points the sessions' relays
// (RelayTo) the way the matrix says, so a two-party call keeps the
// zero-copy relay. From three legs on it mixes: each leg's inbound audio
// goes to the room instead of a relay, and on every tick of the manager's
// shared 20 ms pacer the room decodes each leg's next frame, sums for each
// listener the legs it hears (never itself) with saturation, encodes the
// sum in the listener's codec and sends it on the listener's own output
// stream. Dropping back to two legs restores the relay. While a leg is in
// a room, the room owns its relay: the owner must not call RelayTo or
// Bridge on it. A playing prompt or a DTMF send on a leg wins over what the
// room sends it, as over a relay.
//
// A session is in at most one room at a time. Methods are meant for the
// call's goroutine but are safe from any; they do not block on media (the
// packet path and the pacer see changes through atomics).
//
// RFC 4733 events are still detected on each leg (OnDTMF) but, while the
// room mixes, not passed on: the call decides what a digit does.
//
// How the call uses it: a two-party call needs no room (Bridge). When a
// third party joins, NewRoom, Add the caller and the agent as Talk (the
// room takes over their bridge, nothing changes on the wire), then Add the
// department: from then on the room mixes. A supervisor is Added as
// Listen, SetMode to Whisper (target: the agent) or Talk (barge); takeover
// is Remove of the agent and SetMode of the supervisor to Talk. When a leg
// leaves and two remain, the room relays them again; the call may keep
// the room, or Close it and Bridge the two itself (Close stops every relay
// of the room's legs). Remove a leg before or after closing its session; a
// closed session's leg is silence.
type Room struct {
	m    *Manager
	log  *slog.Logger
	slot int // index in Manager.rooms, guarded by Manager.mu

	plan   atomic.Pointer[mixPlan] // nil while not mixing
	failed atomic.Bool             // the mixer panicked: the room mixes no more
	mix    mixer                   // pacer goroutine only

	mu       sync.Mutex // guards members, override, closed; never held with another lock
	members  []*member
	override map[hearPair]bool
	closed   bool
}

// member is one leg as the room's owner configured it.
type member struct {
	s    *Session
	mode Mode
	to   *Session // Whisper: the one leg that hears it
	leg  *roomLeg // its inbound frames and mix buffers
}

type hearPair struct{ listener, talker *Session }

// NewRoom makes an empty room of this manager's sessions and registers it
// with the shared pacer (an idle or relaying room costs one atomic load
// per tick). log carries the call's identity; nil: the manager's. Close
// releases it.
func (m *Manager) NewRoom(log *slog.Logger) (*Room, error) {
	r := newRoom(m, log)
	if err := m.registerPaced(r); err != nil {
		return nil, err
	}
	return r, nil
}

// newRoom is a room the pacer does not tick (benchmarks tick it).
func newRoom(m *Manager, log *slog.Logger) *Room {
	if log == nil {
		log = m.log
	}
	return &Room{m: m, log: log, slot: -1, override: map[hearPair]bool{}}
}

// Add puts s in the room with a mode (target is the Whisper mode's
// listener, else ignored). A third leg switches the room from relay to
// mixing. ErrInRoom if s is in a room already, ErrRoomFull past 16 legs.
func (r *Room) Add(s *Session, mode Mode, target *Session) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	if len(r.members) >= maxRoomLegs {
		return fmt.Errorf("%w: %d legs", ErrRoomFull, len(r.members))
	}
	if !s.room.CompareAndSwap(nil, r) {
		return ErrInRoom
	}
	r.members = append(r.members, &member{s: s, mode: mode, to: target, leg: &roomLeg{s: s}})
	r.applyLocked()
	return nil
}

// SetMode changes how s takes part (monitoring: Listen, Whisper to the
// agent, Talk to barge) and clears the SetHears overrides on s's pairs.
func (r *Room) SetMode(s *Session, mode Mode, target *Session) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	mb := r.findLocked(s)
	if mb == nil {
		return ErrNotInRoom
	}
	mb.mode, mb.to = mode, target
	r.forgetLocked(s)
	r.applyLocked()
	return nil
}

// SetHears sets one cell of the matrix: whether listener hears talker,
// overriding what their modes say until either's mode changes. A leg
// never hears itself.
func (r *Room) SetHears(listener, talker *Session, on bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.findLocked(listener) == nil || r.findLocked(talker) == nil {
		return ErrNotInRoom
	}
	r.override[hearPair{listener, talker}] = on
	r.applyLocked()
	return nil
}

// Hears reports whether listener hears talker in the room now.
func (r *Room) Hears(listener, talker *Session) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, t := r.findLocked(listener), r.findLocked(talker)
	return l != nil && t != nil && r.hearsLocked(l, t)
}

// Remove takes s out of the room: it is heard and hears no more; its relay
// is stopped (the owner bridges it elsewhere if it stays in the call).
// Down to two legs, the room goes back to relaying.
func (r *Room) Remove(s *Session) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, mb := range r.members {
		if mb.s == s {
			r.members = append(r.members[:i], r.members[i+1:]...)
			r.forgetLocked(s)
			r.applyLocked()
			r.detach(mb)
			return nil
		}
	}
	return ErrNotInRoom
}

// Len is the number of legs in the room.
func (r *Room) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.members)
}

// Mixing reports whether the room mixes now (more than two legs) rather
// than relays.
func (r *Room) Mixing() bool { return r.plan.Load() != nil }

// Close takes every leg out (relays stopped, sessions left open) and
// unregisters the room from the pacer. Later calls return nil.
func (r *Room) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	gone := r.members
	r.members = nil
	r.plan.Store(nil)
	for _, mb := range gone {
		r.detach(mb)
	}
	r.mu.Unlock()
	r.m.unregisterPaced(r)
	return nil
}

func (r *Room) findLocked(s *Session) *member {
	for _, mb := range r.members {
		if mb.s == s {
			return mb
		}
	}
	return nil
}

// forgetLocked drops the SetHears overrides of s's pairs.
func (r *Room) forgetLocked(s *Session) {
	for p := range r.override {
		if p.listener == s || p.talker == s {
			delete(r.override, p)
		}
	}
}

// hearsLocked is the matrix: an override, else the talker's mode.
func (r *Room) hearsLocked(l, t *member) bool {
	if l == t {
		return false
	}
	if on, ok := r.override[hearPair{l.s, t.s}]; ok {
		return on
	}
	switch t.mode {
	case Talk:
		return true
	case Whisper:
		return t.to == l.s
	}
	return false
}

// applyLocked puts the matrix into effect. Up to two legs: relays (a leg
// relays to each leg that hears it) and no plan. From three: every leg
// feeds the room, relays stop, and a new plan goes to the pacer. The
// order (feed the room before stopping a relay, start a relay before
// stopping the feed) loses no packet; at a switch a listener may get one
// relayed packet and one mixed frame in the same 20 ms.
func (r *Room) applyLocked() {
	if r.failed.Load() {
		return
	}
	if len(r.members) <= 2 {
		if r.plan.Load() != nil {
			r.log.Debug("mixing room relays", "legs", len(r.members))
		}
		for _, t := range r.members {
			var dst *Session
			for _, l := range r.members {
				if r.hearsLocked(l, t) {
					dst = l.s
				}
			}
			t.s.relay.Store(dst)
		}
		r.plan.Store(nil)
		for _, mb := range r.members {
			mb.s.mixIn.Store(nil)
			mb.s.kernelRecheck()
		}
		return
	}
	if r.plan.Load() == nil { // starting to mix: no frame queued in an earlier spell
		r.log.Debug("mixing room mixes", "legs", len(r.members))
		for _, mb := range r.members {
			mb.leg = &roomLeg{s: mb.s}
		}
	}
	p := &mixPlan{legs: make([]*roomLeg, len(r.members)), hears: make([]uint32, len(r.members))}
	for i, l := range r.members {
		p.legs[i] = l.leg
		for j, t := range r.members {
			if r.hearsLocked(l, t) {
				p.hears[i] |= 1 << j
			}
		}
		l.s.mixIn.Store(l.leg)
	}
	for _, mb := range r.members {
		mb.s.relay.Store(nil)
		mb.s.kernelRecheck() // mixing is user space's
	}
	r.plan.Store(p)
}

// detach frees a member's session of the room: no feed, no relay, no
// more mixed frames (a pacer tick still holding an old plan skips it).
func (r *Room) detach(mb *member) {
	mb.leg.gone.Store(true)
	mb.s.mixIn.Store(nil)
	mb.s.relay.Store(nil)
	mb.s.room.CompareAndSwap(r, nil)
	mb.s.kernelRecheck()
}

// fail stops a room whose mixing panicked: it mixes no more, and every
// leg's owner hears of it through OnTimeout (as for a session that
// failed), since the call's audio is gone.
func (r *Room) fail() {
	if r.failed.Swap(true) {
		return
	}
	r.plan.Store(nil)
	r.mu.Lock()
	legs := append([]*member(nil), r.members...)
	r.mu.Unlock()
	r.log.Error("mixing room stopped", "legs", len(legs))
	for _, mb := range legs {
		mb.s.fail("mixing room panicked")
	}
}

func (r *Room) slotPtr() *int { return &r.slot }
