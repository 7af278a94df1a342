package call

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/hotline-cc/hotline/internal/guard"
	"github.com/hotline-cc/hotline/media"
	"github.com/hotline-cc/hotline/records"
	"github.com/hotline-cc/hotline/sip"
)

// holdMusic plays music on hold to a trunk caller unless it already plays.
func (c *Call) holdMusic() {
	if !c.moh && c.toSeat == "" {
		c.play(c.ps.hold, true)
	}
}

// ring rings the seat another seat called (an internal call); the caller
// hears the seat's ringing relayed.
func (c *Call) ring(o seatOffer) *reason {
	c.seat = o.ext
	c.setState(stRinging)
	t := records.Time(c.e.opts.Now())
	c.rec.OfferedAt = &t
	c.log.Info("ringing seat", "seat", o.ext)
	return c.dialOut(legSeat, o.contact, c.cfg.SIP.SeatRingTimeout)
}

// legKind is what the outbound leg is for.
type legKind int

const (
	legSeat       legKind = iota // an agent seat (seat-to-seat, or a queue call's offer once answered)
	legDepartment                // a parallel-answering department or sub-centre, before the caller is answered
	legTransfer                  // an external target an IVR transferred the caller to
)

// dialOut opens the outbound leg: an RTP session, an INVITE to target with
// our offer (the caller's codec first), and a helper goroutine waiting for
// the answer (evSeatAnswer) within timeout.
func (c *Call) dialOut(kind legKind, target string, timeout time.Duration) *reason {
	c.bKind, c.bTarget, c.ringAt = kind, target, c.e.opts.Now()
	bm, err := c.newSession(true, netip.AddrPort{}, c.aSDP.codec, offerDTMF)
	if err != nil {
		c.log.Error("no RTP session for the outbound leg", "target", target, "error", err)
		return c.outboundFailed(err)
	}
	c.bm = bm
	c.bSDP = newLegSDP()
	leg, cancel, err := dialLeg(c.e.dialer, bm, &c.bSDP, c.aSDP.codec.Name, timeout,
		sip.DialOptions{Target: target, FromUser: c.rec.Caller, FromDisplay: c.a.CallerName()},
		c.post, evRinging{}, func(err error) any { return evSeatAnswer{err: err} })
	if err != nil {
		c.log.Warn("dialling failed", "target", target, "error", err)
		return c.outboundFailed(err)
	}
	c.b, c.ringStop = leg, cancel
	leg.SetEvents(func(ev sip.Event) { c.post(evLeg{b: true, ev: ev}) })
	return nil
}

// A phone that vanished must not hold a caller: silentAfter is how long a
// dialled leg may stay without any response at all (every live user agent
// sends 100 Trying at once, and by then the INVITE has gone out four times),
// and cancelGrace how long a phone that rang out may take to answer our
// CANCEL. Either way the leg counts as unreachable (the seat is logged out)
// and the outcome is posted at once; sipgo's transaction ends in its own time.
const (
	silentAfter = 8 * time.Second
	cancelGrace = 4 * time.Second
)

// errUnreachable: the dialled phone did not respond (silent, or silent to
// our CANCEL after it rang out).
var errUnreachable = errors.New("call: the phone did not respond")

// dialLeg sends an INVITE with our offer for sess (every codec, first
// preferred) and waits for the answer on a helper goroutine within timeout:
// provisional responses post ringing (when not nil), the outcome posts
// outcome(err) exactly once (errNoAnswer when the time ran out,
// errUnreachable when the phone is gone). stop cancels the ringing.
func dialLeg(d Dialer, sess *media.Session, ls *legSDP, first string, timeout time.Duration, o sip.DialOptions,
	post func(any) bool, ringing any, outcome func(error) any) (leg *sip.OutboundLeg, stop context.CancelFunc, err error) {
	o.SDP = ls.offer(sess.LocalAddr(), first)
	sess.SetSignal(sip.URIHostIP(o.Target)) // the far side behind NAT is learnt there only
	ctx, cancel := context.WithTimeoutCause(context.Background(), timeout, errNoAnswer)
	ctx, silence := context.WithCancelCause(ctx)
	stop = func() { silence(nil); cancel() }
	leg, err = d.Dial(ctx, o)
	if err != nil {
		stop()
		return nil, nil, err
	}
	go waitLeg(ctx, silence, leg, func(err error) { post(outcome(err)) }, func() {
		if ringing != nil {
			post(ringing)
		}
	})
	return leg, stop, nil
}

// waitLeg waits for leg's answer under ctx (its cause says why it ended:
// errNoAnswer at the deadline, context.Canceled when withdrawn) and reports
// the outcome once. A phone heard from not at all within silentAfter, or
// not answering the CANCEL within cancelGrace, is reported unreachable at
// once; should it answer after all, it is hung up.
func waitLeg(ctx context.Context, silence context.CancelCauseFunc, leg *sip.OutboundLeg, report func(error), ringing func()) {
	var reported, heard atomic.Bool
	once := func(err error) bool {
		if !reported.CompareAndSwap(false, true) {
			return false
		}
		report(err)
		return true
	}
	defer guard.Recover(nil, "call", func(any) { once(errDialPanic) })
	mute := time.AfterFunc(silentAfter, func() {
		if !heard.Load() {
			silence(errUnreachable)
		}
	})
	defer mute.Stop()
	gone := context.AfterFunc(ctx, func() {
		switch cause := context.Cause(ctx); {
		case errors.Is(cause, errUnreachable):
			once(errUnreachable)
		case errors.Is(cause, errNoAnswer):
			time.AfterFunc(cancelGrace, func() { once(errUnreachable) })
		}
	})
	defer gone()
	err := leg.WaitAnswer(ctx, func(code int) {
		heard.Store(true)
		if code > 100 {
			ringing()
		}
	})
	if errors.Is(err, context.DeadlineExceeded) {
		err = errNoAnswer
	}
	if !once(err) && err == nil {
		_ = leg.Hangup(context.Background()) // answered after it was given up
	}
}

// settleAnswer takes the outcome of dialling leg (err from WaitAnswer) and,
// when it answered, applies its SDP answer to sess and ls. A leg that
// answered with SDP we cannot use is hung up and counts as refused (488).
func settleAnswer(log *slog.Logger, leg *sip.OutboundLeg, sess *media.Session, ls *legSDP, err error) error {
	if err != nil {
		return err
	}
	ans, perr := sip.ParseSDP(leg.AnswerSDP())
	codec, dtmf, nerr := sip.Negotiate(ans, supportedCodecs)
	if perr != nil || nerr != nil {
		log.Warn("far side answered with unusable SDP", "error", errors.Join(perr, nerr))
		hangupLater(log, leg)
		return &sip.RejectError{Code: 488, Reason: "Not Acceptable Here"}
	}
	mc, _ := media.CodecByName(codec.Name)
	sess.Update(media.Params{Remote: ans.Addr, Codec: mc, DTMF: dtmf})
	sess.SetDirection(true, true) // the RTP timeout starts now (newSession)
	ls.codec, ls.dtmf = codec, dtmf
	return nil
}

// onSeatAnswer: the outbound leg answered (bridge it to the caller) or not.
func (c *Call) onSeatAnswer(err error) *reason {
	c.stopRinging()
	if err = settleAnswer(c.log, c.b, c.bm, &c.bSDP, err); err != nil {
		return c.outboundFailed(err)
	}
	return c.bridge()
}

// bridge connects the caller to the answered outbound leg (c.b) and
// records the answer.
func (c *Call) bridge() *reason {
	now := c.e.opts.Now()
	if c.bKind != legSeat {
		c.noteTransfer(true)
	} else {
		t := records.Time(now)
		c.rec.AnsweredAt, c.rec.Agent = &t, c.seat
		c.log = c.log.With("agent", c.seat)
	}
	c.talkFrom = now
	if !c.waitFrom.IsZero() {
		c.rec.WaitMs = now.Sub(c.waitFrom).Milliseconds()
	}
	c.stopPrompts()
	c.moh = false
	media.Bridge(c.am, c.bm)
	c.setState(stBridged)
	c.log.Info("bridged", "far_codec", c.bSDP.codec.Name, "caller_codec", c.aSDP.codec.Name)
	if c.toSeat != "" || c.bKind == legDepartment {
		c.answerCaller()
	}
	return nil
}

// noteTransfer records the outcome of ringing a department or transfer
// target: the ring time and whether it answered.
func (c *Call) noteTransfer(answered bool) {
	mode := "transfer"
	if c.bKind == legDepartment {
		mode = c.line.Mode
	}
	c.rec.Transfers = append(c.rec.Transfers, records.Transfer{
		Target: c.bTarget, Mode: mode, RingMs: c.e.opts.Now().Sub(c.ringAt).Milliseconds(), Answered: answered,
	})
}

// outboundFailed: the outbound leg did not answer, was busy or unreachable.
func (c *Call) outboundFailed(err error) *reason {
	if c.bm != nil {
		c.bm.Close()
		c.bm = nil
	}
	if c.bKind != legSeat {
		c.noteTransfer(false)
	}
	c.b = nil
	switch c.bKind {
	case legDepartment:
		c.log.Info("department did not answer: the call falls back to the 12345 queue", "error", err)
		c.fallback = true
		c.answerCaller()
		return nil
	case legTransfer:
		c.log.Info("transfer target did not answer: the caller is queued", "error", err)
		return c.enqueue()
	}
	// a seat another seat called
	c.log.Info("seat did not take the call", "seat", c.seat, "error", err)
	c.seat = ""
	var rej *sip.RejectError
	if errors.As(err, &rej) {
		return reasonPtr(seatRejected(rej.Code))
	}
	return reasonPtr(endUnavailable)
}

// onReinvite answers a re-INVITE on either leg: hold (sendonly/inactive or
// c=0.0.0.0) makes us stop sending to that leg and plays music to the other
// party; unhold undoes both; a codec change is applied to the session.
func (c *Call) onReinvite(b bool, e sip.EventReinvite) {
	sess, ls, other := c.am, &c.aSDP, c.bm
	if b {
		sess, ls, other = c.bm, &c.bSDP, c.am
	}
	hold, codec, ok := answerReinvite(e, sess, ls, other, c.st == stBridged, c.ps.hold)
	if ok {
		c.log.Info("re-INVITE", "leg", legName(b), "hold", hold, "codec", codec)
	}
}

// answerReinvite answers a re-INVITE on the leg of sess: hold (sendonly or
// inactive, or c=0.0.0.0) stops our sending to it and, when bridged, plays
// music to the other party; unhold undoes both; a codec change is applied.
// ok is false when the offer was refused (no session: 500; no codec: 488).
func answerReinvite(e sip.EventReinvite, sess *media.Session, ls *legSDP, other *media.Session, bridged bool, music *media.Prompt) (hold bool, codec string, ok bool) {
	if sess == nil {
		e.Reply(nil, 500)
		return false, "", false
	}
	format, dtmf, err := sip.Negotiate(e.Offer, supportedCodecs)
	if err != nil {
		e.Reply(nil, 488)
		return false, "", false
	}
	mc, _ := media.CodecByName(format.Name)
	p := media.Params{Remote: e.Offer.Addr, Codec: mc, DTMF: dtmf}
	if e.Offer.Addr.Addr().IsUnspecified() {
		p.Remote = sess.Stats().Remote
	}
	sess.Update(p)
	dir := sip.AnswerDirection(e.Offer.Direction)
	if e.Offer.Addr.Addr().IsUnspecified() {
		dir = sip.DirInactive
	}
	sess.SetDirection(dir == sip.DirSendRecv || dir == sip.DirSendOnly, dir == sip.DirSendRecv || dir == sip.DirRecvOnly)
	hold = e.Offer.Hold()
	if other != nil && bridged {
		if hold {
			other.Play(music, true, nil)
		} else {
			other.StopPlayback()
		}
	}
	ls.codec, ls.dtmf = format, dtmf
	e.Reply(ls.build(sess.LocalAddr(), dir), 200)
	return hold, format.Name, true
}

// hangupLater hangs leg up on a goroutine of its own (BYE waits for its
// answer); the call does not wait for it.
func hangupLater(log *slog.Logger, leg *sip.OutboundLeg) {
	go func() {
		defer guard.Recover(log, "call", nil)
		_ = leg.Hangup(context.Background())
	}()
}
