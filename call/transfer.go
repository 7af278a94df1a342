package call

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/media"
	"github.com/hotline-cc/hotline/records"
	"github.com/hotline-cc/hotline/sip"
)

// Transfers (issue 10). An agent bridged to a caller brings in a
// directory entry (a department's hotline, a sub-centre, 110/119/120):
//
//   - blind: the agent leaves at once (wrap-up starts) and the caller hears
//     music while the entry rings; its answer bridges the caller to it;
//   - consult: the caller hears music while the agent talks to the entry
//     (ringing, then answered); complete hands the caller over and the agent
//     leaves; cancel (or the entry hanging up) brings the caller back to the
//     agent;
//   - conference: the caller and the agent stay together while the entry
//     rings (no music: the default for emergency entries) and its answer
//     makes a three-way call in the call's mixing room (media.Room); a
//     consult becomes one with threeway. In a three-way call the agent may
//     leave (the caller and the entry go on as a two-party relay, the seat
//     wraps up); the entry hanging up brings the caller back to the agent.
//
// No answer, busy or an error within the entry's ring_timeout: the caller
// is back with the agent (consult) or, blind, back in the queue; the record
// has the attempt (transfers[]) either way.

// Transfer modes and operations.
const (
	ModeBlind      = config.TransferBlind
	ModeConsult    = config.TransferConsult
	ModeConference = config.TransferConference

	OpComplete = "complete"
	OpCancel   = "cancel"
	OpThreeway = "threeway"
	OpSwap     = "swap"
	OpLeave    = "leave"
)

// Transfer refusals, for the API's status codes.
var (
	ErrNoSuchCall      = errors.New("call: no such call")
	ErrTransferState   = errors.New("call: not possible in the call's state")
	ErrTransferRefused = errors.New("call: not in the directory")
)

// xferState is where a transfer is.
type xferState int

const (
	xRinging  xferState = iota // the entry rings
	xConsult                   // the entry answered; the agent talks to it, the caller holds
	xThreeway                  // caller, agent and entry in the call's mixing room
)

// transfer is an agent's transfer in progress; owned by the call.
type transfer struct {
	to      config.Entry
	mode    string
	l       *leg
	st      xferState
	i       int  // its entry in the record's transfers
	swapped bool // consult: the agent is back with the caller, the entry holds
}

type (
	// evXferReq: the API (or, later, the seat's keys) asks for a
	// transfer op; the call answers on reply.
	evXferReq struct {
		op, target, mode string
		reply            chan error
	}
	evXferAnswer struct {
		l   *leg
		err error
	}
	evXferTimeout struct{} // the entry's media stopped
)

// Transfer asks the call with record id callID to transfer its caller to
// target (a directory entry's name, number or key) in mode ("" the entry's
// own). Any goroutine; waits for the call's answer.
func (e *Engine) Transfer(callID, target, mode string) error {
	return e.askCall(callID, func(r chan error) any { return evXferReq{op: "start", target: target, mode: mode, reply: r} })
}

// TransferOp applies op (complete, cancel, threeway, swap, leave) to the
// call's transfer in progress.
func (e *Engine) TransferOp(callID, op string) error {
	return e.askCall(callID, func(r chan error) any { return evXferReq{op: op, reply: r} })
}

// askCall posts the request ask builds to the call callID and waits for
// the call's answer on the reply channel it was given.
func (e *Engine) askCall(callID string, ask func(reply chan error) any) error {
	e.mu.Lock()
	l := e.calls[callID]
	e.mu.Unlock()
	c, isCall := l.(*Call)
	if !isCall {
		return fmt.Errorf("%w: %s", ErrNoSuchCall, callID)
	}
	reply := make(chan error, 1)
	if !c.post(ask(reply)) {
		return fmt.Errorf("%w: %s (ended)", ErrNoSuchCall, callID)
	}
	select {
	case err := <-reply:
		return err
	case <-time.After(acdTimeout):
		return fmt.Errorf("%w: %s did not answer", ErrTransferState, callID)
	}
}

// callOfAgent is the live call of this node that agent ext answered, as
// the ACD knows it.
func (e *Engine) callOfAgent(ext string) (*Call, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), acdTimeout)
	defer cancel()
	agents, err := e.acd.Agents(ctx)
	if err != nil {
		return nil, false
	}
	for _, a := range agents {
		if a.Ext == ext && a.CallID != "" {
			e.mu.Lock()
			c, ok := e.calls[a.CallID].(*Call)
			e.mu.Unlock()
			return c, ok
		}
	}
	return nil, false
}

// onXferReq runs a transfer op on the call's goroutine.
func (c *Call) onXferReq(req evXferReq) *reason {
	err := c.xferOp(req)
	if err == nil && req.op != "start" { // start journals itself
		c.journal(records.EventCallTransfer)
	}
	req.reply <- err
	return nil
}

func (c *Call) xferOp(req evXferReq) error {
	if req.op == "start" {
		return c.startTransfer(req.target, req.mode)
	}
	x := c.xfer
	if x == nil {
		return fmt.Errorf("%w: no transfer in progress", ErrTransferState)
	}
	switch req.op {
	case OpCancel:
		if x.mode == ModeBlind {
			return fmt.Errorf("%w: a blind transfer has no agent to return to", ErrTransferState)
		}
		c.xferBack("cancelled")
		return nil
	case OpComplete:
		if x.mode != ModeConsult || x.st != xConsult {
			return fmt.Errorf("%w: complete needs an answered consult", ErrTransferState)
		}
		c.xferComplete()
		return nil
	case OpThreeway:
		if x.st != xConsult {
			return fmt.Errorf("%w: threeway needs an answered consult", ErrTransferState)
		}
		return c.threeway()
	case OpSwap:
		if x.st != xConsult {
			return fmt.Errorf("%w: swap needs an answered consult", ErrTransferState)
		}
		c.swap()
		return nil
	case OpLeave:
		if x.st != xThreeway {
			return fmt.Errorf("%w: leave needs a three-way call", ErrTransferState)
		}
		c.agentLeaves()
		c.handOver()
		return nil
	}
	return fmt.Errorf("%w: unknown op %q", ErrTransferState, req.op)
}

// startTransfer dials the entry for target; the call must be bridged to a
// seat with no transfer in progress.
func (c *Call) startTransfer(target, mode string) error {
	if c.st != stBridged || c.b == nil || c.b.kind != legSeat || c.answeredSeat == "" || c.xfer != nil || c.mon != nil {
		return fmt.Errorf("%w: a transfer needs a caller bridged to an agent (state %s)", ErrTransferState, c.st)
	}
	entry, err := c.cfg.Directory.Resolve(target)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrTransferRefused, err)
	}
	if mode == "" {
		mode = entry.Mode
	}
	switch mode {
	case ModeBlind, ModeConsult, ModeConference:
	default:
		return fmt.Errorf("%w: mode %q (blind, consult or conference)", ErrTransferState, mode)
	}
	now := c.e.opts.Now()
	entry.URI = c.e.entryURI(c.cfg, entry)
	l := &leg{kind: legDepartment, target: entry.URI, rangAt: now, sdp: newLegSDP()}
	l.sdp.srtp.policy = srtpPolicy(c.cfg, legDepartment, "", entry.URI)
	onTimeout := func() { c.tryPost(evXferTimeout{}) }
	l.m, err = c.e.openSession(c.cfg, c.log.With("leg", "transfer"), netip.AddrPort{}, sip.URIHostIP(entry.URI), c.in.sdp.codec, offerDTMF, func(rune) {}, onTimeout)
	if err != nil {
		return fmt.Errorf("%w: no RTP port: %v", ErrTransferState, err)
	}
	from := c.rec.Caller
	if entry.CallerID == config.CallerIDCentre {
		from = c.rec.Dialled
	}
	err = l.dial(c.e.dialer, c.in.sdp.codec.Name, entry.RingTimeout, sip.DialOptions{Target: entry.URI, FromUser: from},
		c.post, nil, func(err error) any { return evXferAnswer{l: l, err: err} })
	if err != nil {
		l.drop()
		return fmt.Errorf("%w: dialling %s: %v", ErrTransferState, entry.URI, err)
	}
	l.d.SetEvents(func(ev sip.Event) { c.post(evLeg{x: true, ev: ev}) })
	t := records.Time(now)
	c.rec.Transfers = append(c.rec.Transfers, records.Transfer{
		Target: entry.URI, Mode: mode, Name: entry.Name, Kind: entry.Kind, StartedAt: &t,
	})
	c.xfer = &transfer{to: entry, mode: mode, l: l, i: len(c.rec.Transfers) - 1}
	c.log.Info("transfer", "entry", entry.Name, "mode", mode)
	c.journal(records.EventCallTransfer)
	if mode == ModeConference {
		c.setState(stConsult) // caller and agent talk on while it rings
		return nil
	}
	// The caller holds with music; blind, the agent leaves now.
	c.in.m.RelayTo(nil)
	c.b.m.RelayTo(nil)
	c.play(c.ps.hold, true)
	if mode == ModeBlind {
		c.agentLeaves()
		c.setState(stTransferring)
	} else {
		c.setState(stConsult)
	}
	return nil
}

// onXferAnswer: the entry answered or gave up.
func (c *Call) onXferAnswer(l *leg, err error) *reason {
	x := c.xfer
	if x == nil || x.l != l {
		if err == nil {
			l.hangupLater(c.log) // answered as it was given up
		}
		l.drop()
		return nil
	}
	defer c.journal(records.EventCallTransfer) // the record has the outcome
	rec := &c.rec.Transfers[x.i]
	now := c.e.opts.Now()
	ring := now.Sub(x.l.rangAt)
	rec.RingMs = ring.Milliseconds()
	if err = x.l.settle(c.log, err); err != nil {
		result := xferResult(err)
		c.log.Info("transfer not answered", "entry", x.to.Name, "result", result, "error", err)
		c.metricTransfer(x, result, ring, false)
		rec.Result, rec.Fallback = result, x.to.Fallback.String()
		if x.to.Fallback.Kind == config.FallbackTicket {
			c.rec.Dispatch, c.rec.DispatchTo = "ticket", x.to.Name
		}
		x.l.drop()
		x.l.d = nil
		if x.mode == ModeBlind {
			c.xfer = nil
			c.stopPrompts()
			if x.to.Fallback.Kind == config.FallbackQueue {
				c.rec.Queue = x.to.Fallback.Queue
			}
			return c.enqueue() // the agent is gone: back to a queue
		}
		c.xferBack(result)
		if c.b != nil && c.ps.xferFailed != nil {
			c.b.m.Play(c.ps.xferFailed, false, nil) // the agent is told; the caller is not
		}
		return nil
	}
	t := records.Time(now)
	rec.Answered, rec.AnsweredAt, rec.Result = true, &t, "answered"
	c.metricTransfer(x, "answered", ring, true)
	if x.to.Record {
		c.startRecording("entry " + x.to.Name)
	}
	defer c.tapRecording()
	if x.mode == ModeBlind {
		c.handOver()
		return nil
	}
	if x.mode == ModeConference {
		if err := c.threeway(); err != nil {
			c.log.Error("no three-way call: consulting instead", "error", err)
		} else {
			return nil
		}
		c.in.m.RelayTo(nil)
		c.play(c.ps.hold, true)
	}
	x.st = xConsult
	media.Bridge(c.b.m, x.l.m) // the agent talks to the entry; the caller holds
	c.log.Info("transfer answered: consulting", "entry", x.to.Name)
	return nil
}

// xferResult names a transfer's failure for the record and the metric.
func xferResult(err error) string {
	var rej *sip.RejectError
	switch {
	case errors.Is(err, errNoAnswer):
		return "no_answer"
	case errors.As(err, &rej) && (rej.Code == 486 || rej.Code == 600):
		return "busy"
	case errors.As(err, &rej) && rej.Code == 603:
		return "declined"
	case errors.Is(err, errUnreachable):
		return "unreachable"
	}
	return "failed"
}

func (c *Call) metricTransfer(x *transfer, result string, ring time.Duration, answered bool) {
	if c.e.opts.Metrics != nil {
		c.e.opts.Metrics.Transfer(x.to.Name, result, ring, answered)
	}
}

// xferBack ends a consult: the entry's leg is hung up (or its ringing
// cancelled) and the caller is bridged to the agent again.
func (c *Call) xferBack(result string) {
	x := c.xfer
	c.xfer = nil
	if r := &c.rec.Transfers[x.i]; r.Result == "" || r.Result == "answered" {
		r.Result = result
	}
	x.l.stopRinging()
	x.l.hangupLater(c.log)
	c.closeRoom()
	x.l.drop()
	c.stopPrompts()
	media.Bridge(c.in.m, c.b.m)
	c.b.m.StopPlayback() // swapped: the agent was on hold
	c.setState(stBridged)
	c.log.Info("transfer ended: the caller is back with the agent", "entry", x.to.Name, "result", result)
}

// xferComplete hands a consulted caller over to the entry; the agent leaves.
func (c *Call) xferComplete() {
	c.rec.Transfers[c.xfer.i].Result = "completed"
	c.agentLeaves()
	c.handOver()
}

// handOver bridges the caller to the answered entry, which becomes the
// call's dialled party; the transfer is over.
func (c *Call) handOver() {
	x := c.xfer
	c.xfer = nil
	c.stopPrompts()
	c.closeRoom()
	c.b = x.l
	c.b.m.StopPlayback()                                                   // swapped: it was on hold
	c.b.d.SetEvents(func(ev sip.Event) { c.post(evLeg{b: true, ev: ev}) }) // its BYE is the call's now
	media.Bridge(c.in.m, c.b.m)
	c.setState(stBridged)
	c.log.Info("transfer: the caller is with the entry", "entry", x.to.Name)
}

// agentLeaves releases the agent's leg (BYE) and tells the ACD the seat's
// call is over (wrap-up starts); the record keeps the agent, and the
// transfer notes when the agent left.
func (c *Call) agentLeaves() {
	now := c.e.opts.Now()
	if x := c.xfer; x != nil {
		t := records.Time(now)
		c.rec.Transfers[x.i].LeftAt = &t
	}
	b := c.b
	if b.d != nil {
		// Its late BYE (racing ours) is not the call's business any more:
		// c.b will be another party's leg.
		b.d.SetEvents(func(sip.Event) {})
	}
	b.hangupLater(c.log)
	b.drop()
	c.b = nil
	ctx, cancel := context.WithTimeout(context.Background(), acdTimeout)
	ds, err := c.e.acd.CallEnded(ctx, c.id, c.answeredSeat)
	cancel()
	if err != nil {
		c.log.Warn("acd: the agent's leaving", "error", err)
	}
	c.answeredSeat = ""
	c.takeOwn(ds)
}

// agentHungUpInTransfer: the agent's phone hung up during a consult. An
// answered consult is handed over (the agent completed it by hanging up,
// as desk phones do); a ringing one goes on as a blind transfer.
func (c *Call) agentHungUpInTransfer() *reason {
	x := c.xfer
	if c.b == nil || c.b.kind != legSeat {
		return nil // the agent has left already
	}
	c.b.d = nil // it hung up: nothing to BYE
	if x.mode == ModeBlind {
		return nil
	}
	if x.st == xThreeway {
		c.agentLeaves()
		c.handOver()
		return nil
	}
	if x.st == xConsult {
		c.xferComplete()
		return nil
	}
	x.mode = ModeBlind
	c.rec.Transfers[x.i].Mode = ModeBlind
	c.agentLeaves()
	c.in.m.RelayTo(nil)
	c.play(c.ps.hold, true) // a conference ringing had no music yet
	c.setState(stTransferring)
	return nil
}

// onXferLeg handles the entry's SIP events: its BYE ends a consult (the
// caller back with the agent) or, once handed over, the call; a re-INVITE
// is answered like any leg's.
func (c *Call) onXferLeg(ev sip.Event) *reason {
	x := c.xfer
	if x == nil {
		return nil
	}
	switch e := ev.(type) {
	case sip.EventBye:
		x.l.d = nil // it hung up: nothing to BYE
		result := "cancelled"
		if x.st != xRinging {
			result = "entry_hung_up"
		}
		c.xferBack(result)
	case sip.EventReinvite:
		x.l.reinvite(e, nil, false, c.ps.hold)
	}
	return nil
}

// threeway puts the caller, the agent and the answered entry in the call's
// mixing room: everyone hears the other two.
func (c *Call) threeway() error {
	x := c.xfer
	room, err := c.e.opts.Media.NewRoom(c.log.With("part", "room"))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrTransferState, err)
	}
	c.stopPrompts()
	c.b.m.StopPlayback()
	x.l.m.StopPlayback()
	for _, s := range []*media.Session{c.in.m, c.b.m, x.l.m} {
		if err := room.Add(s, media.Talk, nil); err != nil {
			_ = room.Close()
			return fmt.Errorf("%w: %v", ErrTransferState, err)
		}
	}
	c.room = room
	x.st = xThreeway
	c.setState(stConference)
	c.log.Info("three-way call", "entry", x.to.Name)
	return nil
}

// swap: during an answered consult the agent goes back and forth between
// the entry and the caller; whoever the agent is not with hears music.
func (c *Call) swap() {
	x := c.xfer
	x.swapped = !x.swapped
	c.in.m.RelayTo(nil)
	c.b.m.RelayTo(nil)
	x.l.m.RelayTo(nil)
	if x.swapped {
		c.stopPrompts()
		x.l.m.Play(c.ps.hold, true, nil)
		media.Bridge(c.in.m, c.b.m)
		return
	}
	x.l.m.StopPlayback()
	c.play(c.ps.hold, true)
	media.Bridge(c.b.m, x.l.m)
}

// closeRoom ends the call's mixing room, if any (its legs' relays stop).
func (c *Call) closeRoom() {
	if c.room != nil {
		_ = c.room.Close()
		c.room = nil
	}
}

// onRefer: the agent's phone sent REFER (its transfer button): a blind
// transfer to the Refer-To's number, taken over by the engine. It is
// answered 202 and told 100 then 200 in NOTIFYs (the engine carries the
// transfer from here; the record has its outcome) before the agent's leg
// is hung up. With Replaces it is the phone's attended or semi-attended
// transfer (replaces.go). A REFER from anyone but the agent of a bridged
// call, or to a number outside the directory, gets 403.
func (c *Call) onRefer(fromB bool, e sip.EventRefer) {
	if e.Replaces != "" {
		c.onReferReplaces(fromB, e)
		return
	}
	ok := fromB && c.answeredSeat != "" && c.xfer == nil && c.st == stBridged
	if ok {
		_, err := c.cfg.Directory.Resolve(e.Target)
		ok = err == nil
	}
	if !ok {
		c.log.Info("REFER refused", "target", e.Target, "replaces", e.Replaces != "")
		e.Reply(403)
		return
	}
	e.Reply(202)
	e.Notify(100, "Trying")
	e.Notify(200, "OK")
	if err := c.startTransfer(e.Target, ModeBlind); err != nil {
		c.log.Warn("REFER accepted but the transfer failed", "error", err)
	}
}
