package call

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/internal/guard"
	"github.com/hotline-cc/hotline/media"
	"github.com/hotline-cc/hotline/queue"
	"github.com/hotline-cc/hotline/records"
	"github.com/hotline-cc/hotline/sip"
	"github.com/hotline-cc/hotline/store"
)

// evACD carries one ACD decision to the call it concerns.
type evACD struct{ d acd.Decision }

// acdTimeout bounds one call into the dispatcher (the Redis store's round
// trips; the memory store never blocks).
const acdTimeout = 2 * time.Second

// endNoService: the ACD's store cannot be reached; the caller is told so
// rather than left waiting in a queue nobody serves.
var endNoService = reason{"acd_unavailable", 503, endError.level}

// acdAgents are the configured seats as ACD agents.
func acdAgents(cfg *config.Config) []acd.Agent {
	out := make([]acd.Agent, 0, len(cfg.Seats))
	for _, s := range cfg.Seats {
		skills := make(map[string]int, len(s.Skills))
		for _, sl := range s.Skills {
			skills[sl.Skill] = sl.Level
		}
		out = append(out, acd.Agent{Ext: s.Extension, Name: s.Name, Skills: skills})
	}
	return out
}

// configureACD applies a config generation to the dispatcher.
func (e *Engine) configureACD(cfg *config.Config) error {
	if err := e.acd.Configure(acdConfigFrom(cfg)); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), acdTimeout)
	defer cancel()
	return e.acd.SetAgents(ctx, acdAgents(cfg))
}

// route hands each decision to the call it concerns (any goroutine; never
// blocks). A decision for a call that has gone is dropped: the dispatcher
// has been or will be told by that call's end. The first Callback decision
// for a kept place starts its callback.
func (e *Engine) route(ds []acd.Decision) {
	for _, d := range ds {
		to, drop, why := e.recipient(d)
		if drop != nil && why == endShutdown && e.persistent {
			e.releasePlace(*drop)
			continue
		}
		if drop != nil {
			e.log.Warn("queue callback given up", "callback_of", drop.acdID, "reason", why.name)
			newCallback(e, *drop).end(why)
			continue
		}
		if d.Kind == acd.Overflow && d.Dest.Kind == queue.DestCallback {
			e.mu.Lock()
			p, kept := e.pending[d.CallID]
			e.mu.Unlock()
			if kept {
				e.saveCallback(p)
			}
		}
		if to == nil || !to.tryPost(evACD{d: d}) {
			e.log.Debug("acd decision for a call that has gone", "call_id", d.CallID, "kind", d.Kind.String())
		}
	}
}

// takeOwn routes the decisions that mine does not take (it applies those
// it returns true for: its call's own). The owning call's goroutine.
func (e *Engine) takeOwn(ds []acd.Decision, mine func(acd.Decision) bool) {
	var others []acd.Decision
	for _, d := range ds {
		if !mine(d) {
			others = append(others, d)
		}
	}
	e.route(others)
}

// recipient finds (or, for a kept place's first Callback, starts) the call
// a decision is for. An Overflow to callback keeps the caller's place: it is
// noted as pending before the caller hears of it, so that a Callback right
// after finds it. drop is a kept place that cannot be called back (and
// why): the engine is draining, or it has restarted since the place was
// kept in the shared store.
func (e *Engine) recipient(d acd.Decision) (to live, drop *pendingCallback, why reason) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if cb := e.callbacks[d.CallID]; cb != nil {
		return cb, nil, why
	}
	switch {
	case d.Kind == acd.Callback:
		p, ok := e.pending[d.CallID]
		if !ok {
			p = pendingCallback{acdID: d.CallID, caller: d.Caller}
			return nil, &p, endCallbackFailed
		}
		delete(e.pending, d.CallID)
		if e.draining.Load() {
			return nil, &p, endShutdown
		}
		cb := newCallback(e, p)
		e.callbacks[d.CallID], e.calls[cb.id] = cb, cb
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			cb.run()
			e.remove(cb.id, d.CallID)
		}()
		return cb, nil, why
	case d.Kind == acd.Overflow && d.Dest.Kind == queue.DestCallback:
		if c, ok := e.calls[d.CallID].(*Call); ok {
			if p, ok := c.callbackPlace(); ok {
				e.pending[d.CallID] = p
			}
		}
	}
	if c := e.calls[d.CallID]; c != nil {
		return c, nil, why
	}
	return nil, nil, why
}

// keepPlace notes a caller's kept place (the ACD is about to keep it);
// dropPlace forgets it (the ACD did not, or the caller left first).
func (e *Engine) keepPlace(p pendingCallback) {
	e.mu.Lock()
	e.pending[p.acdID] = p
	e.mu.Unlock()
}

func (e *Engine) dropPlace(acdID string) {
	e.mu.Lock()
	delete(e.pending, acdID)
	e.mu.Unlock()
}

// Run drives the dispatcher's clock (wrap-up ends, registration expiry,
// overflow, announcements, crash recovery, callback expiry) once a second
// until ctx ends; this node's beat in the store runs beside it. First it
// puts back the callback places kept before this start (kept.go).
func (e *Engine) Run(ctx context.Context) {
	go e.beat(ctx)
	func() {
		defer guard.Recover(e.log, "callbacks", nil)
		e.restoreCallbacks(ctx)
	}()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.tick(ctx)
		}
	}
}

// beat announces this node in the store once a second until ctx ends (on
// its own goroutine: a slow tick does not make the node look dead).
func (e *Engine) beat(ctx context.Context) {
	defer guard.Recover(e.log, "acd", nil)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	failing := false
	for {
		failing = e.beatOnce(ctx, failing)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// beatOnce is one beat; it logs the first failure of a run and the
// recovery, and reports whether it failed. A panic in it is logged and
// counted, and the next beat comes all the same.
func (e *Engine) beatOnce(ctx context.Context, failing bool) (failed bool) {
	defer guard.Recover(e.log, "acd", func(any) { failed = true })
	bctx, cancel := context.WithTimeout(ctx, time.Second)
	err := e.acd.Beat(bctx)
	cancel()
	switch {
	case err != nil && !failing && ctx.Err() == nil:
		e.log.Warn("node beat failed: no crash recovery until it works", "error", err)
	case err == nil && failing:
		e.log.Info("node beat works again")
	}
	return err != nil
}

// tick is one second of the dispatcher's clock; a panic in it is logged
// and counted, and the next tick comes all the same.
func (e *Engine) tick(ctx context.Context) {
	defer guard.Recover(e.log, "acd", nil)
	tctx, cancel := context.WithTimeout(ctx, acdTimeout)
	ds, err := e.acd.Tick(tctx)
	cancel()
	if err != nil {
		e.log.Warn("acd tick", "error", err)
	}
	e.route(ds)
	e.expireCallbacks(ctx)
}

// holds reports whether this engine still has the ACD call callID: a
// caller's call, or a queue callback (known by the asking call's id). The
// ACD calls it under its lock (lock order: the dispatcher's, then e.mu).
func (e *Engine) holds(callID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls[callID] != nil || e.callbacks[callID] != nil
}

// Recovered is the number of seats freed and queue entries deleted by the
// ACD's crash recovery since start (metrics).
func (e *Engine) Recovered() (seats, entries uint64) { return e.acd.Recovered() }

// Boot is this process's incarnation of its node in the shared store.
func (e *Engine) Boot() string { return e.acd.Boot() }

// SeatRegistered tells the ACD a seat's phone registered (a logged-out demo
// seat is logged in) or went away.
func (e *Engine) SeatRegistered(r sip.Registration, registered bool) {
	ctx, cancel := context.WithTimeout(context.Background(), acdTimeout)
	defer cancel()
	if !registered {
		if err := e.acd.Unregister(ctx, r.Extension); err != nil && !errors.Is(err, acd.ErrUnknownAgent) {
			e.log.Warn("acd unregister", "seat", r.Extension, "error", err)
		}
		return
	}
	ds, err := e.acd.Register(ctx, r.Extension, r.Target(), r.Expires)
	if err != nil && !errors.Is(err, acd.ErrUnknownAgent) {
		e.log.Warn("acd register", "seat", r.Extension, "error", err)
	}
	e.route(ds)
}

// seatsFreed: an internal call ended, so its seats may take queue calls
// again; the ACD offers them the waiting calls now.
func (e *Engine) seatsFreed() {
	ctx, cancel := context.WithTimeout(context.Background(), acdTimeout)
	defer cancel()
	ds, err := e.acd.Dispatch(ctx)
	if err != nil {
		e.log.Warn("acd dispatch", "error", err)
	}
	e.route(ds)
}

// onQueueCall: the ACD has seat ext ringing for or on a queue call.
func (e *Engine) onQueueCall(ext string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), acdTimeout)
	defer cancel()
	on, err := e.acd.OnQueueCall(ctx, ext)
	return on && err == nil
}

// AgentCommand changes an agent's state (HTTP API, feature codes).
func (e *Engine) AgentCommand(ext string, cmd acd.Command) (store.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), acdTimeout)
	defer cancel()
	st, ds, err := e.acd.Command(ctx, ext, cmd)
	e.route(ds)
	return st, err
}

// enqueue puts the caller in the ACD queue of their skill and plays music
// until a seat is offered (evACD Offer).
func (c *Call) enqueue() *reason {
	if c.waitFrom.IsZero() {
		c.waitFrom = c.e.opts.Now()
	}
	c.setState(stWaiting)
	c.queue = c.rec.Queue
	c.notePlace()
	c.holdMusic()
	ctx, cancel := context.WithTimeout(context.Background(), acdTimeout)
	defer cancel()
	ds, err := c.e.acd.Arrive(ctx, acd.Arrival{CallID: c.id, Caller: c.rec.Caller, Queue: c.rec.Queue, Priority: c.priority,
		NoCallback: !c.callable})
	if err != nil {
		c.log.Error("the ACD refused the call", "queue", c.rec.Queue, "error", err)
		// A seat may have been reserved for it before the store failed:
		// Leave (at the end) frees it; the others' decisions go on.
		c.inACD = true
		c.takeOwn(ds)
		return reasonPtr(endNoService)
	}
	c.inACD = true
	c.journal(records.EventCallQueued)
	if q, ok := c.cfg.Queue(c.queue); ok && q.AnnounceEvery == 0 && c.callbackOffered() {
		// no announcements to carry the offer: it is made once, now
		c.stopPrompts()
		c.play(c.ps.callback.offer, false)
	}
	c.e.route(ds)
	return nil
}

// onDecision carries out an ACD decision about this call.
func (c *Call) onDecision(d acd.Decision) *reason {
	switch d.Kind {
	case acd.Offer:
		if c.st != stWaiting && (c.st != stRinging || len(c.offers) == 0) {
			c.log.Warn("seat offered while not waiting", "seat", d.Agent, "state", c.st.String())
			return nil
		}
		return c.offerSeat(seatOffer{ext: d.Agent, contact: d.Contact})
	case acd.Cancel:
		c.withdrawOffer(d.Agent)
	case acd.Announce:
		c.log.Info("queue position", "position", d.Position, "wait", d.Wait)
		if c.st == stWaiting {
			c.announcePosition(d.Position, d.Wait)
		}
	case acd.Overflow:
		return c.overflow(d.Dest)
	case acd.Finished:
		c.applyResult(d.Result)
	}
	return nil
}

// endOverflow: the queue was full or the wait too long, and its overflow
// destination ends the call here (a message, or none: refused busy).
var endOverflow = reason{"overflow", 486, endAnswered.level}

// overflow carries out a queue's overflow destination.
func (c *Call) overflow(dest queue.Destination) *reason {
	c.log.Info("overflow", "dest", dest.Kind, "queue", dest.Queue, "target", dest.Target, "message", dest.Message)
	switch dest.Kind {
	case queue.DestQueue:
		c.queue = dest.Queue
		return nil // the ACD moved the call to that queue; it keeps waiting
	case queue.DestTarget:
		c.inACD = false
		c.setState(stRinging)
		c.holdMusic()
		return c.dialOut(legTransfer, dest.Target, c.cfg.SIP.SeatRingTimeout)
	case queue.DestMessage:
		if p := c.ps.byPath[dest.Message]; p != nil {
			c.inACD = false
			c.overflowed = true
			c.stopPrompts()
			c.play(p, false)
			return nil
		}
	case queue.DestCallback:
		return c.callbackKept()
	}
	return reasonPtr(endOverflow)
}

// announcePosition tells a waiting caller at position pos (1: next) how
// many callers are ahead and, when the ACD can estimate it, about how many
// minutes they will wait; then the callback offer where the queue makes
// one. Music resumes after it.
func (c *Call) announcePosition(pos int, wait time.Duration) {
	ps := c.ps
	if ps.ahead == nil || ps.waiting == nil || pos < 1 {
		return
	}
	list := append([]*media.Prompt{ps.ahead}, ps.number(pos-1)...)
	list = append(list, ps.waiting)
	if wait > 0 && ps.waitAbout != nil && ps.minutes != nil {
		minutes := min(int((wait+time.Minute-1)/time.Minute), 99)
		list = append(list, ps.waitAbout)
		list = append(list, ps.number(minutes)...)
		list = append(list, ps.minutes)
	}
	if c.callbackOffered() {
		list = append(list, ps.callback.offer)
	}
	c.stopPrompts()
	c.list = append(c.list, list[1:]...)
	c.play(list[0], false)
}

// number is n read digit by digit (the prompt set's digit-N.wav).
func (ps *promptSet) number(n int) []*media.Prompt {
	var out []*media.Prompt
	for _, d := range strconv.Itoa(n) {
		if p := ps.digits[d-'0']; p != nil {
			out = append(out, p)
		}
	}
	return out
}

// applyResult copies the ACD's outcome into the record.
func (c *Call) applyResult(r *acd.Result) {
	if r == nil {
		return
	}
	c.inACD = false
	resultToRecord(&c.rec, r)
}

// resultToRecord copies what the ACD knows of a call into its record.
func resultToRecord(rec *records.Record, r *acd.Result) {
	rec.Queue, rec.Skill = r.Queue, r.Skill
	if !r.Arrived.IsZero() {
		t := records.Time(r.Arrived)
		rec.QueuedAt = &t
	}
	if !r.OfferedAt.IsZero() {
		t := records.Time(r.OfferedAt)
		rec.OfferedAt = &t
	}
	if !r.AnsweredAt.IsZero() {
		t := records.Time(r.AnsweredAt)
		rec.AnsweredAt = &t
		rec.Agent = r.Agent
	}
	rec.WaitMs = r.Wait.Milliseconds()
	rec.SeatsRung, rec.SeatsMissed = r.Rung, r.Missed
	rec.WithinServiceLevel = r.WithinServiceLevel
}

// seatMissed tells the ACD that seat did not take the offer of acdID (err
// says how: rang out, busy, unreachable) and returns its decisions.
func (e *Engine) seatMissed(log *slog.Logger, acdID, seat string, err error) []acd.Decision {
	why := acd.NoAnswer
	var rej *sip.RejectError
	switch {
	case errors.Is(err, errNoAnswer):
	case errors.As(err, &rej) && (rej.Code == 486 || rej.Code == 600 || rej.Code == 603):
		why = acd.Busy
	case errors.As(err, &rej):
	default:
		why = acd.Unreachable
	}
	ctx, cancel := context.WithTimeout(context.Background(), acdTimeout)
	defer cancel()
	ds, aerr := e.acd.NotAnswered(ctx, acdID, seat, why)
	if aerr != nil && !errors.Is(aerr, acd.ErrUnknownCall) && !errors.Is(aerr, acd.ErrNotOffered) {
		log.Warn("acd not-answered", "seat", seat, "error", aerr)
	}
	return ds
}

// leaveACD tells the ACD the call is over: the caller left while waiting or
// ringing, or a bridged call ended (the seat starts its wrap-up).
func (c *Call) leaveACD() {
	ctx, cancel := context.WithTimeout(context.Background(), acdTimeout)
	defer cancel()
	var ds []acd.Decision
	var err error
	switch {
	case c.answeredSeat != "" && c.seatLost:
		ds, err = c.e.acd.SeatLost(ctx, c.id, c.answeredSeat)
	case c.answeredSeat != "":
		ds, err = c.e.acd.CallEnded(ctx, c.id, c.answeredSeat)
	case c.inACD:
		c.e.dropPlace(c.id) // an overflow to callback raced the hang-up
		ds, err = c.e.acd.Leave(ctx, c.id)
	default:
		return
	}
	if err != nil && !errors.Is(err, acd.ErrUnknownCall) {
		c.log.Warn("acd leave", "error", err)
	}
	c.takeOwn(ds)
}

// takeOwn applies the decisions about this call at once (it may be ending)
// and routes the rest.
func (c *Call) takeOwn(ds []acd.Decision) {
	var others []acd.Decision
	for _, d := range ds {
		if d.CallID == c.id && d.Kind == acd.Finished {
			c.applyResult(d.Result)
			continue
		}
		others = append(others, d)
	}
	c.e.route(others)
}
