package call

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/media"
	"github.com/hotline-cc/hotline/records"
	"github.com/hotline-cc/hotline/sip"
)

// Queue callback. A caller waiting in a queue with callback: true presses
// the queue's callback key (or waits past max_wait with on_max_wait:
// callback): they hear callback-confirm.wav and their call ends with
// end_reason "callback" while the ACD keeps their place. When the ACD
// reserves a seat for them (a Callback decision: a seat ready, or finishing
// its wrap-up within acd.callback_lead), a callback runs on its own
// goroutine: the engine dials the caller through their trunk's outbound
// address; once they answer they hear callback-hello.wav, then music, while
// the seat rings; the seat answers and hears callback-whisper.wav; once the
// caller has heard the greeting and the seat the whisper, both are
// bridged. A seat that does not answer goes back to the ACD and the caller
// keeps holding for the next one; a caller who does not answer ends
// the attempt and frees the seat: with attempts left (callback_attempts) it
// ends callback_no_answer and the place is kept for the next, after
// callback_retry_after; the last ends callback_failed. Each attempt writes
// its own record, line_mode "callback", callback_of naming the call that
// asked. The ACD knows the callback by the asking call's id (acdID).

// callbackPrompts are what a callback plays, loaded when a queue offers
// callbacks (nil otherwise: no queue may then keep a caller's place).
type callbackPrompts struct {
	offer, confirm, hello, whisper *media.Prompt
}

// pendingCallback is what the engine keeps of a caller whose place the ACD
// keeps, until their callback starts.
type pendingCallback struct {
	acdID   string // the asking call's id
	caller  string // the number called back
	line    string // the line they had dialled (presented as the calling number)
	target  string // the Request-URI through the trunk
	codec   string // the codec they used (offered first)
	attempt int    // callbacks made before this one
}

// callbackState is where a callback is.
type callbackState int

const (
	cbNew      callbackState = iota // waiting for the ACD's first Callback decision
	cbDialling                      // the caller's phone rings
	cbHolding                       // the caller answered and hears music; no seat rings
	cbRinging                       // a seat rings
	cbWhisper                       // the seat answered and hears the whisper
	cbBridged                       // caller and seat talk
	cbEnded
)

var callbackStateNames = [...]string{"callback", "callback_dialling", "callback_holding", "callback_ringing", "callback_whisper", "bridged", "ended"}

type (
	evCallerAnswer struct{ err error }
	evWhisperDone  struct{ gen int }
)

// callback is one queue callback: the caller's leg (dialled through the
// trunk), at most one seat leg, their sessions and the record. Owned by its
// goroutine, like a Call.
type callback struct {
	e     *Engine
	id    string // its record's call id
	p     pendingCallback
	log   *slog.Logger
	cfg   *config.Config
	ps    *promptSet
	inbox chan any
	done  chan struct{}
	st    callbackState

	caller    *leg // the citizen, dialled through the trunk (nil until dialled)
	callerGen int

	seat       *leg   // the seat's leg (nil while none rings)
	ext        string // the seat reserved for the callback now
	contact    string // its phone, rung once the caller answers
	whisperGen int
	greeted    bool   // the caller has heard the whole greeting
	whispered  bool   // the seat has heard the whole whisper
	onCall     string // the seat the caller talks to (told at the end)
	seatLost   bool   // the seat's media stopped: its phone is gone (acd.SeatLost)
	inACD      bool   // the ACD has not finished with the callback

	rec       records.Record
	recording recording
	start     time.Time
	talkFrom  time.Time

	snapshot
}

func newCallback(e *Engine, p pendingCallback) *callback {
	cb := &callback{
		e: e, id: newID(), p: p, cfg: e.config(), ps: e.prompts.Load(),
		inbox: make(chan any, inboxSize), done: make(chan struct{}),
		start: e.opts.Now(), inACD: true,
	}
	cb.log = e.log.With("call_id", cb.id, "callback_of", p.acdID)
	cb.rec = records.Record{
		CallID: cb.id, Version: 1, Centre: cb.cfg.Centre, Caller: p.caller, Dialled: p.line, LineMode: "callback",
		IVRPath: []string{}, Transfers: []records.Transfer{}, StartedAt: records.Time(cb.start),
		CallbackOf: p.acdID, Codec: p.codec,
	}
	cb.snap = CallInfo{ID: cb.id, Caller: p.caller, Dialled: p.line, State: callbackStateNames[cbNew], StartedAt: cb.start}
	return cb
}

func (cb *callback) post(ev any) bool    { return postTo(cb.inbox, cb.done, ev) }
func (cb *callback) tryPost(ev any) bool { return tryPostTo(cb.inbox, cb.done, ev, cb.log) }

func (cb *callback) setState(s callbackState) {
	cb.st = s
	cb.show(callbackStateNames[s], cb.ext)
}

func (cb *callback) run() {
	defer close(cb.done)
	for cb.st != cbEnded {
		if r := cb.handle(<-cb.inbox); r != nil {
			cb.end(*r)
		}
	}
}

// endCallbackFailed: the caller did not answer their callback (or could not
// be dialled); their place is given up and the seat freed.
var endCallbackFailed = reason{"callback_failed", 0, endAnswered.level}

func (cb *callback) handle(ev any) *reason {
	switch ev := ev.(type) {
	case evACD:
		return cb.onDecision(ev.d)
	case evCallerAnswer:
		return cb.onCallerAnswer(ev.err)
	case evSeatAnswer:
		return cb.onSeatAnswer(ev.err)
	case evPromptDone:
		if ev.gen == cb.callerGen && cb.st != cbBridged {
			cb.greeted = true
			cb.playCaller(cb.ps.hold, true)
			if cb.st == cbWhisper && cb.whispered {
				return cb.connect()
			}
		}
	case evWhisperDone:
		if ev.gen == cb.whisperGen && cb.st == cbWhisper {
			cb.whispered = true
			if cb.greeted {
				return cb.connect()
			}
		}
	case evLeg:
		return cb.onLeg(ev)
	case evRTPTimeout:
		cb.seatLost = ev.b && cb.onCall != ""
		return reasonPtr(endRTPTimeout)
	case evShutdown:
		return reasonPtr(endShutdown)
	}
	return nil
}

// onDecision: the ACD reserved a seat (Callback) or is done (Finished).
func (cb *callback) onDecision(d acd.Decision) *reason {
	switch d.Kind {
	case acd.Callback:
		cb.ext = d.Agent
		cb.rec.Queue = d.Queue
		switch cb.st {
		case cbNew:
			return cb.dialCaller(d.Contact)
		case cbHolding:
			return cb.ringSeat(d.Contact)
		}
		cb.log.Warn("callback seat reserved while busy", "seat", d.Agent, "state", callbackStateNames[cb.st])
	case acd.Finished:
		cb.inACD = false
		if d.Result != nil {
			resultToRecord(&cb.rec, d.Result)
		}
	}
	return nil
}

// dialCaller rings the caller through the trunk; contact is kept for the
// seat reserved meanwhile.
func (cb *callback) dialCaller(contact string) *reason {
	cb.setState(cbDialling)
	cb.e.journal(cb.log, records.EventCallbackDialled, &cb.rec)
	codec := sip.Format{Name: cb.p.codec}
	sess, err := cb.openSession(false, codec)
	if err != nil {
		cb.log.Error("no RTP session for the callback", "error", err)
		return reasonPtr(endNoMedia)
	}
	cb.caller = &leg{kind: legCaller, m: sess, sdp: newLegSDP(), rangAt: cb.e.opts.Now()}
	cb.caller.sdp.srtp.policy = srtpPolicy(cb.cfg, legCaller, "", cb.p.target)
	err = cb.caller.dial(cb.e.dialer, cb.p.codec, cb.cfg.ACD.CallbackRing,
		sip.DialOptions{Target: cb.p.target, FromUser: cb.p.line},
		cb.post, nil, func(err error) any { return evCallerAnswer{err: err} })
	if err != nil {
		cb.log.Warn("dialling the caller back failed", "target", cb.p.target, "error", err)
		return reasonPtr(endCallbackFailed)
	}
	cb.caller.d.SetEvents(func(ev sip.Event) { cb.post(evLeg{ev: ev}) })
	cb.contact = contact
	cb.log.Info("calling the caller back", "target", cb.p.target, "seat", cb.ext)
	return nil
}

// onCallerAnswer: the caller answered (greet them and ring the seat) or not
// (the callback has failed).
func (cb *callback) onCallerAnswer(err error) *reason {
	if err = cb.caller.settle(cb.log, err); err != nil {
		cb.log.Info("the caller did not answer the callback", "error", err)
		cb.caller.d = nil // not answered: nothing to hang up
		return reasonPtr(endCallbackFailed)
	}
	cb.rec.Codec = cb.caller.sdp.codec.Name
	cb.setState(cbHolding)
	cb.playCaller(cb.ps.callback.hello, false)
	return cb.ringSeat(cb.contact)
}

// ringSeat rings the reserved seat while the caller holds.
func (cb *callback) ringSeat(contact string) *reason {
	cb.setState(cbRinging)
	sess, err := cb.openSession(true, cb.caller.sdp.codec)
	if err != nil {
		cb.log.Error("no RTP session for the seat", "error", err)
		return reasonPtr(endNoMedia)
	}
	cb.seat = &leg{kind: legSeat, ext: cb.ext, m: sess, sdp: newLegSDP(), rangAt: cb.e.opts.Now()}
	cb.seat.sdp.srtp.policy = srtpPolicy(cb.cfg, legSeat, cb.ext, contact)
	err = cb.seat.dial(cb.e.dialer, cb.caller.sdp.codec.Name, cb.cfg.SIP.SeatRingTimeout,
		sip.DialOptions{Target: contact, FromUser: cb.p.caller, FromDisplay: "callback"},
		cb.post, nil, func(err error) any { return evSeatAnswer{err: err} })
	if err != nil {
		cb.log.Warn("dialling the seat failed", "seat", cb.ext, "error", err)
		return cb.seatFailed(err)
	}
	cb.seat.d.SetEvents(func(ev sip.Event) { cb.post(evLeg{b: true, ev: ev}) })
	cb.log.Info("ringing seat for the callback", "seat", cb.ext)
	return nil
}

// onSeatAnswer: the seat answered (it hears the whisper) or not.
func (cb *callback) onSeatAnswer(err error) *reason {
	if cb.seat == nil {
		return nil // given up meanwhile
	}
	if err = cb.seat.settle(cb.log, err); err != nil {
		return cb.seatFailed(err)
	}
	cb.setState(cbWhisper)
	cb.whispered = false
	cb.whisperGen++
	gen := cb.whisperGen
	cb.seat.m.Play(cb.ps.callback.whisper, false, func() { cb.tryPost(evWhisperDone{gen: gen}) })
	return nil
}

// seatFailed: the seat did not take the callback (or hung up during the
// whisper); the ACD offers it to the next seat while the caller holds.
func (cb *callback) seatFailed(err error) *reason {
	cb.log.Info("seat did not take the callback", "seat", cb.ext, "error", err)
	seat := cb.ext
	cb.dropSeat()
	cb.setState(cbHolding)
	cb.e.route(cb.e.seatMissed(cb.log, cb.p.acdID, seat, err))
	return nil
}

// dropSeat forgets the seat leg (hung up if it was answered).
func (cb *callback) dropSeat() {
	if cb.seat != nil {
		cb.seat.hangupLater(cb.log)
		cb.seat.drop()
		cb.seat = nil
	}
	cb.ext = ""
}

// connect: the seat has heard the whisper and the caller the greeting; the
// ACD learns the seat answered and the two are bridged.
func (cb *callback) connect() *reason {
	ctx, cancel := context.WithTimeout(context.Background(), acdTimeout)
	ds, err := cb.e.acd.Answered(ctx, cb.p.acdID, cb.ext)
	cancel()
	cb.takeOwn(ds)
	switch {
	case errors.Is(err, acd.ErrNotOffered), errors.Is(err, acd.ErrUnknownCall):
		cb.log.Warn("seat answered a withdrawn callback", "seat", cb.ext, "error", err)
		cb.dropSeat()
		cb.setState(cbHolding)
		return nil
	case err != nil:
		cb.log.Error("acd could not record the answer; the callback goes on", "seat", cb.ext, "error", err)
	}
	cb.onCall = cb.ext
	now := cb.e.opts.Now()
	cb.talkFrom = now
	if cb.rec.AnsweredAt == nil {
		t := records.Time(now)
		cb.rec.AnsweredAt, cb.rec.Agent = &t, cb.ext
	}
	cb.callerGen++ // the music's end is stale
	cb.caller.m.StopPlayback()
	media.Bridge(cb.caller.m, cb.seat.m)
	cb.recording.startTwo(cb.e, cb.cfg, cb.id, &cb.rec, cb.log, cb.caller.m, cb.seat.m)
	cb.setState(cbBridged)
	cb.log.Info("callback bridged", "agent", cb.ext)
	return nil
}

func (cb *callback) onLeg(ev evLeg) *reason {
	switch e := ev.ev.(type) {
	case sip.EventBye:
		if ev.b {
			if cb.st == cbBridged {
				cb.rec.HangupBy = "agent"
				return reasonPtr(endAnswered)
			}
			return cb.seatFailed(errors.New("the seat hung up during the whisper"))
		}
		cb.rec.HangupBy = "caller"
		if cb.st == cbBridged {
			return reasonPtr(endAnswered)
		}
		return reasonPtr(endAbandoned)
	case sip.EventAckLost:
		return reasonPtr(endAckLost)
	case sip.EventRefer:
		e.Reply(403) // transfers of callbacks: not yet
	case sip.EventDTMF:
		if !ev.b && cb.st == cbBridged && cb.seat != nil {
			_ = cb.seat.m.SendDTMF(e.Digit, 100*time.Millisecond)
		}
	case sip.EventReinvite:
		reinviteOf(cb.log, e, ev.b, cb.caller, cb.seat, cb.st == cbBridged, cb.ps.hold)
	}
	return nil
}

// playCaller plays p to the caller (looped: music until stopped).
func (cb *callback) playCaller(p *media.Prompt, loop bool) {
	cb.callerGen++
	gen := cb.callerGen
	var done func()
	if !loop {
		done = func() { cb.tryPost(evPromptDone{gen: gen}) }
	}
	cb.caller.m.Play(p, loop, done)
}

func (cb *callback) openSession(b bool, codec sip.Format) (*media.Session, error) {
	return cb.e.dialledSession(cb.cfg, cb.log, b, codec, cb.tryPost)
}

// takeOwn applies the decisions about this callback and routes the rest.
func (cb *callback) takeOwn(ds []acd.Decision) {
	cb.e.takeOwn(ds, func(d acd.Decision) bool {
		if d.CallID == cb.p.acdID && d.Kind == acd.Finished {
			cb.onDecision(d)
			return true
		}
		return false
	})
}

// end is the one way out of a callback: stop ringing, hang up both legs,
// close the media, tell the ACD (the seat's call ended, or the caller's
// place is given up), write the record.
func (cb *callback) end(r reason) {
	if cb.st == cbEnded {
		return
	}
	hangupLegs(cb.log, cb.caller, cb.seat)
	endedAt := cb.e.opts.Now()
	dropLegs(cb.caller, cb.seat)
	actx, acancel := context.WithTimeout(context.Background(), acdTimeout)
	var ds []acd.Decision
	var err error
	switch {
	case cb.onCall != "" && cb.seatLost:
		ds, err = cb.e.acd.SeatLost(actx, cb.p.acdID, cb.onCall)
	case cb.onCall != "":
		ds, err = cb.e.acd.CallEnded(actx, cb.p.acdID, cb.onCall)
	case cb.inACD && r == endCallbackFailed && cb.retry(actx, &ds):
		r = endCallbackNoAnswer
	case cb.inACD:
		ds, err = cb.e.acd.Leave(actx, cb.p.acdID)
	}
	acancel()
	if err != nil && !errors.Is(err, acd.ErrUnknownCall) {
		cb.log.Warn("acd: callback end", "error", err)
	}
	// The place stays stored while another attempt is due, or when the
	// engine stops before the caller was put through and the store keeps
	// places across restarts (the next start calls them back).
	if r != endCallbackNoAnswer && (r != endShutdown || !cb.e.persistent || cb.onCall != "") {
		cb.e.forgetCallback(cb.p.acdID)
	}
	cb.takeOwn(ds)
	cb.setState(cbEnded)
	cb.recording.finish(cb.e, endedAt, &cb.rec, cb.log)
	cb.e.writeRecord(cb.log, &cb.rec, r, cb.start, endedAt, cb.talkFrom, time.Time{})
}

// endCallbackNoAnswer: the caller did not answer this attempt; their place
// is kept for the next (queues[].callback_attempts).
var endCallbackNoAnswer = reason{"callback_no_answer", 0, endAnswered.level}

// retry keeps the caller's place for another attempt when their queue
// allows one, callback_retry_after from now: the place is noted pending
// again (this callback no longer answers for it) and the ACD told, whose
// decisions go to ds. False (nothing done) when no attempt is left, the
// engine is draining, or the ACD is done with the call.
func (cb *callback) retry(ctx context.Context, ds *[]acd.Decision) bool {
	q, ok := cb.cfg.Queue(cb.rec.Queue)
	if !ok || cb.p.attempt+1 >= q.CallbackAttempts || cb.e.draining.Load() {
		return false
	}
	next := cb.p
	next.attempt++
	cb.e.mu.Lock()
	if cb.e.callbacks[cb.p.acdID] == cb {
		delete(cb.e.callbacks, cb.p.acdID)
	}
	cb.e.pending[next.acdID] = next
	cb.e.mu.Unlock()
	out, err := cb.e.acd.RetryCallback(ctx, cb.p.acdID, q.CallbackRetry)
	if err != nil {
		cb.e.dropPlace(next.acdID)
		cb.log.Warn("acd: callback not kept for another attempt", "error", err)
		return false
	}
	*ds = out
	cb.e.saveCallback(next)
	cb.log.Info("the caller will be called back again", "attempt", next.attempt+1, "of", q.CallbackAttempts,
		"after", q.CallbackRetry)
	return true
}

// endCallbackKept: the caller's place is kept for a callback; they were told
// so and hung up.
var endCallbackKept = reason{"callback", 200, endAnswered.level}

// callbackPlace is what a callback needs to call this caller back: their
// number, the line and codec, and the trunk's outbound address (their own
// trunk's, else the first trunk that has one). Any goroutine.
func (c *Call) callbackPlace() (pendingCallback, bool) {
	c.snapMu.Lock()
	defer c.snapMu.Unlock()
	return c.place, c.place.target != ""
}

// notePlace fills what callbackPlace returns; called as the caller joins
// the ACD. Only a number that matches the centre's callback_numbers is
// ever dialled back (no international prefix, no "anonymous": toll
// fraud); any other caller is never offered a callback.
func (c *Call) notePlace() {
	out, ok := outboundTrunk(c.cfg, c.a.Origin().Trunk, c.e.opts.TrunkUp)
	p := pendingCallback{acdID: c.id, caller: c.rec.Caller, line: c.rec.Dialled, codec: c.in.sdp.codec.Name}
	if ok && c.cfg.CallbackNumber(c.rec.Caller) {
		p.target = out.OutboundURI(c.rec.Caller)
	}
	c.callable = p.target != ""
	c.snapMu.Lock()
	c.place = p
	c.snapMu.Unlock()
}

// outboundTrunk is the trunk to dial a citizen through, among those with
// an outbound address: the trunk named (the caller's own) when it is up,
// else the first that is up, else (all down: their pings may be wrong)
// the named one or the first; false when none has an address. up nil:
// every trunk is up.
func outboundTrunk(cfg *config.Config, name string, up func(string) bool) (config.Trunk, bool) {
	var out config.Trunk
	score := -1
	for _, t := range cfg.Trunks {
		if t.Outbound == "" {
			continue
		}
		s := 0
		if up == nil || up(t.Name) {
			s += 2
		}
		if t.Name == name {
			s++
		}
		if s > score {
			out, score = t, s
		}
	}
	return out, score >= 0
}

// entryURI is where a directory entry is dialled: its URI, or, when its
// number goes through a trunk that is down, the same number through
// another trunk that is up (trunk failover).
func (e *Engine) entryURI(cfg *config.Config, entry config.Entry) string {
	if entry.Trunk == "" || e.opts.TrunkUp == nil || e.opts.TrunkUp(entry.Trunk) {
		return entry.URI
	}
	if t, ok := outboundTrunk(cfg, entry.Trunk, e.opts.TrunkUp); ok && t.Name != entry.Trunk {
		return t.OutboundURI(entry.Number)
	}
	return entry.URI
}

// callbackOffered: the caller waits in a queue that offers callbacks, and
// may be called back.
func (c *Call) callbackOffered() bool {
	if c.ps.callback == nil || !c.inACD || !c.callable {
		return false
	}
	q, ok := c.cfg.Queue(c.queue)
	return ok && q.Callback
}

// askCallback: a waiting caller pressed a key. The queue's callback key
// keeps their place: the ACD is asked, and if it agrees (the call still
// waits) the caller is told and hung up.
func (c *Call) askCallback(d rune) *reason {
	if c.st != stWaiting || !c.callbackOffered() {
		return nil
	}
	if q, _ := c.cfg.Queue(c.queue); string(d) != q.CallbackKey {
		return nil
	}
	p, ok := c.callbackPlace()
	if !ok {
		c.log.Warn("callback asked but the caller cannot be called back (no number or no outbound trunk)")
		return nil
	}
	c.e.keepPlace(p)
	ctx, cancel := context.WithTimeout(context.Background(), acdTimeout)
	ds, err := c.e.acd.RequestCallback(ctx, c.id)
	cancel()
	if errors.Is(err, acd.ErrCallbackKept) {
		c.e.dropPlace(c.id)
		c.e.route(ds)
		return c.callbackKeptAlready(err)
	}
	if err != nil {
		c.e.dropPlace(c.id)
		c.log.Info("callback not kept", "error", err)
		c.e.route(ds)
		return nil
	}
	c.e.saveCallback(p)
	c.e.route(ds)
	return c.callbackKept()
}

// endCallbackDuplicate: the caller asked for a callback while their number
// already has a kept place in the queue; they heard the confirmation (the
// earlier place will be called back) and this call left the queue.
var endCallbackDuplicate = reason{"callback_duplicate", 200, endAnswered.level}

// callbackKeptAlready: one kept place per number per queue. The caller is
// told they will be called back (the earlier place stands: it keeps its
// earlier arrival), this call leaves the queue, and ends
// endCallbackDuplicate once the confirmation has played.
func (c *Call) callbackKeptAlready(err error) *reason {
	c.log.Info("queue callback: the number already has a kept place", "queue", c.queue, "error", err)
	c.leaveACD()
	c.kept, c.keptAlready = true, true
	c.stopPrompts()
	c.play(c.ps.callback.confirm, false)
	return nil
}

// callbackKept: the ACD keeps the caller's place for a callback; they hear
// so, then the call ends (endCallbackKept).
func (c *Call) callbackKept() *reason {
	if _, ok := c.callbackPlace(); !ok || c.ps.callback == nil {
		c.log.Error("queue callback kept but the caller cannot be called back: released")
		return reasonPtr(endOverflow)
	}
	c.log.Info("queue callback: the caller's place is kept", "queue", c.queue)
	defer c.journal(records.EventCallbackKept)
	c.inACD = false
	c.kept = true
	if !c.waitFrom.IsZero() {
		t := records.Time(c.waitFrom)
		c.rec.QueuedAt = &t
	}
	c.stopPrompts()
	c.play(c.ps.callback.confirm, false)
	return nil
}
