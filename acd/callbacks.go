package acd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hotline-cc/hotline/queue"
)

// Kept callback places: one per number per queue (keptForLocked), expired
// by ExpireCallbacks, put back after a restart by RestoreCallback.

// keptForLocked returns the id of another call of cs's caller that keeps a
// callback place in cs's queue (waiting, or being called back), "" when
// there is none or the caller has no number.
func (d *Dispatcher) keptForLocked(cs *callState) string {
	if cs.caller == "" {
		return ""
	}
	for id, o := range d.calls {
		if id != cs.id && o.callback && o.caller == cs.caller && o.queue == cs.queue {
			return id
		}
	}
	return ""
}

// ExpireCallbacks gives up the kept places waiting longer than their
// queue's callback expiry, except those in running (callbacks under way,
// whose caller may be on the line): each gets a Finished decision with
// outcome callback_expired, among the others' decisions. The engine calls
// it with the clock (Engine.Run), after Tick.
func (d *Dispatcher) ExpireCallbacks(ctx context.Context, running map[string]bool) ([]Decision, error) {
	d.mu.Lock()
	now := d.now()
	var out []Decision
	var errs []error
	for _, q := range d.qs {
		for _, c := range q.ExpiredCallbacks(now) {
			cs, ok := d.calls[c.ID]
			if !ok || running[c.ID] {
				continue
			}
			_, _, err := d.dequeueLocked(ctx, cs)
			errs = append(errs, err)
			out = append(out, d.finish(cs, CallbackExpired, queue.Destination{}, "", now))
		}
	}
	d.mu.Unlock()
	return d.then(ctx, out, errors.Join(errs...))
}

// KeptPlace is a callback place kept before a restart.
type KeptPlace struct {
	CallID, Caller, Queue string
	Priority              int
	Arrived, Kept         time.Time
}

// RestoreCallback puts a place kept before a restart back in its queue at
// its place (arrival and priority), whatever the queue's length (it was
// counted when kept). ErrUnknownQueue when the queue is no longer
// configured, ErrDuplicate when the call is known. A seat free for it
// brings a Callback decision as usual.
func (d *Dispatcher) RestoreCallback(ctx context.Context, p KeptPlace) ([]Decision, error) {
	d.mu.Lock()
	q, err := d.newCallLocked(p.CallID, p.Queue)
	if err == nil && !q.Config().Callback {
		err = fmt.Errorf("callback %s to %q (no callback): %w", p.CallID, p.Queue, ErrUnknownQueue)
	}
	if err != nil {
		d.mu.Unlock()
		return nil, err
	}
	now := d.now()
	cs := &callState{id: p.CallID, caller: p.Caller, queue: p.Queue, priority: p.Priority, arrived: p.Arrived,
		joined: now, callback: true, kept: p.Kept, tried: map[string]time.Time{}}
	c := queue.Call{ID: p.CallID, Caller: p.Caller, Priority: p.Priority, Arrived: p.Arrived, Joined: now,
		Callback: true, Kept: p.Kept, Announce: now}
	if err := d.enqueueLocked(ctx, cs, q, c, true); err != nil {
		d.mu.Unlock()
		return nil, err
	}
	d.calls[cs.id] = cs
	d.mu.Unlock()
	return d.dispatch(ctx)
}

// Kept returns the kept callback place of callID (what RestoreCallback
// needs to put it back); false when the ACD keeps no place for it.
func (d *Dispatcher) Kept(callID string) (KeptPlace, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cs, ok := d.calls[callID]
	if !ok || !cs.callback {
		return KeptPlace{}, false
	}
	return KeptPlace{CallID: cs.id, Caller: cs.caller, Queue: cs.queue, Priority: cs.priority, Arrived: cs.arrived, Kept: cs.kept}, true
}
