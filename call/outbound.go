package call

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/media"
	"github.com/hotline-cc/hotline/records"
	"github.com/hotline-cc/hotline/sip"
)

// Outbound calls (回访 follow-ups and 漏接回拨 missed-call calls): POST
// /api/v1/outbound asks the engine to call a citizen and put a seat on the
// line. The seat comes first: the ACD reserves it (the one named, or a
// ready seat of the queue's skill; never queued: none ready is refused,
// acd.Dispatcher.Reserve), it rings, and once the agent answers they hear
// a whisper of the purpose (outbound-<purpose>.wav, else
// callback-whisper.wav). Then the citizen is dialled through the trunk's
// outbound address and, once they answer, bridged to the seat. A citizen
// who does not answer (the ACD's callback_ring), is busy or cannot be
// reached ends the call (no_answer, busy, failed) and the seat is released
// as after any call (wrap-up). One record per call, line_mode "outbound",
// with its purpose. Only numbers callback_numbers allows, only within
// calling_hours. Like a callback, the outbound call's goroutine owns its
// legs; the SIP and media layers post it events.

// Outbound purposes.
const (
	PurposeFollowUp = "followup"
	PurposeMissed   = "missed"
)

// Refusals of Engine.Outbound, by their HTTP answer.
var (
	ErrOutboundInvalid = errors.New("call: bad outbound request")             // 400
	ErrOutboundRefused = errors.New("call: outbound call refused")            // 403
	ErrOutboundUnknown = errors.New("call: unknown queue or agent")           // 404
	ErrOutboundNoSeat  = errors.New("call: no seat ready for the call")       // 409
	ErrOutboundNoTrunk = errors.New("call: no trunk has an outbound address") // 503
)

// OutboundRequest is what POST /api/v1/outbound asks: call Number for
// Purpose with seat Agent, or with a ready seat of Queue; Of names the
// earlier call it follows up ("" none).
type OutboundRequest struct {
	Number, Queue, Agent, Purpose, Of string
}

// outboundState is where an outbound call is.
type outboundState int

const (
	obRinging  outboundState = iota // the seat rings
	obWhisper                       // the agent hears the purpose
	obDialling                      // the citizen's phone rings
	obBridged                       // agent and citizen talk
	obEnded
)

var outboundStateNames = [...]string{"outbound_ringing", "outbound_whisper", "outbound_dialling", "bridged", "ended"}

// Ends of an outbound call that did not reach the citizen.
var (
	endNoAnswer     = reason{"no_answer", 0, endAnswered.level}
	endFailed       = reason{"failed", 0, endAnswered.level}
	endSeatNoAnswer = reason{"seat_no_answer", 0, endAnswered.level}
	endCancelled    = reason{"cancelled", 0, endAnswered.level} // the agent hung up before the citizen answered
)

// outbound is one outbound call: the seat's leg, the citizen's leg (nil
// until dialled) and the record. Owned by its goroutine, like a Call.
type outbound struct {
	e      *Engine
	id     string // its record's and the ACD's call id
	log    *slog.Logger
	cfg    *config.Config
	ps     *promptSet
	inbox  chan any
	done   chan struct{}
	st     outboundState
	target string // the citizen's Request-URI through the trunk
	from   string // the calling number presented to the citizen

	seat       *leg
	ext        string
	whisperGen int
	onCall     bool // the ACD has the seat on this call (Answered)
	seatLost   bool
	citizen    *leg

	rec       records.Record
	recording recording
	start     time.Time
	talkFrom  time.Time

	snapshot
}

// Outbound places an outbound call and returns its call id once the seat
// rings; the rest happens on the call's own goroutine. Errors: ErrDraining,
// ErrOutboundInvalid, ErrOutboundRefused (the number, the hour),
// ErrOutboundUnknown, ErrOutboundNoSeat, ErrOutboundNoTrunk. Called from
// the API's goroutine; blocks on the ACD's store only.
func (e *Engine) Outbound(req OutboundRequest) (string, error) {
	if e.draining.Load() {
		return "", ErrDraining
	}
	cfg, ps := e.config(), e.prompts.Load()
	if err := checkOutbound(cfg, ps.plan.Open, req, e.opts.Now().In(e.opts.Location)); err != nil {
		return "", err
	}
	trunk, ok := outboundTrunk(cfg, "", e.opts.TrunkUp)
	if !ok {
		return "", ErrOutboundNoTrunk
	}
	ob := newOutbound(e, cfg, ps, req, trunk.OutboundURI(req.Number))
	e.wg.Add(1) // before the table has it: Drain waits for every call it saw
	e.mu.Lock()
	e.calls[ob.id] = ob // before the seat is held: the ACD's recovery asks (holds)
	e.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), acdTimeout)
	d, err := e.acd.Reserve(ctx, acd.Reservation{CallID: ob.id, Caller: req.Number, Queue: req.Queue, Agent: req.Agent})
	cancel()
	if err != nil {
		e.remove(ob.id, "")
		e.wg.Done()
		return "", outboundRefusal(err)
	}
	go func() {
		defer e.wg.Done()
		ob.run(d)
		e.remove(ob.id, "")
	}()
	return ob.id, nil
}

// checkOutbound is the request's own rules: a purpose, a number, a queue
// or an agent, the number allowed by callback_numbers, the hour within
// calling_hours (open tells whether an hours set is open at a time).
func checkOutbound(cfg *config.Config, open func(string, time.Time) bool, r OutboundRequest, now time.Time) error {
	switch {
	case r.Purpose != PurposeFollowUp && r.Purpose != PurposeMissed:
		return fmt.Errorf(`%w: purpose must be "followup" or "missed", not %q`, ErrOutboundInvalid, r.Purpose)
	case r.Number == "":
		return fmt.Errorf("%w: no number", ErrOutboundInvalid)
	case r.Queue == "" && r.Agent == "":
		return fmt.Errorf("%w: a queue or an agent is needed", ErrOutboundInvalid)
	case !cfg.CallbackNumber(r.Number):
		return fmt.Errorf("%w: number not allowed: %q is not in callback_numbers", ErrOutboundRefused, r.Number)
	case !open(cfg.CallingHours, now):
		return fmt.Errorf("%w: outside calling hours (%s)", ErrOutboundRefused, cfg.CallingHours)
	}
	return nil
}

// outboundRefusal maps the ACD's refusal of a seat to Outbound's errors.
func outboundRefusal(err error) error {
	switch {
	case errors.Is(err, acd.ErrUnknownAgent), errors.Is(err, acd.ErrUnknownQueue):
		return fmt.Errorf("%w: %w", ErrOutboundUnknown, err)
	case errors.Is(err, acd.ErrNoSeat):
		return fmt.Errorf("%w: %w", ErrOutboundNoSeat, err)
	}
	return err
}

func newOutbound(e *Engine, cfg *config.Config, ps *promptSet, req OutboundRequest, target string) *outbound {
	ob := &outbound{
		e: e, id: newID(), cfg: cfg, ps: ps, target: target, from: presentedLine(cfg),
		inbox: make(chan any, inboxSize), done: make(chan struct{}), start: e.opts.Now(),
	}
	ob.log = e.log.With("call_id", ob.id, "purpose", req.Purpose)
	ob.rec = records.Record{
		CallID: ob.id, Version: 1, Centre: cfg.Centre, Caller: req.Number, Dialled: req.Number, LineMode: "outbound",
		IVRPath: []string{}, Transfers: []records.Transfer{}, StartedAt: records.Time(ob.start),
		Purpose: req.Purpose, OutboundOf: req.Of,
	}
	ob.snap = CallInfo{ID: ob.id, Caller: req.Number, Dialled: req.Number, State: outboundStateNames[obRinging], StartedAt: ob.start}
	return ob
}

// presentedLine is the number an outbound call presents to the citizen:
// the centre's first main line (else its first line).
func presentedLine(cfg *config.Config) string {
	for _, l := range cfg.Lines {
		if l.Mode == "main" {
			return l.Number
		}
	}
	if len(cfg.Lines) > 0 {
		return cfg.Lines[0].Number
	}
	return ""
}

func (ob *outbound) post(ev any) bool    { return postTo(ob.inbox, ob.done, ev) }
func (ob *outbound) tryPost(ev any) bool { return tryPostTo(ob.inbox, ob.done, ev, ob.log) }

func (ob *outbound) setState(s outboundState) {
	ob.st = s
	ob.show(outboundStateNames[s], ob.ext)
}

// run is the call's goroutine: ring the seat the ACD reserved (d), then
// the events of its inbox until it ends.
func (ob *outbound) run(d acd.Decision) {
	defer close(ob.done)
	ob.ext, ob.rec.Agent, ob.rec.Queue = d.Agent, d.Agent, d.Queue
	ob.log = ob.log.With("agent", d.Agent)
	ob.journal(records.EventCallStarted)
	if r := ob.ringSeat(d.Contact); r != nil {
		ob.end(*r)
	}
	for ob.st != obEnded {
		if r := ob.handle(<-ob.inbox); r != nil {
			ob.end(*r)
		}
	}
}

func (ob *outbound) handle(ev any) *reason {
	switch ev := ev.(type) {
	case evSeatAnswer:
		return ob.onSeatAnswer(ev.err)
	case evWhisperDone:
		if ev.gen == ob.whisperGen && ob.st == obWhisper {
			return ob.dialCitizen()
		}
	case evCallerAnswer:
		return ob.onCitizenAnswer(ev.err)
	case evACD:
		return ob.onDecision(ev.d)
	case evLeg:
		return ob.onLeg(ev)
	case evRTPTimeout:
		ob.seatLost = ev.b && ob.onCall
		return reasonPtr(endRTPTimeout)
	case evShutdown:
		return reasonPtr(endShutdown)
	}
	return nil
}

// ringSeat rings the reserved seat; the citizen's number is shown.
func (ob *outbound) ringSeat(contact string) *reason {
	ob.setState(obRinging)
	sess, err := ob.openSession(true, sip.Format{Name: supportedCodecs[0]})
	if err != nil {
		ob.log.Error("no RTP session for the seat", "error", err)
		return reasonPtr(endNoMedia)
	}
	ob.seat = &leg{kind: legSeat, ext: ob.ext, m: sess, sdp: newLegSDP(), rangAt: ob.e.opts.Now()}
	ob.seat.sdp.srtp.policy = srtpPolicy(ob.cfg, legSeat, ob.ext, contact)
	err = ob.seat.dial(ob.e.dialer, supportedCodecs[0], ob.cfg.SIP.SeatRingTimeout,
		sip.DialOptions{Target: contact, FromUser: ob.rec.Caller, FromDisplay: ob.rec.Purpose},
		ob.post, nil, func(err error) any { return evSeatAnswer{err: err} })
	if err != nil {
		ob.log.Warn("dialling the seat failed", "error", err)
		return reasonPtr(endSeatNoAnswer)
	}
	ob.seat.d.SetEvents(func(ev sip.Event) { ob.post(evLeg{b: true, ev: ev}) })
	ob.log.Info("outbound: ringing the seat", "number", ob.rec.Caller)
	return nil
}

// onSeatAnswer: the agent answered (the ACD puts the seat on the call and
// the agent hears the purpose) or not (the call ends).
func (ob *outbound) onSeatAnswer(err error) *reason {
	if err = ob.seat.settle(ob.log, err); err != nil {
		ob.log.Info("the seat did not take the outbound call", "error", err)
		ob.seat.d = nil
		return reasonPtr(endSeatNoAnswer)
	}
	ctx, cancel := context.WithTimeout(context.Background(), acdTimeout)
	ds, err := ob.e.acd.Answered(ctx, ob.id, ob.ext)
	cancel()
	ob.takeOwn(ds)
	if err != nil {
		ob.log.Error("acd: the seat's answer not recorded", "error", err)
		return reasonPtr(endError)
	}
	ob.onCall = true
	ob.log.Info("outbound: the seat answered")
	if w := ob.ps.outbound[ob.rec.Purpose]; w != nil {
		ob.setState(obWhisper)
		ob.whisperGen++
		gen := ob.whisperGen
		ob.seat.m.Play(w, false, func() { ob.tryPost(evWhisperDone{gen: gen}) })
		return nil
	}
	return ob.dialCitizen()
}

// dialCitizen rings the citizen through the trunk, within the ACD's
// callback_ring.
func (ob *outbound) dialCitizen() *reason {
	ob.setState(obDialling)
	codec := ob.seat.sdp.codec
	sess, err := ob.openSession(false, codec)
	if err != nil {
		ob.log.Error("no RTP session for the citizen", "error", err)
		return reasonPtr(endNoMedia)
	}
	ob.citizen = &leg{kind: legCaller, m: sess, sdp: newLegSDP(), rangAt: ob.e.opts.Now()}
	ob.citizen.sdp.srtp.policy = srtpPolicy(ob.cfg, legCaller, "", ob.target)
	err = ob.citizen.dial(ob.e.dialer, codec.Name, ob.cfg.ACD.CallbackRing,
		sip.DialOptions{Target: ob.target, FromUser: ob.from},
		ob.post, nil, func(err error) any { return evCallerAnswer{err: err} })
	if err != nil {
		ob.log.Warn("dialling the citizen failed", "target", ob.target, "error", err)
		return reasonPtr(endFailed)
	}
	ob.citizen.d.SetEvents(func(ev sip.Event) { ob.post(evLeg{ev: ev}) })
	ob.log.Info("outbound: calling the citizen", "target", ob.target)
	return nil
}

// onCitizenAnswer: the citizen answered (bridged to the seat) or not.
func (ob *outbound) onCitizenAnswer(err error) *reason {
	if err = ob.citizen.settle(ob.log, err); err != nil {
		ob.log.Info("the citizen did not answer", "error", err)
		ob.citizen.d = nil
		return reasonPtr(citizenMissed(err))
	}
	now := ob.e.opts.Now()
	t := records.Time(now)
	ob.rec.AnsweredAt, ob.talkFrom = &t, now
	ob.rec.Codec = ob.citizen.sdp.codec.Name
	ob.seat.m.StopPlayback()
	media.Bridge(ob.citizen.m, ob.seat.m)
	ob.recording.startTwo(ob.e, ob.cfg, ob.id, &ob.rec, ob.log, ob.citizen.m, ob.seat.m)
	ob.setState(obBridged)
	ob.journal(records.EventCallAnswered)
	ob.log.Info("outbound: bridged")
	return nil
}

// citizenMissed is the end of a call whose citizen did not answer: rang
// out (or unreachable), busy, or refused otherwise.
func citizenMissed(err error) reason {
	var rej *sip.RejectError
	switch {
	case errors.Is(err, errNoAnswer), errors.Is(err, errUnreachable):
		return endNoAnswer
	case errors.As(err, &rej) && (rej.Code == 486 || rej.Code == 600 || rej.Code == 603):
		return endBusy
	}
	return endFailed
}

// onDecision: the ACD's word on this call (its Finished carries the
// queue's skill; a Cancel withdrew the seat before it answered).
func (ob *outbound) onDecision(d acd.Decision) *reason {
	switch d.Kind {
	case acd.Finished:
		if d.Result != nil {
			ob.rec.Skill = d.Result.Skill
		}
	case acd.Cancel:
		if !ob.onCall {
			ob.log.Warn("the ACD withdrew the seat")
			return reasonPtr(endSeatNoAnswer)
		}
	}
	return nil
}

// takeOwn applies the decisions about this call and routes the rest.
func (ob *outbound) takeOwn(ds []acd.Decision) {
	ob.e.takeOwn(ds, func(d acd.Decision) bool {
		if d.CallID == ob.id {
			ob.onDecision(d)
			return true
		}
		return false
	})
}

func (ob *outbound) onLeg(ev evLeg) *reason {
	switch e := ev.ev.(type) {
	case sip.EventBye:
		ob.rec.HangupBy = "caller"
		if ev.b {
			ob.rec.HangupBy = "agent"
			ob.seat.d = nil
		} else {
			ob.citizen.d = nil
		}
		if ob.st == obBridged {
			return reasonPtr(endAnswered)
		}
		return reasonPtr(endCancelled)
	case sip.EventAckLost:
		return reasonPtr(endAckLost)
	case sip.EventRefer:
		e.Reply(403) // transfers of outbound calls: not yet
	case sip.EventDTMF:
		if !ev.b && ob.st == obBridged {
			_ = ob.seat.m.SendDTMF(e.Digit, 100*time.Millisecond)
		}
	case sip.EventReinvite:
		reinviteOf(ob.log, e, ev.b, ob.citizen, ob.seat, ob.st == obBridged, ob.ps.hold)
	}
	return nil
}

func (ob *outbound) openSession(b bool, codec sip.Format) (*media.Session, error) {
	return ob.e.dialledSession(ob.cfg, ob.log, b, codec, ob.tryPost)
}

// end is the one way out of an outbound call: stop ringing, hang up both
// legs, close the media, tell the ACD (the seat's call ended: wrap-up; or
// it never answered: released), write the record.
func (ob *outbound) end(r reason) {
	if ob.st == obEnded {
		return
	}
	hangupLegs(ob.log, ob.seat, ob.citizen)
	endedAt := ob.e.opts.Now()
	ctx, cancel := context.WithTimeout(context.Background(), acdTimeout)
	var ds []acd.Decision
	var err error
	switch {
	case ob.onCall && ob.seatLost:
		ds, err = ob.e.acd.SeatLost(ctx, ob.id, ob.ext)
	case ob.onCall:
		ds, err = ob.e.acd.CallEnded(ctx, ob.id, ob.ext)
	default:
		ds, err = ob.e.acd.Leave(ctx, ob.id)
	}
	cancel()
	if err != nil && !errors.Is(err, acd.ErrUnknownCall) {
		ob.log.Warn("acd: outbound call end", "error", err)
	}
	ob.takeOwn(ds)
	ob.setState(obEnded)
	ob.recording.finish(ob.e, endedAt, &ob.rec, ob.log)
	ob.e.writeRecord(ob.log, &ob.rec, r, ob.start, endedAt, ob.talkFrom, time.Time{})
}

// journal journals the call's progress, as a Call's.
func (ob *outbound) journal(typ string) { ob.e.journal(ob.log, typ, &ob.rec) }

// outboundPrompts are the whispers an agent hears before the citizen is
// dialled, by purpose: outbound-<purpose>.wav, else callback-whisper.wav,
// else none (the citizen is dialled at once).
func outboundPrompts(cfg *config.Config) map[string]*media.Prompt {
	out := map[string]*media.Prompt{}
	fallback, _ := media.LoadPrompt(cfg.FS, config.CallbackPrompts[3])
	for _, p := range []string{PurposeFollowUp, PurposeMissed} {
		if w, err := media.LoadPrompt(cfg.FS, "outbound-"+p+".wav"); err == nil {
			out[p] = w
		} else if fallback != nil {
			out[p] = fallback
		}
	}
	return out
}
