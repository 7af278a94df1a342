package acd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hotline-cc/hotline/queue"
	"github.com/hotline-cc/hotline/store"
)

// Arrive puts a call in its queue and returns what to do: usually an Offer
// (a seat was free) or an Announce (it waits); Overflow (and Finished) when
// the queue is full. Called from the call's goroutine once it is to queue.
// The store's mirror of the queue gets the call only when it waits (a call
// offered at once costs no entry write). On an error the call is not left
// waiting; decisions already made (for it or others) are still returned.
func (d *Dispatcher) Arrive(ctx context.Context, a Arrival) ([]Decision, error) {
	d.mu.Lock()
	q, err := d.newCallLocked(a.CallID, a.Queue)
	if err != nil {
		d.mu.Unlock()
		return nil, err
	}
	now := d.now()
	cs := &callState{id: a.CallID, caller: a.Caller, queue: a.Queue, priority: a.Priority, arrived: now, joined: now,
		noCallback: a.NoCallback, tried: map[string]time.Time{}}
	c := queue.Call{ID: a.CallID, Caller: a.Caller, Priority: a.Priority, Arrived: now, Joined: now, Announce: now}
	err = q.Add(c, false)
	if errors.Is(err, queue.ErrFull) {
		d.calls[cs.id] = cs
		out, err := d.overflowLocked(ctx, cs, c, q.Config().OnFull, now)
		d.mu.Unlock()
		return d.then(ctx, out, err)
	}
	if err != nil {
		d.mu.Unlock()
		return nil, err
	}
	d.calls[cs.id] = cs
	d.mu.Unlock()
	out, err := d.dispatch(ctx)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.calls[cs.id] != cs || cs.stored {
		return out, err // offered, gone, or put back and stored by a settle
	}
	if _, waiting := q.Get(cs.id); !waiting {
		return out, err
	}
	if err == nil {
		err = d.st.PutEntry(ctx, d.entry(a.Queue, c))
	}
	if err != nil {
		q.Remove(cs.id)
		delete(d.calls, cs.id)
		return out, err
	}
	cs.stored = true
	if q.Config().AnnounceEvery > 0 {
		out = append(out, d.announceLocked(ctx, q, []string{cs.id}, now)...)
	}
	return out, nil
}

// newCallLocked checks that id is a new call and qname a queue taking
// arrivals, and returns the queue.
func (d *Dispatcher) newCallLocked(id, qname string) (*queue.Queue, error) {
	if _, dup := d.calls[id]; dup {
		return nil, fmt.Errorf("call %s: %w", id, ErrDuplicate)
	}
	q, ok := d.queues[qname]
	if !ok || !d.open[qname] {
		return nil, fmt.Errorf("call %s to %q: %w", id, qname, ErrUnknownQueue)
	}
	return q, nil
}

// Leave: the caller hung up while waiting or while a seat rang (abandoned),
// or a callback could not reach the caller (callback_failed). Seats ringing
// for the call are freed and get Cancel decisions. ErrUnknownCall when the
// ACD is already done with the call (answered, overflowed): ignore it.
func (d *Dispatcher) Leave(ctx context.Context, callID string) ([]Decision, error) {
	d.mu.Lock()
	cs, ok := d.calls[callID]
	if !ok {
		d.mu.Unlock()
		return nil, fmt.Errorf("call %s: %w", callID, ErrUnknownCall)
	}
	now := d.now()
	out, err := d.withdrawLocked(ctx, cs, "", now)
	if _, _, derr := d.dequeueLocked(ctx, cs); derr != nil {
		err = errors.Join(err, derr)
	}
	o := Abandoned
	if cs.callback {
		o = CallbackFailed
	}
	out = append(out, d.finish(cs, o, queue.Destination{}, "", now))
	d.mu.Unlock()
	return d.then(ctx, out, err)
}

// withdrawLocked frees every seat ringing for cs except keep and returns
// their Cancel decisions.
func (d *Dispatcher) withdrawLocked(ctx context.Context, cs *callState, keep string, now time.Time) ([]Decision, error) {
	var out []Decision
	var errs []error
	for _, ext := range cs.ringing {
		if ext == keep {
			continue
		}
		_, err := d.swap(ctx, ext, func(s store.Status) (store.Status, bool, error) {
			return released(s, now), holds(s, cs.id), nil
		})
		errs = append(errs, err)
		out = append(out, Decision{Kind: Cancel, CallID: cs.id, Queue: cs.queue, Agent: ext})
	}
	cs.ringing = cs.ringing[:0]
	if keep != "" {
		cs.ringing = append(cs.ringing, keep)
	}
	return out, errors.Join(errs...)
}

// Answered: seat ext answered the offer (or, for a callback, seat and
// caller are connected). The seat is on the call; other seats of a ring-all
// get Cancel; the call is Finished (answered). Called from the call's
// goroutine. ErrNotOffered when the seat no longer holds the call (its offer
// was withdrawn): hang that seat leg up.
//
// The seat's swap runs outside the dispatcher's lock (a store round trip
// other calls need not wait for): the seat is reserved for this call, and
// anything that withdraws the offer meanwhile (Leave) makes the swap or the
// check after it fail.
func (d *Dispatcher) Answered(ctx context.Context, callID, ext string) ([]Decision, error) {
	d.mu.Lock()
	cs, ok := d.calls[callID]
	if !ok {
		d.mu.Unlock()
		return nil, fmt.Errorf("call %s: %w", callID, ErrUnknownCall)
	}
	if !slices.Contains(cs.ringing, ext) {
		d.mu.Unlock()
		return nil, fmt.Errorf("call %s, seat %s: %w", callID, ext, ErrNotOffered)
	}
	now := d.now()
	day := d.dayLocked(now)
	d.mu.Unlock()
	_, err := d.swap(ctx, ext, func(s store.Status) (store.Status, bool, error) {
		if !holds(s, callID) || state(s) != Ringing {
			return s, false, fmt.Errorf("call %s, seat %s: %w", callID, ext, ErrNotOffered)
		}
		return answered(s, day, now), true, nil
	})
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	if cs, ok = d.calls[callID]; !ok || !slices.Contains(cs.ringing, ext) {
		// The call left while the seat was being marked: Leave freed the
		// seat (it held the call); the seat leg is hung up.
		d.mu.Unlock()
		return nil, fmt.Errorf("call %s, seat %s: %w", callID, ext, ErrNotOffered)
	}
	out, werr := d.withdrawLocked(ctx, cs, ext, now)
	out = append(out, d.finish(cs, Answered, queue.Destination{}, ext, now))
	d.mu.Unlock()
	return d.then(ctx, out, werr)
}

// NotAnswered: seat ext rang out, was busy or unreachable. The seat counts a
// miss (not ready "missed" after MaxMisses) or, unreachable, is logged out;
// when no other seat rings for the call it goes back to its place at the
// head of the queue and is offered to the next seat.
func (d *Dispatcher) NotAnswered(ctx context.Context, callID, ext string, why Failure) ([]Decision, error) {
	d.mu.Lock()
	err := d.notAnsweredLocked(ctx, callID, ext, why)
	d.mu.Unlock()
	if errors.Is(err, ErrUnknownCall) || errors.Is(err, ErrNotOffered) {
		return nil, err
	}
	return d.then(ctx, nil, err)
}

func (d *Dispatcher) notAnsweredLocked(ctx context.Context, callID, ext string, why Failure) error {
	cs, ok := d.calls[callID]
	if !ok {
		return fmt.Errorf("call %s: %w", callID, ErrUnknownCall)
	}
	i := slices.Index(cs.ringing, ext)
	if i < 0 {
		return fmt.Errorf("call %s, seat %s: %w", callID, ext, ErrNotOffered)
	}
	now := d.now()
	_, err := d.swap(ctx, ext, func(s store.Status) (store.Status, bool, error) {
		if !holds(s, callID) {
			return s, false, nil
		}
		if why == Unreachable {
			return enter(s, LoggedOut, ReasonUnreachable, now), true, nil
		}
		return missed(s, d.cfg.MaxMisses, now), true, nil
	})
	cs.ringing = slices.Delete(cs.ringing, i, i+1)
	cs.tried[ext] = now
	cs.missed = append(cs.missed, ext)
	if len(cs.ringing) == 0 {
		if rerr := d.requeueLocked(ctx, cs, now, time.Time{}); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	return err
}

// requeueLocked puts an offered call back at its place (its arrival time is
// kept, so it is at or near the head), offered no seat before notBefore.
func (d *Dispatcher) requeueLocked(ctx context.Context, cs *callState, now, notBefore time.Time) error {
	q := d.queues[cs.queue]
	c := queue.Call{ID: cs.id, Caller: cs.caller, Priority: cs.priority, Arrived: cs.arrived, Joined: cs.joined,
		Callback: cs.callback, Kept: cs.kept, Announce: now, NotBefore: notBefore}
	return d.enqueueLocked(ctx, cs, q, c, true)
}

// CallEnded: seat ext's bridged call callID is over. The seat goes to
// wrap-up for its queue's duration (or straight on), and the queue learns
// the handle time. Called from the call's goroutine at its end.
//
// The seat's swap runs outside the dispatcher's lock, as in Answered.
func (d *Dispatcher) CallEnded(ctx context.Context, callID, ext string) ([]Decision, error) {
	return d.callEnded(ctx, callID, ext, false)
}

// SeatLost: seat ext's bridged call callID is over because the seat's phone
// vanished (its media stopped). It is CallEnded, but the seat is logged out
// (reason "unreachable") rather than wrapped up: calls must not be offered
// to a phone that is gone. Its next REGISTER logs it in again (auto_login).
func (d *Dispatcher) SeatLost(ctx context.Context, callID, ext string) ([]Decision, error) {
	return d.callEnded(ctx, callID, ext, true)
}

func (d *Dispatcher) callEnded(ctx context.Context, callID, ext string, lost bool) ([]Decision, error) {
	d.mu.Lock()
	now := d.now()
	wraps := d.wraps
	d.mu.Unlock()
	var talk time.Duration
	var qname string
	_, err := d.swap(ctx, ext, func(s store.Status) (store.Status, bool, error) {
		if state(s) != OnCall || s.CallID != callID {
			return s, false, fmt.Errorf("call %s, seat %s: %w", callID, ext, ErrNotOffered)
		}
		qname, talk = s.Queue, now.Sub(s.Since)
		if lost {
			return enter(s, LoggedOut, ReasonUnreachable, now), true, nil
		}
		return ended(s, wraps[s.Queue], now), true, nil
	})
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	if q, ok := d.queues[qname]; ok {
		q.RecordHandle(talk + q.Config().WrapUp)
	}
	d.mu.Unlock()
	// dispatch takes a fresh time: other events may have dispatched while
	// the seat was swapped, and offers must not be stamped before theirs.
	return d.dispatch(ctx)
}

// RetryCallback: the caller did not answer their callback, and will be
// called back again. The seats reserved for it are freed (Cancel
// decisions), and the call keeps its place in its queue but is offered no
// seat for after. ErrUnknownCall when the ACD is done with it, ErrNoCallback
// when it is not a callback.
func (d *Dispatcher) RetryCallback(ctx context.Context, callID string, after time.Duration) ([]Decision, error) {
	d.mu.Lock()
	cs, ok := d.calls[callID]
	if !ok {
		d.mu.Unlock()
		return nil, fmt.Errorf("call %s: %w", callID, ErrUnknownCall)
	}
	if !cs.callback || cs.claiming {
		d.mu.Unlock()
		return nil, fmt.Errorf("call %s in %s: %w", callID, cs.queue, ErrNoCallback)
	}
	now := d.now()
	out, err := d.withdrawLocked(ctx, cs, "", now)
	if c, waiting := d.queues[cs.queue].Get(callID); waiting {
		c.NotBefore = now.Add(after)
	} else {
		err = errors.Join(err, d.requeueLocked(ctx, cs, now, now.Add(after)))
	}
	d.mu.Unlock()
	return d.then(ctx, out, err)
}

// RequestCallback: a waiting caller asked to be called back (a key press)
// in a queue that offers it. The caller keeps their place; the engine tells
// them so and hangs up, and must not call Leave for this call. When a seat
// is free for them a Callback decision comes. ErrCallbackKept when their
// number has a kept place in the queue already (the call keeps waiting).
func (d *Dispatcher) RequestCallback(ctx context.Context, callID string) ([]Decision, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cs, ok := d.calls[callID]
	if !ok {
		return nil, fmt.Errorf("call %s: %w", callID, ErrUnknownCall)
	}
	q := d.queues[cs.queue]
	c, waiting := q.Get(callID)
	if !waiting || !q.Config().Callback || cs.noCallback {
		return nil, fmt.Errorf("call %s in %s: %w", callID, cs.queue, ErrNoCallback)
	}
	if other := d.keptForLocked(cs); other != "" {
		return nil, fmt.Errorf("call %s in %s (kept: %s): %w", callID, cs.queue, other, ErrCallbackKept)
	}
	now := d.now()
	c.Callback, cs.callback = true, true
	c.Kept, cs.kept = now, now
	if err := d.st.PutEntry(ctx, d.entry(cs.queue, *c)); err != nil {
		return nil, err
	}
	cs.stored = true
	return nil, nil
}
