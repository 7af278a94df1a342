package acd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hotline-cc/hotline/queue"
)

// Outbound calls (follow-up and missed-call calls placed through the API)
// take a seat the way a callback does, but never wait for one: Reserve
// claims a ready seat at once or refuses. From then on the call is an
// offered call like any other: Answered when the seat answers (it goes on
// the call), CallEnded (wrap-up) or SeatLost when it is over, Leave when
// the seat did not answer or the call was given up before (the seat is
// released, no miss counted: it was asked for by name or picked for a call
// nobody waited for).

// ErrNoSeat: no seat is ready for an outbound call (the one named is not
// ready, or none of the queue's skill is).
var ErrNoSeat = errors.New("acd: no seat ready")

// Reservation asks for a seat for an outbound call: Agent when named, else
// the best ready seat of Queue. With Agent and no Queue, the seat's first
// queue (in name order) whose skill it has is the call's queue (its
// wrap-up and handle time).
type Reservation struct {
	CallID, Caller, Queue, Agent string
}

// Reserve claims a ready, registered seat for the outbound call r and
// returns its Callback decision (Agent, Contact, Queue). It never queues
// the call: ErrNoSeat when no seat is ready now, ErrUnknownAgent or
// ErrUnknownQueue for names it does not know, ErrDuplicate for a known
// call. Called from the API's goroutine; blocks on the store only.
func (d *Dispatcher) Reserve(ctx context.Context, r Reservation) (Decision, error) {
	d.mu.Lock()
	res, cs, err := d.reserveOutboundLocked(ctx, r)
	d.mu.Unlock()
	if err != nil {
		return Decision{}, err
	}
	p := &plan{now: cs.arrived, calls: []plannedCall{{cs: cs, from: 0, to: 1}}, seats: []reservation{res}}
	d.claimPlan(ctx, p)
	won := &p.seats[0]
	d.mu.Lock()
	defer d.mu.Unlock()
	cs.claiming = false
	delete(d.claiming, won.ext)
	switch {
	case won.won:
		d.noteStatus(won.ext, won.next)
		d.viewStatus(won.ext, won.next)
	case won.fresh != nil:
		d.noteStatus(won.ext, *won.fresh)
		d.viewStatus(won.ext, *won.fresh)
	}
	if !won.won {
		delete(d.calls, cs.id)
		return Decision{}, errors.Join(fmt.Errorf("outbound %s, seat %s: %w", cs.id, won.ext, ErrNoSeat), won.err)
	}
	cs.offeredAt = cs.arrived
	cs.ringing = append(cs.ring1[:0], won.ext)
	cs.rung = append(cs.rung1[:0], won.ext)
	return Decision{Kind: Callback, CallID: cs.id, Queue: cs.queue, Agent: won.ext, Contact: won.contact, Caller: cs.caller}, nil
}

// reserveOutboundLocked picks the seat for r and reserves it on this node
// (d.claiming) for the claim that follows; the call is known from now on.
func (d *Dispatcher) reserveOutboundLocked(ctx context.Context, r Reservation) (reservation, *callState, error) {
	if _, dup := d.calls[r.CallID]; dup {
		return reservation{}, nil, fmt.Errorf("call %s: %w", r.CallID, ErrDuplicate)
	}
	if _, err := d.seatsLocked(ctx); err != nil {
		return reservation{}, nil, err
	}
	qname := r.Queue
	at := -1
	if r.Agent != "" {
		var ok bool
		if at, ok = d.view.index[r.Agent]; !ok {
			return reservation{}, nil, fmt.Errorf("agent %s: %w", r.Agent, ErrUnknownAgent)
		}
		if qname == "" {
			if qname = d.queueOfLocked(at); qname == "" {
				return reservation{}, nil, fmt.Errorf("agent %s serves no queue: %w", r.Agent, ErrNoSeat)
			}
		}
	}
	q, ok := d.queues[qname]
	if !ok || !d.open[qname] {
		return reservation{}, nil, fmt.Errorf("outbound %s to %q: %w", r.CallID, qname, ErrUnknownQueue)
	}
	now := d.now()
	if r.Agent != "" && !d.outboundFreeLocked(at, now) {
		return reservation{}, nil, fmt.Errorf("agent %s: %w", r.Agent, ErrNoSeat)
	}
	if r.Agent == "" {
		if at = d.bestOutboundLocked(q, now); at < 0 {
			return reservation{}, nil, fmt.Errorf("queue %s: %w", qname, ErrNoSeat)
		}
	}
	rec := &d.view.recs[at]
	next := claim(rec.Status, r.CallID, qname, d.node, now)
	next.Boot = d.pres.boot
	d.claiming[rec.Agent.Ext] = true
	cs := &callState{id: r.CallID, caller: r.Caller, queue: qname, arrived: now, joined: now,
		claiming: true, tried: map[string]time.Time{}}
	d.calls[cs.id] = cs
	return reservation{ext: rec.Agent.Ext, at: at, version: rec.Status.Version, contact: rec.Registration.Contact, next: next}, cs, nil
}

// queueOfLocked is the first queue (name order) whose first-step need seat
// at meets; "" when none.
func (d *Dispatcher) queueOfLocked(at int) string {
	for i, q := range d.qs {
		if d.open[d.names[i]] && d.levelLocked(q, at) > 0 {
			return d.names[i]
		}
	}
	return ""
}

// levelLocked is seat at's level for q's first-step need (0: it has none).
func (d *Dispatcher) levelLocked(q *queue.Queue, at int) int {
	need := q.StepNeed(0)
	d.colBuf = d.view.cols(need, d.colBuf)
	return d.view.level(at, d.colBuf, need.MinLevel)
}

// outboundFreeLocked reports whether seat at may take an outbound call of
// now: ready and registered, not being claimed, not on an internal call.
// A named seat need not have the queue's skill.
func (d *Dispatcher) outboundFreeLocked(at int, now time.Time) bool {
	ext := d.view.recs[at].Agent.Ext
	return d.view.keys[at].freeAt(false, 0, now.UnixNano()) && !d.claiming[ext] && (d.busy == nil || !d.busy(ext))
}

// bestOutboundLocked picks the ready seat of q's skill its strategy would
// offer a call first; -1 when none is ready.
func (d *Dispatcher) bestOutboundLocked(q *queue.Queue, now time.Time) int {
	d.cands = d.cands[:0]
	for at := range d.view.keys {
		if !d.outboundFreeLocked(at, now) {
			continue
		}
		if l := d.levelLocked(q, at); l > 0 {
			d.cands = append(d.cands, candidate{rec: &d.view.recs[at], at: at, level: l, idle: d.view.keys[at].idle})
		}
	}
	cfg := q.Config()
	i := pick(cfg.Strategy, d.cands, d.rr[cfg.Name], d.dayLocked(now))
	if i < 0 {
		return -1
	}
	return d.cands[i].at
}
