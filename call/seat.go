package call

import (
	"context"
	"errors"
	"net/netip"
	"time"

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

// ring offers the call to a reserved seat: its phone rings (an outbound leg)
// while the caller hears music.
func (c *Call) ring(o seatOffer) *reason {
	c.seat = o.ext
	c.setState(stRinging)
	c.holdMusic()
	if c.rec.OfferedAt == nil {
		t := records.Time(c.e.opts.Now())
		c.rec.OfferedAt = &t
	}
	c.log.Info("ringing seat", "seat", o.ext)
	return c.dialOut(legSeat, o.contact, c.cfg.SIP.SeatRingTimeout)
}

// legKind is what the outbound leg is for.
type legKind int

const (
	legSeat       legKind = iota // an agent seat (queue call or seat-to-seat call)
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
	offer := c.bSDP.offer(bm.LocalAddr(), c.aSDP.codec.Name)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	leg, err := c.e.dialer.Dial(ctx, sip.DialOptions{
		Target: target, FromUser: c.rec.Caller, FromDisplay: c.a.CallerName(), SDP: offer,
	})
	if err != nil {
		cancel()
		c.log.Warn("dialling failed", "target", target, "error", err)
		return c.outboundFailed(err)
	}
	c.b, c.ringStop = leg, cancel
	leg.SetEvents(func(ev sip.Event) { c.post(evLeg{b: true, ev: ev}) })
	go func() {
		err := leg.WaitAnswer(ctx, func(int) { c.post(evRinging{}) })
		if errors.Is(err, context.DeadlineExceeded) {
			err = errNoAnswer
		}
		c.post(evSeatAnswer{err: err})
	}()
	return nil
}

// onSeatAnswer: the outbound leg answered (bridge it to the caller) or not.
func (c *Call) onSeatAnswer(err error) *reason {
	c.stopRinging()
	if err != nil {
		return c.outboundFailed(err)
	}
	ans, perr := sip.ParseSDP(c.b.AnswerSDP())
	codec, dtmf, nerr := sip.Negotiate(ans, supportedCodecs)
	if perr != nil || nerr != nil {
		c.log.Warn("far side answered with unusable SDP", "error", errors.Join(perr, nerr))
		go c.b.Hangup(context.Background())
		return c.outboundFailed(&sip.RejectError{Code: 488, Reason: "Not Acceptable Here"})
	}
	mc, _ := media.CodecByName(codec.Name)
	c.bm.Update(media.Params{Remote: ans.Addr, Codec: mc, DTMF: dtmf})
	c.bSDP.codec, c.bSDP.dtmf = codec, dtmf
	if c.bKind == legSeat && c.toSeat == "" {
		if !c.seatAnswered() {
			go c.b.Hangup(context.Background())
			c.b = nil
			c.bm.Close()
			c.bm = nil
			c.seat = ""
			c.setState(stWaiting)
			return nil
		}
		c.answeredSeat = c.seat
	}
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
	c.log.Info("bridged", "far_codec", codec.Name, "caller_codec", c.aSDP.codec.Name)
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
	return c.seatFailed(err)
}

// seatFailed handles a seat that did not answer, was busy or unreachable.
func (c *Call) seatFailed(err error) *reason {
	c.log.Info("seat did not take the call", "seat", c.seat, "error", err)
	seat := c.seat
	c.seat = ""
	if c.toSeat != "" {
		var rej *sip.RejectError
		if errors.As(err, &rej) {
			return reasonPtr(seatRejected(rej.Code))
		}
		return reasonPtr(endUnavailable)
	}
	return c.seatNotAnswered(seat, err)
}

// onReinvite answers a re-INVITE on either leg: hold (sendonly/inactive or
// c=0.0.0.0) makes us stop sending to that leg and plays music to the other
// party; unhold undoes both; a codec change is applied to the session.
func (c *Call) onReinvite(b bool, e sip.EventReinvite) {
	sess, ls, other := c.am, &c.aSDP, c.bm
	if b {
		sess, ls, other = c.bm, &c.bSDP, c.am
	}
	if sess == nil {
		e.Reply(nil, 500)
		return
	}
	codec, dtmf, err := sip.Negotiate(e.Offer, supportedCodecs)
	if err != nil {
		e.Reply(nil, 488)
		return
	}
	mc, _ := media.CodecByName(codec.Name)
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
	hold := e.Offer.Hold()
	if other != nil && c.st == stBridged {
		if hold {
			other.Play(c.ps.hold, true, nil)
		} else {
			other.StopPlayback()
		}
	}
	c.log.Info("re-INVITE", "leg", legName(b), "hold", hold, "codec", codec.Name)
	ls.codec, ls.dtmf = codec, dtmf
	e.Reply(ls.build(sess.LocalAddr(), dir), 200)
}
