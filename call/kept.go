package call

import (
	"context"
	"errors"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/store"
)

// Kept callback places in the store. A place is written when it is kept
// (a key press, an overflow to callback) and again when an attempt failed
// and another is due (its attempt count); it is deleted when the place is
// served, given up or expired. When the engine starts (Run) it puts the
// places its node kept back in their queues, at their place (arrival and
// priority), and the ACD calls them back when a seat is free. They outlive
// the process (kill -9 or a restart): in Redis with the Redis store, in
// DATA/callbacks.json (callbackFile) with the memory store. An engine given
// a store by its caller (Options.Store) keeps them in that store only.

// callbackFile is where the memory store's engine keeps the places, in the
// data folder.
const callbackFile = "callbacks.json"

// endCallbackExpired: a kept place was not called back within its queue's
// callback_expiry; it is given up.
var endCallbackExpired = reason{"callback_expired", 0, endAnswered.level}

// saveCallback writes p's place to the store (the ACD's view of it: queue,
// priority, arrival, when kept). A place the ACD no longer keeps (served
// meanwhile) is not written. Any goroutine; blocks on the store.
func (e *Engine) saveCallback(p pendingCallback) {
	if e.kept == nil {
		return
	}
	k, ok := e.acd.Kept(p.acdID)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), acdTimeout)
	defer cancel()
	err := e.kept.PutCallback(ctx, store.Callback{
		CallID: p.acdID, Queue: k.Queue, Caller: p.caller, Line: p.line, Target: p.target, Codec: p.codec,
		Priority: k.Priority, Arrived: k.Arrived, Kept: k.Kept, Attempt: p.attempt, Node: e.opts.Node,
	})
	if err != nil {
		e.log.Warn("queue callback place not saved: it is lost if the engine restarts", "callback_of", p.acdID, "error", err)
	}
}

// forgetCallback deletes a place from the store (served, given up,
// expired). Any goroutine; blocks on the store.
func (e *Engine) forgetCallback(acdID string) {
	if e.kept == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), acdTimeout)
	defer cancel()
	if err := e.kept.DeleteCallback(ctx, acdID); err != nil {
		e.log.Warn("queue callback place not deleted from the store", "callback_of", acdID, "error", err)
	}
}

// restoreCallbacks puts the places this node kept before it (re)started
// back in their queues. A place whose queue no longer offers callbacks, or
// whose number callback_numbers no longer allows, is given up with its
// record (callback_failed); one the store cannot give now stays there for
// the next start. Called once, from Run.
func (e *Engine) restoreCallbacks(ctx context.Context) {
	if e.kept == nil {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, acdTimeout)
	list, err := e.kept.Callbacks(sctx, e.opts.Node)
	cancel()
	if err != nil {
		e.log.Error("queue callback places not restored", "error", err)
		return
	}
	restored := 0
	for _, k := range list {
		p := pendingCallback{acdID: k.CallID, caller: k.Caller, line: k.Line, target: k.Target, codec: k.Codec, attempt: k.Attempt}
		if !e.config().CallbackNumber(k.Caller) {
			e.giveUpPlace(p, k.Queue, "the number is not in callback_numbers")
			continue
		}
		e.keepPlace(p)
		actx, cancel := context.WithTimeout(ctx, acdTimeout)
		ds, err := e.acd.RestoreCallback(actx, acd.KeptPlace{
			CallID: k.CallID, Caller: k.Caller, Queue: k.Queue, Priority: k.Priority, Arrived: k.Arrived, Kept: k.Kept,
		})
		cancel()
		switch {
		case errors.Is(err, acd.ErrUnknownQueue):
			e.dropPlace(k.CallID)
			e.giveUpPlace(p, k.Queue, "the queue no longer offers callbacks")
			continue
		case errors.Is(err, acd.ErrDuplicate):
		case err != nil:
			e.dropPlace(k.CallID)
			e.log.Warn("queue callback place not restored; kept for the next start", "callback_of", k.CallID, "error", err)
		default:
			restored++
		}
		e.route(ds)
	}
	if len(list) > 0 {
		e.log.Info("queue callback places restored", "restored", restored, "stored", len(list))
	}
}

// giveUpPlace ends a stored place that cannot be restored, on record.
func (e *Engine) giveUpPlace(p pendingCallback, queue, why string) {
	cb := newCallback(e, p)
	cb.inACD = false
	cb.rec.Queue = queue
	cb.log.Warn("queue callback given up at restore", "why", why)
	cb.end(endCallbackFailed)
}

// expireCallbacks gives up the places kept longer than their queue's
// callback_expiry (not those whose callback is under way), each with a
// record (line_mode callback, end_reason callback_expired). Called by the
// clock after the ACD's Tick.
func (e *Engine) expireCallbacks(ctx context.Context) {
	e.mu.Lock()
	var running map[string]bool
	if len(e.callbacks) > 0 {
		running = make(map[string]bool, len(e.callbacks))
		for id := range e.callbacks {
			running[id] = true
		}
	}
	e.mu.Unlock()
	tctx, cancel := context.WithTimeout(ctx, acdTimeout)
	ds, err := e.acd.ExpireCallbacks(tctx, running)
	cancel()
	if err != nil {
		e.log.Warn("acd: callback expiry", "error", err)
	}
	var others []acd.Decision
	for _, d := range ds {
		if d.Kind != acd.Finished || d.Result == nil || d.Result.Outcome != acd.CallbackExpired {
			others = append(others, d)
			continue
		}
		e.mu.Lock()
		p, ok := e.pending[d.CallID]
		delete(e.pending, d.CallID)
		e.mu.Unlock()
		if !ok {
			p = pendingCallback{acdID: d.CallID}
		}
		cb := newCallback(e, p)
		cb.inACD = false
		resultToRecord(&cb.rec, d.Result)
		cb.log.Info("queue callback expired", "queue", d.Queue)
		cb.end(endCallbackExpired)
	}
	e.route(others)
}

// releasePlace: a seat was reserved for a kept place while the engine
// drains, and the store keeps places across restarts: the seat is freed,
// the place stays in the store for the next start, and no record is
// written (nothing happened to the caller).
func (e *Engine) releasePlace(p pendingCallback) {
	ctx, cancel := context.WithTimeout(context.Background(), acdTimeout)
	ds, err := e.acd.Leave(ctx, p.acdID)
	cancel()
	if err != nil && !errors.Is(err, acd.ErrUnknownCall) {
		e.log.Warn("acd: callback place released", "error", err)
	}
	e.log.Info("queue callback kept for the next start", "callback_of", p.acdID)
	var others []acd.Decision
	for _, d := range ds {
		if d.CallID != p.acdID {
			others = append(others, d)
		}
	}
	e.route(others)
}
