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

// retryAfter is how long a caller who has rung every free seat waits before
// the seats it tried may be rung again.
const retryAfter = 5 * time.Second

// requestSeat asks the seat pool for a seat: ring it, or wait with music
// until one is offered (evSeat). again keeps the caller's place at the head.
func (c *Call) requestSeat(again bool) *reason {
	if c.waitFrom.IsZero() {
		c.waitFrom = c.e.opts.Now()
	}
	o, ok := c.e.seats.acquire(c, again)
	if ok {
		return c.ring(o)
	}
	c.setState(stWaiting)
	c.holdMusic()
	if c.e.seats.hasTried(c) && c.retry == nil {
		c.retry = time.AfterFunc(retryAfter, func() { c.post(evRetrySeats{}) })
	}
	return nil
}

// holdMusic plays music on hold to a trunk caller unless it already plays.
func (c *Call) holdMusic() {
	if !c.moh && c.toSeat == "" {
		c.play(c.ps.hold, true)
	}
}

// onSeat: the pool offers a seat to this waiting caller.
func (c *Call) onSeat(o seatOffer) *reason {
	if c.st != stWaiting {
		c.e.seats.release(o.ext, c)
		return nil
	}
	if c.retry != nil {
		c.retry.Stop()
		c.retry = nil
	}
	return c.ring(o)
}

// ring opens the seat leg: an RTP session, an INVITE to the seat's contact,
// and a helper goroutine waiting for the answer (evSeatAnswer) within the
// ring timeout. The seat is reserved before its phone rings.
func (c *Call) ring(o seatOffer) *reason {
	c.seat = o.ext
	c.e.seats.markTried(c, o.ext)
	c.setState(stRinging)
	c.holdMusic()
	bm, err := c.newSession(true, netip.AddrPort{}, c.aSDP.codec, offerDTMF)
	if err != nil {
		c.log.Error("no RTP session for the seat", "error", err)
		c.e.seats.release(o.ext, c)
		c.seat = ""
		return reasonPtr(endNoMedia)
	}
	c.bm = bm
	c.bSDP = newLegSDP()
	offer := c.bSDP.offer(bm.LocalAddr(), c.aSDP.codec.Name)
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.SIP.SeatRingTimeout)
	leg, err := c.e.dialer.Dial(ctx, sip.DialOptions{
		Target: o.contact, FromUser: c.rec.Caller, FromDisplay: c.a.CallerName(), SDP: offer,
	})
	if err != nil {
		cancel()
		c.log.Warn("dialling the seat failed", "seat", o.ext, "error", err)
		return c.onSeatAnswer(err)
	}
	c.b, c.ringStop, c.ringAt = leg, cancel, c.e.opts.Now()
	if c.rec.OfferedAt == nil {
		t := records.Time(c.ringAt)
		c.rec.OfferedAt = &t
	}
	leg.SetEvents(func(ev sip.Event) { c.post(evLeg{b: true, ev: ev}) })
	c.log.Info("ringing seat", "seat", o.ext)
	go func() {
		err := leg.WaitAnswer(ctx, func(int) { c.post(evRinging{}) })
		if errors.Is(err, context.DeadlineExceeded) {
			err = errNoAnswer
		}
		c.post(evSeatAnswer{err: err})
	}()
	return nil
}

// onSeatAnswer: the seat answered (bridge) or not (next seat, or for a
// seat-to-seat call the caller gets the seat's answer).
func (c *Call) onSeatAnswer(err error) *reason {
	c.stopRinging()
	if err != nil {
		return c.seatFailed(err)
	}
	ans, perr := sip.ParseSDP(c.b.AnswerSDP())
	codec, dtmf, nerr := sip.Negotiate(ans, supportedCodecs)
	if perr != nil || nerr != nil {
		c.log.Warn("seat answered with unusable SDP", "seat", c.seat, "error", errors.Join(perr, nerr))
		go c.b.Hangup(context.Background())
		return c.seatFailed(&sip.RejectError{Code: 488, Reason: "Not Acceptable Here"})
	}
	mc, _ := media.CodecByName(codec.Name)
	c.bm.Update(media.Params{Remote: ans.Addr, Codec: mc, DTMF: dtmf})
	c.bSDP.codec, c.bSDP.dtmf = codec, dtmf
	now := c.e.opts.Now()
	t := records.Time(now)
	c.rec.AnsweredAt, c.rec.Agent = &t, c.seat
	c.talkFrom = now
	if !c.waitFrom.IsZero() {
		c.rec.WaitMs = now.Sub(c.waitFrom).Milliseconds()
	}
	c.am.StopPlayback()
	c.moh = false
	media.Bridge(c.am, c.bm)
	c.setState(stBridged)
	c.log = c.log.With("agent", c.seat)
	c.log.Info("bridged", "seat_codec", codec.Name, "caller_codec", c.aSDP.codec.Name)
	if c.toSeat != "" {
		c.answerCaller()
		c.setState(stBridged)
	}
	return nil
}

// seatFailed handles a seat that did not answer, was busy or unreachable.
func (c *Call) seatFailed(err error) *reason {
	c.log.Info("seat did not take the call", "seat", c.seat, "error", err)
	if c.bm != nil {
		c.bm.Close()
		c.bm = nil
	}
	c.b = nil
	seat := c.seat
	c.seat = ""
	if c.toSeat != "" {
		var rej *sip.RejectError
		if errors.As(err, &rej) {
			return reasonPtr(seatRejected(rej.Code))
		}
		return reasonPtr(endUnavailable)
	}
	c.e.seats.release(seat, c)
	return c.requestSeat(true)
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
