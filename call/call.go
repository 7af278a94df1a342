package call

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/ivr"
	"github.com/hotline-cc/hotline/media"
	"github.com/hotline-cc/hotline/records"
	"github.com/hotline-cc/hotline/sip"
)

// Internal events of a call. Everything that happens to a call arrives as one
// of these (or a sip.Event wrapped in evLeg) on its inbox.
type (
	evLeg struct {
		b   bool // from the seat/outbound leg
		x   bool // from a transfer's leg
		mon bool // from a supervisor's leg
		ev  sip.Event
	}
	evAnswered   struct{ err error }
	evPromptDone struct{ gen int }
	evRinging    struct{}
	evSeatAnswer struct{ err error }
	evDTMF       struct {
		digit rune
		via   string
		seat  bool // from the agent's phone
	}
	evRTPTimeout struct{ b bool }
	evShutdown   struct{}
	evFault      struct{} // a helper goroutine of the call panicked
	evIVRTimeout struct{ gen int }
)

// state is where a call is in its life.
type state int

const (
	stAdmitting state = iota
	stAnswering
	stIVR
	stWaiting
	stRinging
	stBridged
	stEnded
	stConsult      // an agent's consult transfer: the caller holds, the agent is with the entry (ringing or answered)
	stTransferring // a blind transfer: the agent has left, the caller holds while the entry rings
	stConference   // caller, agent and a directory entry in a three-way call
	stMonitoring   // a supervisor's phone monitoring another call (*31<ext>)
	stSurvey       // the agent hung up; the caller is asked for a grade (survey.go)
)

var stateNames = [...]string{"admitting", "answering", "ivr", "waiting", "ringing", "bridged", "ended", "consult", "transferring", "conference", "monitoring", "survey"}

func (s state) String() string { return stateNames[s] }

// Call is one caller's call: the inbound leg, at most one seat leg, their
// media sessions and the record being built. Its fields are owned by the
// goroutine running run(), except snap (under snapMu).
type Call struct {
	e        *Engine
	id       string
	log      *slog.Logger
	cfg      *config.Config
	ps       *promptSet
	mb       *mailbox
	ended    atomic.Bool
	recorded bool // end wrote the record
	// bounds: digits beyond the record's maxDigits; prompts the IVR
	// played; the reason to end with once the goodbye prompt has played
	digitsOver int
	ivrPlays   int
	closing    *reason

	a         callerLeg // the caller's SIP; in is their party (media, SDP)
	in        leg
	aOfferDir string
	// lateOffer: the caller's INVITE had no SDP; our 200 carries the
	// offer until its ACK brings the answer.
	lateOffer bool
	line      config.Line
	ivr       *ivr.Session
	fallback  bool            // the department did not answer: straight to the queue
	feature   bool            // a seat dialled a feature code: confirm and hang up
	list      []*media.Prompt // prompts still to play after the current one
	ivrTimer  *time.Timer
	se        sessionTimer // the caller's session timer (sessiontimer.go)
	timerGen  int
	priority  int
	toSeat    string // seat-to-seat: the extension called
	fromSeat  string // seat-to-seat: the calling extension

	b     *leg // the party dialled for the caller: a seat, a department, a transfer target
	seat  string
	xfer  *transfer   // an agent's transfer in progress (transfer.go)
	keys  string      // the agent's keys so far (keys.go)
	keyAt time.Time   // when the last came
	room  *media.Room // the mixing room of a three-way or monitored call (nil: two parties relay)
	mon   *monitor    // a supervisor's monitoring (monitor.go)
	// watching: this is a supervisor's call (*31<ext>) whose session is in
	// that call's room (monitor.go, monitorByPhone)
	watching *Call
	// ACD bookkeeping: the call waits in (or was offered by) the ACD; the
	// seats ringing for it; the seat that answered through it (told when
	// the call ends).
	inACD        bool
	offers       []*leg // seats ringing for the call (queue offers)
	overflowed   bool   // the overflow message plays; the call ends after it
	queue        string
	kept         bool            // a callback keeps the caller's place: the confirmation plays, then the call ends
	keptAlready  bool            // kept: the place is the number's earlier one (endCallbackDuplicate)
	place        pendingCallback // what a callback needs (under snapMu)
	callable     bool            // the caller may be called back (notePlace)
	answeredSeat string
	seatLost     bool // the answered seat's media stopped: its phone is gone (acd.SeatLost)

	st        state
	playGen   int
	moh       bool
	waitFrom  time.Time
	rec       records.Record
	recording recording // the call's recording (recording.go)
	start     time.Time
	talkFrom  time.Time

	snapshot
}

// callerLeg is what a Call asks of its inbound leg; *sip.InboundLeg
// implements it (the unit tests, a fake).
type callerLeg interface {
	CallID() string
	Tags() (from, to string)
	Caller() string
	CallerName() string
	Dialled() string
	Source() netip.AddrPort // where its SIP comes from
	Origin() sip.Origin
	SetEvents(f func(sip.Event))
	HasOffer() bool
	Offer() (sip.MediaDesc, error)
	Answer(sdp []byte) error
	AckSDP() []byte // the answer in the ACK, after a late offer
	Answered() bool
	Ringing() error
	Context() context.Context
	Hangup(ctx context.Context, code int) error
	SessionExpires() time.Duration // RFC 4028 session interval; 0: none
	EngineRefreshes() bool         // the engine refreshes the session (refresher=uas)
	Refresh(ctx context.Context) error
}

func newCall(e *Engine, inbound callerLeg) *Call {
	c := &Call{
		e: e, id: newID(), a: inbound, in: leg{kind: legCaller},
		cfg: e.config(), ps: e.prompts.Load(),
		mb: newMailbox(), start: e.opts.Now(),
	}
	c.log = e.log.With("call_id", c.id, "sip_call_id", inbound.CallID())
	c.rec = records.Record{
		CallID: c.id, Version: 1, SIPCallID: inbound.CallID(), Centre: c.cfg.Centre, Caller: inbound.Caller(), Dialled: inbound.Dialled(),
		IVRPath: []string{}, Transfers: []records.Transfer{},
		StartedAt: records.Time(c.start),
	}
	c.snap = CallInfo{ID: c.id, Caller: inbound.Caller(), Dialled: inbound.Dialled(), StartedAt: c.start}
	inbound.SetEvents(func(ev sip.Event) { c.post(evLeg{ev: ev}) })
	return c
}

// post delivers an event to the call's goroutine (any goroutine; never
// blocks); false once the call has ended, or for a digit dropped in a flood
// (see mailbox).
func (c *Call) post(ev any) bool { return c.mb.post(ev) }

// tryPost is post: no event the call needs is dropped (the engine's live
// interface, shared with callbacks, whose inbox may refuse).
func (c *Call) tryPost(ev any) bool { return c.mb.post(ev) }

// postTo delivers an event to a callback's inbox (callback.go), blocking
// only while the inbox is full and the callback alive.
func postTo(inbox chan any, done chan struct{}, ev any) bool {
	select {
	case <-done:
		return false
	default:
	}
	select {
	case inbox <- ev:
		return true
	case <-done:
		return false
	}
}

// inboxSize bounds a callback's pending events.
const inboxSize = 64

// tryPostTo delivers an event without ever blocking, for shared goroutines:
// the engine routing ACD decisions, the media pacer and RTP readers. false
// when the call has ended or its inbox is full.
func tryPostTo(inbox chan any, done chan struct{}, ev any, log *slog.Logger) bool {
	select {
	case <-done:
		return false
	default:
	}
	select {
	case inbox <- ev:
		return true
	default:
		log.Error("call inbox full: event dropped", "event", fmt.Sprintf("%T", ev))
		return false
	}
}

// snapshot is the part of a call that other goroutines read (the calls
// API): its row, under its own lock.
type snapshot struct {
	snapMu sync.Mutex
	snap   CallInfo
}

func (s *snapshot) info() CallInfo {
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	return s.snap
}

// show updates the row's state and agent.
func (s *snapshot) show(state, agent string) {
	s.snapMu.Lock()
	s.snap.State, s.snap.Agent = state, agent
	s.snapMu.Unlock()
}

func (c *Call) setState(s state) {
	c.st = s
	c.tapRecording()
	c.show(s.String(), c.seat)
}

// run is the call's goroutine: admit, then the events of its mailbox, in
// order, until the call ends.
func (c *Call) run() {
	c.guarded(func() {
		c.setState(stAdmitting)
		if r := c.admit(); r != nil {
			c.end(*r)
			return
		}
		c.journal(records.EventCallStarted)
		c.loop()
	})
}

// loop handles the call's events until it ends.
func (c *Call) loop() {
	for !c.ended.Load() {
		for _, ev := range c.mb.take() {
			if r := c.handle(ev); r != nil {
				c.end(*r)
				break
			}
		}
	}
}

// handle applies one event; a non-nil reason ends the call.
func (c *Call) handle(ev any) *reason {
	switch ev := ev.(type) {
	case evLeg:
		return c.onLeg(ev)
	case evAnswered:
		return c.onAnswered(ev.err)
	case evPromptDone:
		if ev.gen == c.playGen {
			return c.onPromptDone()
		}
	case evIVRTimeout:
		if ev.gen == c.timerGen && c.st == stSurvey {
			c.log.Info("survey: no grade keyed")
			return reasonPtr(endAnswered)
		}
		if ev.gen == c.timerGen && c.ivr != nil {
			return c.act(c.ivr.Timeout())
		}
	case evACD:
		return c.onDecision(ev.d)
	case evRinging:
		if (c.toSeat != "" || (c.b != nil && (c.b.kind == legDepartment || c.b.kind == legDirectory))) && !c.a.Answered() {
			_ = c.a.Ringing()
		}
	case evSeatAnswer:
		return c.onSeatAnswer(ev.err)
	case evOfferAnswer:
		return c.onOfferAnswer(ev.o, ev.err)
	case evDTMF:
		if ev.seat {
			c.onSeatKey(ev.digit)
			return nil
		}
		return c.onDTMF(ev.digit, ev.via)
	case evXferReq:
		return c.onXferReq(ev)
	case evMonReq:
		return c.onMonReq(ev)
	case evRecReq:
		c.onRecReq(ev)
	case evMonAnswer:
		return c.onMonAnswer(ev.l, ev.err)
	case evMonKey:
		c.onMonKey(ev.d)
	case evMonGone:
		c.stopMonitor()
	case evReplace:
		return c.onReplace(ev)
	case evMonDetach:
		c.onMonDetach(ev.s)
	case evMonOver:
		if c.watching != nil {
			c.watching = nil
			return reasonPtr(endAnswered) // the supervisor's phone is hung up
		}
	case evXferAnswer:
		return c.onXferAnswer(ev.l, ev.err)
	case evXferTimeout:
		if c.xfer != nil {
			c.xferBack("media_lost")
			return nil
		}
		return reasonPtr(endRTPTimeout) // handed over: the entry's media is the call's
	case evSessionExpired:
		return c.onSessionExpired(ev.gen)
	case evSessionRefresh:
		c.refreshSession(ev.gen)
		return nil
	case evSessionRefreshed:
		return c.onSessionRefreshed(ev.gen, ev.err)
	case evRTPTimeout:
		c.seatLost = ev.b && c.answeredSeat != ""
		r := endRTPTimeout
		return &r
	case evShutdown:
		r := endShutdown
		return &r
	case evFault:
		return reasonPtr(endError)
	}
	return nil
}

// onLeg handles the SIP events of either leg.
func (c *Call) onLeg(ev evLeg) *reason {
	if ev.x {
		return c.onXferLeg(ev.ev)
	}
	if ev.mon {
		return c.onMonLeg(ev.ev)
	}
	switch e := ev.ev.(type) {
	case sip.EventSessionExpired:
		c.log.Warn("session timer expired on a leg", "leg", legName(ev.b), "error", e.Err)
		return reasonPtr(endSessionExpired)
	case sip.EventBye:
		if ev.b && c.xfer != nil {
			return c.agentHungUpInTransfer()
		}
		if ev.b {
			c.rec.HangupBy = "agent"
			if c.b != nil && c.b.kind != legSeat {
				c.rec.HangupBy = "department"
			} else if c.surveyAsked() {
				return c.startSurvey()
			}
			return c.legGone(true)
		}
		if c.st == stSurvey {
			return reasonPtr(endAnswered) // the agent hung up first
		}
		c.rec.HangupBy = "caller"
		return c.legGone(false)
	case sip.EventCancel:
		c.rec.HangupBy = "caller"
		r := endAbandoned
		return &r
	case sip.EventAckLost:
		if e.NoAnswer {
			return reasonPtr(endNoSDPAnswer)
		}
		r := endAckLost
		return &r
	case sip.EventDTMF:
		if ev.b {
			c.onSeatKey(e.Digit)
			return nil
		}
		if c.st == stBridged && c.b != nil && c.b.m != nil {
			_ = c.b.m.SendDTMF(e.Digit, 100*time.Millisecond)
		}
		return c.onDTMF(e.Digit, "info")
	case sip.EventReinvite:
		c.onReinvite(ev.b, e)
	case sip.EventRefresh:
		if !ev.b {
			c.armSessionTimer()
		}
	case sip.EventRefer:
		c.onRefer(ev.b, e)
	}
	return nil
}

// legGone: one side hung up. A bridged call ends normally; a caller who
// leaves before a seat answered has abandoned.
func (c *Call) legGone(seatSide bool) *reason {
	if c.st == stBridged || c.st == stConsult || c.st == stTransferring || c.st == stConference || c.st == stMonitoring {
		r := endAnswered
		return &r
	}
	if seatSide {
		r := endError
		return &r
	}
	r := endAbandoned
	return &r
}

// maxDigits bounds the digits a call's record keeps; later ones are
// counted (logged at the end) and still act.
const maxDigits = 64

// maskedDigit stands in the record and logs for a digit typed into a
// sensitive collect node (an ID number): the count is kept, not the digit.
const maskedDigit = "x"

// onDTMF: a digit from the caller. It is recorded (masked when an IVR
// collect node marked sensitive takes it), and an IVR walk under way gets
// it. Digits are logged at debug level only.
func (c *Call) onDTMF(d rune, via string) *reason {
	if c.watching != nil { // a supervisor's keys 4, 5, 6 switch the mode
		c.watching.tryPost(evMonKey{d})
		return nil
	}
	if c.st == stSurvey {
		return c.onSurveyKey(d)
	}
	var r *reason
	sensitive := false
	if c.st == stIVR && c.ivr != nil {
		sensitive = c.ivr.Sensitive()
		a := c.ivr.Digit(d)
		sensitive = sensitive || c.ivr.Sensitive() // typed ahead into it
		r = c.act(a)
	} else {
		r = c.askCallback(d)
	}
	digit := string(d)
	if sensitive {
		digit = maskedDigit
	}
	if len(c.rec.DTMF) < maxDigits {
		c.rec.DTMF = append(c.rec.DTMF, digit)
	} else {
		c.digitsOver++
	}
	c.log.Debug("dtmf", "digit", digit, "via", via, "state", c.st.String())
	return r
}

// mediaEvents are the callbacks a media session calls on its own goroutines.
func (c *Call) mediaCallbacks(b bool) (func(rune), func()) {
	onDTMF := func(d rune) { c.tryPost(evDTMF{digit: d, via: "rfc4733", seat: b}) }
	onTimeout := func() { c.tryPost(evRTPTimeout{b: b}) }
	return onDTMF, onTimeout
}

// play starts a prompt on the caller's leg; its end arrives as evPromptDone
// with the generation it was started in (so a stale end is ignored).
func (c *Call) play(p *media.Prompt, loop bool) {
	c.playGen++
	gen := c.playGen
	c.moh = loop
	var done func()
	if !loop {
		done = func() { c.tryPost(evPromptDone{gen: gen}) }
	}
	c.in.m.Play(p, loop, done)
}

var errNoAnswer = errors.New("call: seat did not answer in time")

// errDialPanic: the goroutine waiting for a dialled leg's answer panicked;
// the leg counts as refused (500), never as unreachable.
var errDialPanic = &sip.RejectError{Code: 500, Reason: "internal error waiting for the answer"}
