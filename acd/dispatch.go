package acd

import (
	"context"
	"slices"
	"time"

	"github.com/hotline-cc/hotline/queue"
)

// planLocked picks, for waiting calls in service order across all queues
// (priority, then arrival), the free seats they should be offered, until
// no seat is free or no waiting call can use one. It brings the view of the
// seats up to date once (see view), then scans only its summaries. The
// seats it picks are reserved on this node (d.claiming) and their calls
// taken out of their queues until the plan is settled; nil when there is
// nothing to claim.
func (d *Dispatcher) planLocked(ctx context.Context, now time.Time) (*plan, error) {
	if d.waitingLocked() == 0 {
		return nil, nil
	}
	if _, err := d.seatsLocked(ctx); err != nil {
		return nil, err
	}
	at := now.UnixNano()
	d.free = d.free[:0]
	for i := range d.view.keys {
		k := &d.view.keys[i]
		if !k.freeAt(true, d.cfg.CallbackLead, at) {
			continue
		}
		if len(d.claiming) > 0 && d.claiming[d.view.recs[i].Agent.Ext] {
			continue
		}
		d.free = append(d.free, freeSeat{at: i, ready: k.state == Ready})
	}
	p := d.newPlanLocked(now)
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
		if from := len(p.seats); d.reserveLocked(p, q, c, now, day) {
			d.compactFree(p.seats[from:])
			continue // c left its queue: the next call is at the same place
		}
		heads[qi]++
		// A need found unmet may leave the whole queue without a seat:
		// then skip its calls at once rather than one by one (hundreds
		// when the free seat has other skills).
		if len(d.nobody) > unmet && d.blockedLocked(q) {
			heads[qi] = q.Len()
		}
	}
	if len(p.calls) == 0 {
		d.plans = append(d.plans, p)
		return nil, nil
	}
	return p, nil
}

// freeSeat is a seat of the view free at the start of a dispatch.
type freeSeat struct {
	at    int  // in view.recs
	ready bool // ready (else in a wrap-up ending within the callback lead)
}

// Dispatch offers waiting calls to the free seats now, as every event
// does: for a seat freed outside the ACD (its internal call ended).
func (d *Dispatcher) Dispatch(ctx context.Context) ([]Decision, error) {
	return d.dispatch(ctx)
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
	d.colBuf = d.view.cols(need, d.colBuf)
	for _, f := range d.free {
		if (f.ready || callback) && d.view.level(f.at, d.colBuf, need.MinLevel) > 0 {
			return true
		}
	}
	return false
}

// compactFree drops the seats just reserved from the free list.
func (d *Dispatcher) compactFree(reserved []reservation) {
	j := 0
	for _, f := range d.free {
		if !slices.ContainsFunc(reserved, func(r reservation) bool { return r.at == f.at }) {
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

// reserveLocked picks the best free seat(s) for c under its queue's
// strategy (all of them for ring-all), reserves them in p and takes c out
// of its queue; false when no free seat may take c.
func (d *Dispatcher) reserveLocked(p *plan, q *queue.Queue, c *queue.Call, now time.Time, day string) bool {
	if c.NotBefore.After(now) {
		return false // a callback to try again later
	}
	cs := d.calls[c.ID]
	cfg := q.Config()
	step := q.Step(c.Joined, now)
	key := needKey{q: q, step: step, callback: c.Callback}
	if d.nobody[key] {
		return false
	}
	need := q.StepNeed(step)
	d.colBuf = d.view.cols(need, d.colBuf)
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
		if l := d.view.level(f.at, d.colBuf, need.MinLevel); l > 0 {
			d.cands = append(d.cands, candidate{rec: r, at: f.at, level: l, idle: d.view.keys[f.at].idle})
		}
	}
	first, busy := len(p.seats), false
	for len(d.cands) > 0 && (len(p.seats) == first || (cfg.Strategy == RingAllStrategy && !c.Callback)) {
		i := pick(cfg.Strategy, d.cands, d.rr[cfg.Name], day)
		r := d.cands[i].rec
		at := d.cands[i].at
		d.cands = append(d.cands[:i], d.cands[i+1:]...)
		if d.busy != nil && d.busy(r.Agent.Ext) {
			busy = true // on an internal call: not offered meanwhile
			continue
		}
		d.claiming[r.Agent.Ext] = true
		next := claim(r.Status, c.ID, cfg.Name, d.node, now)
		next.Boot = d.pres.boot
		p.seats = append(p.seats, reservation{
			ext: r.Agent.Ext, at: at, version: r.Status.Version, contact: r.Registration.Contact, next: next,
		})
	}
	if len(p.seats) == first {
		if len(cs.tried) == 0 && !busy {
			// Seats this call has tried are left out for it alone; with
			// none tried, no free seat can take any call with the same need.
			d.nobody[key] = true
		}
		return false
	}
	p.calls = append(p.calls, plannedCall{cs: cs, call: *c, from: first, to: len(p.seats)})
	q.Remove(c.ID)
	cs.claiming = true
	return true
}
