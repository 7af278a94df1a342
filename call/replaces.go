package call

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/records"
	"github.com/hotline-cc/hotline/sip"
)

// REFER with Replaces (issue 10): a desk phone's attended and
// semi-attended transfer. The agent of call c (the caller and the agent's
// phone, dialog D1) dials a directory entry from the phone: a second call
// c2 (the phone and the entry, dialog D2, seat.go's legDirectory). The
// phone's transfer key then sends REFER in D1 whose Refer-To names D2 in
// its Replaces parameter (RFC 3891: Call-ID, to-tag, from-tag). The engine
// is the target of that REFER and the owner of both calls, so nothing is
// re-dialled: c2 hands its entry's leg to c and ends (its dialog with the
// phone gets a BYE, or 487 while it was early), and c puts its caller
// through to the entry:
//
//   - D2 confirmed (attended): the entry answered; the caller is bridged
//     to it at once (a completed consult);
//   - D2 early (semi-attended): the entry still rings; the caller holds
//     with music until it answers, as in a blind transfer, and its ring
//     timeout and fallback apply.
//
// The agent leaves D1 once the NOTIFYs (100, 200) are sent. c2 must be the
// same agent's call to a directory entry, and the tags must match; any
// other REFER with Replaces gets 403.

// replaceWait bounds how long c waits for c2's answer (both are this
// node's calls; c2 answers as soon as its goroutine takes the event).
const replaceWait = 2 * time.Second

type (
	// evReplace asks c2 to hand its entry's leg to the call to.
	evReplace struct {
		seat           string // the agent who sent the REFER
		fromTag, toTag string
		to             *Call
		reply          chan replaced
	}
	// replaced is c2's answer: the leg (answered or still ringing) and
	// the number the agent dialled, or why not.
	replaced struct {
		l          *leg
		answered   bool
		answeredAt time.Time
		number     string
		err        error
	}
)

var errNotReplaceable = errors.New("call: the named dialog cannot be replaced")

// parseReplaces reads a Replaces value: "callid;to-tag=X;from-tag=Y"
// (early-only and unknown parameters are ignored).
func parseReplaces(v string) (callID, toTag, fromTag string, ok bool) {
	parts := strings.Split(v, ";")
	callID = strings.TrimSpace(parts[0])
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(k) {
		case "to-tag":
			toTag = val
		case "from-tag":
			fromTag = val
		}
	}
	return callID, toTag, fromTag, callID != "" && fromTag != ""
}

// callBySIPID is this node's call whose inbound dialog has Call-ID id.
func (e *Engine) callBySIPID(id string) (*Call, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, l := range e.calls {
		if c, ok := l.(*Call); ok && c.a.CallID() == id {
			return c, true
		}
	}
	return nil, false
}

// onReferReplaces: the agent's phone sent REFER with Replaces in D1.
func (c *Call) onReferReplaces(fromB bool, e sip.EventRefer) {
	refuse := func(why string, err error) {
		c.log.Info("REFER with Replaces refused: "+why, "error", err)
		e.Reply(403)
	}
	if !fromB || c.answeredSeat == "" || c.xfer != nil || c.mon != nil || c.st != stBridged {
		refuse("not from the agent of a bridged call", nil)
		return
	}
	callID, toTag, fromTag, ok := parseReplaces(e.Replaces)
	if !ok {
		refuse("malformed", nil)
		return
	}
	c2, found := c.e.callBySIPID(callID)
	if !found || c2 == c {
		refuse("no such dialog", nil)
		return
	}
	reply := make(chan replaced, 1)
	if !c2.post(evReplace{seat: c.answeredSeat, fromTag: fromTag, toTag: toTag, to: c, reply: reply}) {
		refuse("the dialog ended", nil)
		return
	}
	var r replaced
	select {
	case r = <-reply:
	case <-time.After(replaceWait):
		r.err = fmt.Errorf("%w: its call did not answer", errNotReplaceable)
	}
	if r.err != nil {
		refuse("the dialog cannot be replaced", r.err)
		return
	}
	e.Reply(202)
	e.Notify(100, "Trying")
	c.adoptReplaced(r)
	e.Notify(200, "OK")
	if c.xfer != nil && c.xfer.st == xConsult {
		c.xferComplete() // attended: the caller is with the entry now
		return
	}
	// semi-attended: the caller holds until the entry answers
	c.in.m.RelayTo(nil)
	c.b.m.RelayTo(nil)
	c.play(c.ps.hold, true)
	c.agentLeaves()
	c.setState(stTransferring)
}

// adoptReplaced makes the leg c2 handed over this call's transfer, with
// its entry in the record.
func (c *Call) adoptReplaced(r replaced) {
	entry, err := c.cfg.Directory.Resolve(r.number)
	if err != nil { // the directory changed since c2 dialled it
		entry = config.Entry{Name: r.number, Number: r.number, URI: r.l.target, Fallback: config.Fallback{Kind: config.FallbackAgent}}
	}
	started := records.Time(r.l.rangAt)
	t := records.Transfer{Target: r.l.target, Name: entry.Name, Kind: entry.Kind, StartedAt: &started}
	x := &transfer{to: entry, l: r.l}
	if r.answered {
		at := records.Time(r.answeredAt)
		t.Mode, t.Answered, t.AnsweredAt, t.Result = ModeConsult, true, &at, "answered"
		t.RingMs = r.answeredAt.Sub(r.l.rangAt).Milliseconds()
		x.mode, x.st = ModeConsult, xConsult
	} else {
		t.Mode = ModeBlind
		x.mode, x.st = ModeBlind, xRinging
	}
	c.rec.Transfers = append(c.rec.Transfers, t)
	x.i = len(c.rec.Transfers) - 1
	c.xfer = x
	if r.answered {
		c.metricTransfer(x, "answered", r.answeredAt.Sub(r.l.rangAt), true)
	}
	c.log.Info("REFER with Replaces: the caller goes to the agent's consulted entry", "entry", entry.Name, "answered", r.answered)
	c.journal(records.EventCallTransfer)
}

// onReplace (on c2, the agent's own call to a directory entry): hand the
// entry's leg to ev.to and end, or answer why not.
func (c *Call) onReplace(ev evReplace) *reason {
	from, to := c.a.Tags()
	var why string
	switch {
	case c.fromSeat == "" || c.fromSeat != ev.seat:
		why = "not a call of the same agent"
	case ev.fromTag != from || (ev.toTag != "" && ev.toTag != to):
		why = "the tags do not match"
	case c.b == nil || c.b.kind != legDirectory || (c.st != stRinging && c.st != stBridged):
		why = fmt.Sprintf("not a call to a directory entry that rings or talks (state %s)", c.st)
	}
	if why != "" {
		ev.reply <- replaced{err: fmt.Errorf("%w: %s", errNotReplaceable, why)}
		return nil
	}
	b, answered, dest := c.b, c.st == stBridged, ev.to
	c.b = nil
	c.in.m.RelayTo(nil)
	b.m.RelayTo(nil)
	b.m.SetHandlers(func(rune) {}, func() { dest.tryPost(evXferTimeout{}) })
	if b.d != nil {
		b.d.SetEvents(func(e sip.Event) { dest.post(evLeg{x: true, ev: e}) })
	}
	if !answered && b.rt != nil {
		route := legRoute{post: dest.post, outcome: func(err error) any { return evXferAnswer{l: b, err: err} }}
		if done, err := b.rt.rehome(route); done { // reported to us, not yet taken
			dest.post(route.outcome(err))
		}
	}
	ev.reply <- replaced{l: b, answered: answered, answeredAt: c.talkFrom, number: c.a.Dialled()}
	c.log.Info("replaced by the agent's transfer: the entry's leg goes to the agent's caller", "answered", answered)
	c.rec.HangupBy = "agent"
	return reasonPtr(endReplaced)
}
