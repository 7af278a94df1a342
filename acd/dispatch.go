package acd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hotline-cc/hotline/queue"
	"github.com/hotline-cc/hotline/store"
)

// dispatchLocked offers waiting calls to free seats, calls in service order
// across all queues (priority, then arrival), until no seat is free or no
// waiting call can use one. It brings the view of the seats up to date
// once (see view), then scans only its summaries.
func (d *Dispatcher) dispatchLocked(ctx context.Context, now time.Time) ([]Decision, error) {
	if d.waitingLocked() == 0 {
		return nil, nil
	}
	if _, err := d.seatsLocked(ctx); err != nil {
		return nil, err
	}
	at := now.UnixNano()
	d.free = d.free[:0]
	for i := range d.view.keys {
		if k := &d.view.keys[i]; k.freeAt(true, d.cfg.CallbackLead, at) {
			d.free = append(d.free, freeSeat{at: i, ready: k.state == Ready})
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
	var err error
	for len(d.free) > 0 {
		qi := d.nextLocked(heads)
		if qi < 0 {
			break
		}
		q := d.qs[qi]
		c := q.Calls()[heads[qi]]
		unmet := len(d.nobody)
		var offered, claimed bool
		out, offered, claimed, err = d.offerLocked(ctx, q, c, now, day, out)
		if err != nil { // out has the offers of seats claimed before it
			return d.resultLocked(out), err
		}
		if !offered {
			heads[qi]++
			// A need found unmet may leave the whole queue without a
			// seat: then skip its calls at once rather than one by one
			// (hundreds when the free seat has other skills).
			if len(d.nobody) > unmet && d.blockedLocked(q) {
				heads[qi] = q.Len()
			}
		}
		if claimed {
			d.compactFree(at)
		}
	}
	return d.resultLocked(out), nil
}

// freeSeat is a seat of the view free at the start of a dispatch.
type freeSeat struct {
	at    int  // in view.recs
	ready bool // ready (else in a wrap-up ending within the callback lead)
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
func (d *Dispatcher) blockedLocked(q *queue.Queue) bool {
	for step := range q.Steps() {
		for _, callback := range [...]bool{false, true} {
			key := needKey{q: q, step: step, callback: callback}
			if d.nobody[key] {
				continue
			}
			if d.anyFreeLocked(q.StepNeed(step), callback) {
				return false
			}
			d.nobody[key] = true
		}
	}
	return true
}

// anyFreeLocked reports whether a free seat has the skills of need.
func (d *Dispatcher) anyFreeLocked(need queue.Need, callback bool) bool {
	for _, f := range d.free {
		if (f.ready || callback) && level(d.view.recs[f.at].Agent, need) > 0 {
			return true
		}
	}
	return false
}

// compactFree drops the seats claimed (or found taken) since the free list
// was built.
func (d *Dispatcher) compactFree(now int64) {
	j := 0
	for _, f := range d.free {
		if d.view.keys[f.at].freeAt(true, d.cfg.CallbackLead, now) {
			d.free[j] = f
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
// decisions to out; offered is false when no free seat may take c, claimed
// whether a seat's status changed (claimed, or found taken).
func (d *Dispatcher) offerLocked(ctx context.Context, q *queue.Queue, c *queue.Call, now time.Time, day string, out []Decision) (_ []Decision, offered, claimed bool, err error) {
	cs := d.calls[c.ID]
	cfg := q.Config()
	step := q.Step(c.Joined, now)
	key := needKey{q: q, step: step, callback: c.Callback}
	if d.nobody[key] {
		return out, false, false, nil
	}
	need := q.StepNeed(step)
	d.cands = d.cands[:0]
	for _, f := range d.free {
		if !f.ready && !c.Callback {
			continue
		}
		r := &d.view.recs[f.at]
		if len(cs.tried) > 0 {
			if t, ok := cs.tried[r.Agent.Ext]; ok && now.Sub(t) < d.cfg.RetryTried {
				continue
			}
		}
		if l := level(r.Agent, need); l > 0 {
			d.cands = append(d.cands, candidate{rec: r, at: f.at, level: l, idle: d.view.keys[f.at].idle})
		}
	}
	got := d.got[:0]
	defer func() { d.got = got[:0] }()
	busy := false
	for len(d.cands) > 0 && (len(got) == 0 || (cfg.Strategy == RingAllStrategy && !c.Callback)) {
		i := pick(cfg.Strategy, d.cands, d.rr[cfg.Name], day)
		cand := d.cands[i]
		d.cands = append(d.cands[:i], d.cands[i+1:]...)
		if d.busy != nil && d.busy(cand.rec.Agent.Ext) {
			busy = true // on an internal call: not offered meanwhile
			continue
		}
		var ok bool
		ok, err = d.claimLocked(ctx, cand.at, c.ID, cfg.Name, len(got) == 0, now)
		claimed = true
		if err != nil {
			break
		}
		if ok {
			got = append(got, cand.rec)
		}
	}
	if len(got) == 0 {
		if err == nil && len(cs.tried) == 0 && !busy {
			// Seats this call has tried are left out for it alone; with
			// none tried, no free seat can take any call with the same need.
			d.nobody[key] = true
		}
		return out, false, claimed, err
	}
	// A store error after a first claim still offers the seats held.
	out, oerr := d.offeredLocked(ctx, q, cs, *c, got, now, out)
	return out, true, claimed, errors.Join(err, oerr)
}

// claimLocked atomically reserves seat at of the view for callID; false
// when the seat was taken meanwhile (another node), in which case its
// status is read again. With first (the call's first seat) the call's store
// entry goes in the same step when the store can (store.Seats);
// offeredLocked deletes it otherwise.
func (d *Dispatcher) claimLocked(ctx context.Context, at int, callID, qname string, first bool, now time.Time) (bool, error) {
	r := &d.view.recs[at]
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
		d.view.setStatus(at, s)
		d.noteStatus(ext, s)
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim %s for %s: %w", ext, callID, err)
	}
	next.Version = v
	d.view.setStatus(at, next)
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
