package acd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hotline-cc/hotline/queue"
	"github.com/hotline-cc/hotline/store"
)

// freeStates are the states a seat may be offered a call in (see free).
var freeStates = []string{string(Ready), string(WrapUp)}

// dispatchLocked offers waiting calls to free seats, calls in service order
// across all queues (priority, then arrival), until no seat is free or no
// waiting call can use one. It reads the seats once from the store: only
// those ready or in wrap-up when the store can (store.Seats).
func (d *Dispatcher) dispatchLocked(ctx context.Context, now time.Time) ([]Decision, error) {
	if d.waitingLocked() == 0 {
		return nil, nil
	}
	var recs []store.AgentRecord
	var err error
	if d.seats != nil {
		recs, err = d.seats.AgentsIn(ctx, freeStates, d.recs)
	} else {
		recs, err = d.st.Agents(ctx, d.recs)
	}
	if err != nil {
		return nil, err
	}
	d.recs = recs
	d.free = d.free[:0]
	for i := range recs {
		if free(&recs[i], true, d.cfg.CallbackLead, now) && (d.busy == nil || !d.busy(recs[i].Agent.Ext)) {
			d.free = append(d.free, i)
		}
	}
	out := d.outs[:0]
	defer func() { d.outs = out[:0] }()
	day := d.dayLocked(now)
	heads := d.heads[:0]
	for range d.names {
		heads = append(heads, 0)
	}
	d.heads = heads
	clear(d.nobody)
	for len(d.free) > 0 {
		qi := d.nextLocked(heads)
		if qi < 0 {
			break
		}
		q := d.qs[qi]
		c := q.Calls()[heads[qi]]
		unmet := len(d.nobody)
		var offered bool
		out, offered, err = d.offerLocked(ctx, q, c, recs, now, day, out)
		if err != nil { // out has the offers of seats claimed before it
			return d.resultLocked(out), err
		}
		if !offered {
			heads[qi]++
			// A need found unmet may leave the whole queue without a
			// seat: then skip its calls at once rather than one by one
			// (hundreds when the free seat has other skills).
			if len(d.nobody) > unmet && d.blockedLocked(q, now) {
				heads[qi] = q.Len()
			}
		}
		d.compactFree(recs, now)
	}
	return d.resultLocked(out), nil
}

// Dispatch offers waiting calls to the free seats now, as every event
// does: for a seat freed outside the ACD (its internal call ended).
func (d *Dispatcher) Dispatch(ctx context.Context) ([]Decision, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dispatchLocked(ctx, d.now())
}

// OnQueueCall reports whether seat ext is taken by the ACD: ringing for a
// queue call or on one (an internal call to it meets a busy phone).
func (d *Dispatcher) OnQueueCall(ctx context.Context, ext string) (bool, error) {
	s, err := d.st.Status(ctx, ext)
	if err != nil {
		return false, err
	}
	st := state(s)
	return st == Ringing || st == OnCall, nil
}

// decisionBlock is how many decisions resultLocked carves from one block.
const decisionBlock = 256

// resultLocked copies decisions built in a scratch slice into a slice the
// caller owns: nil for none, else carved from a block of decisionBlock that
// later results share, so that a seat selection allocates once in 256, not
// every time (on a loaded VM a fresh span costs tens of microseconds). Its
// capacity is its length: a caller's append copies, and no part of a block
// is written once handed out.
func (d *Dispatcher) resultLocked(out []Decision) []Decision {
	if len(out) == 0 {
		return nil
	}
	if len(out) > len(d.block) {
		d.block = make([]Decision, max(decisionBlock, len(out)))
	}
	n := copy(d.block, out)
	res := d.block[:n:n]
	d.block = d.block[n:]
	return res
}

// blockedLocked reports whether no free seat can take any call of q, at any
// escalation step, callback or not. The needs it finds unmet go to d.nobody,
// so it runs at most twice per step of q in a dispatch.
func (d *Dispatcher) blockedLocked(q *queue.Queue, now time.Time) bool {
	for step := range q.Steps() {
		for _, callback := range [...]bool{false, true} {
			key := needKey{q: q, step: step, callback: callback}
			if d.nobody[key] {
				continue
			}
			if d.anyFreeLocked(q.StepNeed(step), callback, now) {
				return false
			}
			d.nobody[key] = true
		}
	}
	return true
}

// anyFreeLocked reports whether a free seat has the skills of need.
func (d *Dispatcher) anyFreeLocked(need queue.Need, callback bool, now time.Time) bool {
	for _, i := range d.free {
		r := &d.recs[i]
		if free(r, callback, d.cfg.CallbackLead, now) && level(r.Agent, need) > 0 {
			return true
		}
	}
	return false
}

// compactFree drops seats claimed (or found taken) since the free list was
// built.
func (d *Dispatcher) compactFree(recs []store.AgentRecord, now time.Time) {
	j := 0
	for _, i := range d.free {
		if free(&recs[i], true, d.cfg.CallbackLead, now) {
			d.free[j] = i
			j++
		}
	}
	d.free = d.free[:j]
}

func (d *Dispatcher) waitingLocked() int {
	n := 0
	for _, q := range d.qs {
		n += q.Len()
	}
	return n
}

// nextLocked returns the queue whose next unexamined call (heads[i]) comes
// first in service order, -1 when every queue is exhausted.
func (d *Dispatcher) nextLocked(heads []int) int {
	best := -1
	var bc *queue.Call
	for i, q := range d.qs {
		calls := q.Calls()
		if heads[i] >= len(calls) {
			continue
		}
		if c := calls[heads[i]]; bc == nil || queue.Before(c, bc) {
			best, bc = i, c
		}
	}
	return best
}

// offerLocked reserves the best free seat(s) for c under its queue's
// strategy (all of them for ring-all) and appends the Offer or Callback
// decisions to out; offered is false when no free seat may take c.
func (d *Dispatcher) offerLocked(ctx context.Context, q *queue.Queue, c *queue.Call, recs []store.AgentRecord, now time.Time, day string, out []Decision) ([]Decision, bool, error) {
	cs := d.calls[c.ID]
	cfg := q.Config()
	step := q.Step(c.Joined, now)
	key := needKey{q: q, step: step, callback: c.Callback}
	if d.nobody[key] {
		return out, false, nil
	}
	need := q.StepNeed(step)
	d.cands = d.cands[:0]
	for _, i := range d.free {
		r := &recs[i]
		if !free(r, c.Callback, d.cfg.CallbackLead, now) {
			continue
		}
		if len(cs.tried) > 0 {
			if t, ok := cs.tried[r.Agent.Ext]; ok && now.Sub(t) < d.cfg.RetryTried {
				continue
			}
		}
		if l := level(r.Agent, need); l > 0 {
			d.cands = append(d.cands, candidate{rec: r, level: l})
		}
	}
	got := d.got[:0]
	defer func() { d.got = got[:0] }()
	var err error
	for len(d.cands) > 0 && (len(got) == 0 || (cfg.Strategy == RingAllStrategy && !c.Callback)) {
		i := pick(cfg.Strategy, d.cands, d.rr[cfg.Name], day)
		r := d.cands[i].rec
		d.cands = append(d.cands[:i], d.cands[i+1:]...)
		var ok bool
		if ok, err = d.claimLocked(ctx, r, c.ID, cfg.Name, len(got) == 0, now); err != nil {
			break
		}
		if ok {
			got = append(got, r)
		}
	}
	if len(got) == 0 {
		if err == nil && len(cs.tried) == 0 {
			// Seats this call has tried are left out for it alone; with
			// none tried, no free seat can take any call with the same need.
			d.nobody[key] = true
		}
		return out, false, err
	}
	// A store error after a first claim still offers the seats held.
	out, oerr := d.offeredLocked(ctx, q, cs, *c, got, now, out)
	return out, true, errors.Join(err, oerr)
}

// claimLocked atomically reserves seat r for callID; false when the seat
// was taken meanwhile (another node), in which case r is refreshed. With
// first (the call's first seat) the call's store entry goes in the same
// step when the store can (store.Seats); offeredLocked deletes it otherwise.
func (d *Dispatcher) claimLocked(ctx context.Context, r *store.AgentRecord, callID, qname string, first bool, now time.Time) (bool, error) {
	ext := r.Agent.Ext
	next := claim(r.Status, callID, qname, d.node, now)
	var v int64
	var err error
	if first && d.seats != nil {
		v, err = d.seats.Claim(ctx, ext, r.Status.Version, next, qname, callID)
	} else {
		v, err = d.st.SwapStatus(ctx, ext, r.Status.Version, next)
	}
	if errors.Is(err, store.ErrConflict) {
		s, serr := d.st.Status(ctx, ext)
		if serr != nil {
			return false, fmt.Errorf("agent %s: %w", ext, serr)
		}
		r.Status = s
		d.noteStatus(ext, s)
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim %s for %s: %w", ext, callID, err)
	}
	next.Version = v
	r.Status = next
	d.noteStatus(ext, next)
	return true, nil
}

// offeredLocked takes the call out of its queue (out of the store too
// unless claimLocked did) and appends its decisions to out.
func (d *Dispatcher) offeredLocked(ctx context.Context, q *queue.Queue, cs *callState, c queue.Call, got []*store.AgentRecord, now time.Time, out []Decision) ([]Decision, error) {
	var err error
	if d.seats != nil {
		q.Remove(cs.id)
	} else {
		_, _, err = d.dequeueLocked(ctx, cs)
	}
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
		ext := r.Agent.Ext
		cs.ringing = append(cs.ringing, ext)
		cs.rung = append(cs.rung, ext)
		d.rr[q.Config().Name] = ext
		out = append(out, Decision{
			Kind: kind, CallID: cs.id, Queue: cs.queue, Agent: ext,
			Contact: r.Registration.Contact, Caller: cs.caller,
		})
	}
	return out, err
}
