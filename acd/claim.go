package acd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hotline-cc/hotline/queue"
	"github.com/hotline-cc/hotline/store"
)

// Offering a call takes three steps, so that no store round trip is made
// with the dispatcher's lock held (on Redis a claim is one; every other
// call of the node would wait on it):
//
//  1. plan, under the lock (planLocked): pick the seats, mark them
//     reserved on this node (d.claiming: no other plan takes them), take
//     their calls out of their queues (no other plan offers them);
//  2. claim, without the lock (claimPlan): swap each seat's status in the
//     store, which fails if the seat changed since it was read (another
//     node took it, an agent went not ready);
//  3. settle, under the lock (settleLocked): a call with a seat won is
//     offered; one without goes back to its place in its queue; a seat won
//     for a call that left meanwhile is freed again.
//
// dispatch repeats the three while a settle leaves work behind.

// plan is one dispatch's reservations.
type plan struct {
	now   time.Time
	calls []plannedCall
	seats []reservation
}

// plannedCall is a call taken out of its queue for seats[from:to].
type plannedCall struct {
	cs       *callState
	call     queue.Call // its queue entry, to put it back
	from, to int
}

// reservation is one seat to claim: the status read (version) and the one
// to write (next), and what the claim came to.
type reservation struct {
	ext, contact string
	at           int // in the view, while planning
	version      int64
	next         store.Status
	won          bool
	fresh        *store.Status // read again after a lost claim
	err          error
}

// newPlanLocked takes a plan from the free list.
func (d *Dispatcher) newPlanLocked(now time.Time) *plan {
	var p *plan
	if n := len(d.plans); n > 0 {
		p, d.plans = d.plans[n-1], d.plans[:n-1]
		p.calls, p.seats = p.calls[:0], p.seats[:0]
	} else {
		p = &plan{}
	}
	p.now = now
	return p
}

// dispatchRounds bounds the plan, claim, settle rounds of one dispatch (a
// round after the first only follows lost claims or freed seats); what is
// left waits for the next event or Tick.
const dispatchRounds = 4

// dispatch offers waiting calls to the free seats: called without the lock
// after every event that may free a seat or queue a call.
func (d *Dispatcher) dispatch(ctx context.Context) ([]Decision, error) {
	var out []Decision
	var errs error
	for range dispatchRounds {
		d.mu.Lock()
		p, err := d.planLocked(ctx, d.now())
		d.mu.Unlock()
		errs = errors.Join(errs, err)
		if p == nil {
			break
		}
		d.claimPlan(ctx, p)
		d.mu.Lock()
		more, again, err := d.settleLocked(ctx, p)
		d.plans = append(d.plans, p)
		d.mu.Unlock()
		errs = errors.Join(errs, err)
		if out == nil {
			out = more
		} else {
			out = append(out, more...)
		}
		if !again {
			break
		}
	}
	return out, errs
}

// then dispatches after an event applied under the lock (released by now):
// out and err are the event's own.
func (d *Dispatcher) then(ctx context.Context, out []Decision, err error) ([]Decision, error) {
	more, derr := d.dispatch(ctx)
	if len(out) == 0 {
		return more, errors.Join(err, derr)
	}
	return append(out, more...), errors.Join(err, derr)
}

// claimPlan claims p's seats in the store, without the lock. A call's store
// entry goes with its seat's claim (store.Seats; deleting it is idempotent,
// so a ring-all deletes it with each), else when settled.
func (d *Dispatcher) claimPlan(ctx context.Context, p *plan) {
	for _, pc := range p.calls {
		for i := pc.from; i < pc.to; i++ {
			r := &p.seats[i]
			var v int64
			var err error
			if d.seats != nil {
				v, err = d.seats.Claim(ctx, r.ext, r.version, r.next, pc.cs.queue, pc.cs.id)
			} else {
				v, err = d.st.SwapStatus(ctx, r.ext, r.version, r.next)
			}
			switch {
			case err == nil:
				r.won, r.next.Version = true, v
			case errors.Is(err, store.ErrConflict):
				s, serr := d.st.Status(ctx, r.ext)
				if serr != nil {
					r.err = fmt.Errorf("agent %s: %w", r.ext, serr)
				} else {
					r.fresh = &s
				}
			default:
				r.err = fmt.Errorf("claim %s for %s: %w", r.ext, pc.cs.id, err)
			}
		}
	}
}

// settleLocked applies what p's claims came to and returns the decisions;
// again when a seat was lost or freed, so that another round may use it.
func (d *Dispatcher) settleLocked(ctx context.Context, p *plan) (_ []Decision, again bool, err error) {
	out := d.outs[:0]
	defer func() { d.outs = out[:0] }()
	var errs []error
	fail := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, pc := range p.calls {
		cs := pc.cs
		cs.claiming = false
		gone := d.calls[cs.id] != cs // it left while its seats were claimed
		got := d.got[:0]
		for i := pc.from; i < pc.to; i++ {
			r := &p.seats[i]
			delete(d.claiming, r.ext)
			fail(r.err)
			switch {
			case r.won:
				d.noteStatus(r.ext, r.next)
				d.viewStatus(r.ext, r.next)
				if gone {
					_, err := d.swap(ctx, r.ext, func(s store.Status) (store.Status, bool, error) {
						return released(s, p.now), holds(s, cs.id), nil
					})
					fail(err)
					again = true
					continue
				}
				got = append(got, r)
			case r.fresh != nil:
				d.noteStatus(r.ext, *r.fresh)
				d.viewStatus(r.ext, *r.fresh)
				again = true
			}
		}
		switch {
		case gone:
		case len(got) == 0:
			fail(d.putBackLocked(ctx, cs, pc.call))
		default:
			var err error
			out, err = d.offeredLocked(ctx, cs, pc.call, got, p.now, out)
			fail(err)
		}
		d.got = got[:0]
	}
	return d.resultLocked(out), again, errors.Join(errs...)
}

// viewStatus records in the view a status this node wrote or read.
func (d *Dispatcher) viewStatus(ext string, s store.Status) {
	if at, ok := d.view.index[ext]; ok && d.view.recs[at].Status.Version <= s.Version {
		d.view.setStatus(at, s)
	}
}

// putBackLocked returns a call whose claims all failed to its place in its
// queue (its store entry is still there, unless it never had one: a call
// Arrive has not finished).
func (d *Dispatcher) putBackLocked(ctx context.Context, cs *callState, c queue.Call) error {
	q := d.queues[cs.queue]
	if err := q.Add(c, true); err != nil {
		return err
	}
	if cs.stored {
		return nil
	}
	if err := d.st.PutEntry(ctx, d.entry(cs.queue, c)); err != nil {
		return err
	}
	cs.stored = true
	return nil
}

// offeredLocked records the offer of cs to the seats won and appends its
// decisions to out. The call left its queue when planned; its store entry
// went with the claims (store.Seats) or goes now.
func (d *Dispatcher) offeredLocked(ctx context.Context, cs *callState, c queue.Call, got []*reservation, now time.Time, out []Decision) ([]Decision, error) {
	var err error
	if d.seats == nil && cs.stored {
		err = d.st.DeleteEntry(ctx, cs.queue, cs.id)
	}
	cs.stored = false
	if cs.offeredAt.IsZero() {
		cs.offeredAt = now
	}
	kind := Offer
	if c.Callback {
		kind = Callback
	}
	if cs.rung == nil { // most calls ring one seat: no allocation for it
		cs.ringing, cs.rung = cs.ring1[:0], cs.rung1[:0]
	}
	for _, r := range got {
		cs.ringing = append(cs.ringing, r.ext)
		cs.rung = append(cs.rung, r.ext)
		d.rr[cs.queue] = r.ext
		out = append(out, Decision{
			Kind: kind, CallID: cs.id, Queue: cs.queue, Agent: r.ext,
			Contact: r.contact, Caller: cs.caller,
		})
	}
	return out, err
}
