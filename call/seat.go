package call

import (
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

// ring rings the seat another seat called (an internal call); the caller
// hears the seat's ringing relayed.
func (c *Call) ring(o seatOffer) *reason {
	c.seat = o.ext
	c.setState(stRinging)
	t := records.Time(c.e.opts.Now())
	c.rec.OfferedAt = &t
	c.log.Info("ringing seat", "seat", o.ext)
	c.journal(records.EventCallOffered)
	return c.dialOut(legSeat, o.contact, c.cfg.SIP.SeatRingTimeout)
}

// dialOut opens the outbound leg: an RTP session, an INVITE to target with
// our offer (the caller's codec first), and a helper goroutine waiting for
// the answer (evSeatAnswer) within timeout.
func (c *Call) dialOut(kind legKind, target string, timeout time.Duration) *reason {
	b := &leg{kind: kind, target: target, ext: c.seat, rangAt: c.e.opts.Now(), sdp: newLegSDP()}
	b.sdp.srtp.policy = srtpPolicy(c.cfg, kind, c.seat, target)
	c.b = b
	m, err := c.newSession(true, netip.AddrPort{}, sip.URIHostIP(target), c.in.sdp.codec, offerDTMF)
	if err != nil {
		c.log.Error("no RTP session for the outbound leg", "target", target, "error", err)
		return c.outboundFailed(err)
	}
	b.m = m
	err = b.dial(c.e.dialer, c.in.sdp.codec.Name, timeout,
		sip.DialOptions{Target: target, FromUser: c.rec.Caller, FromDisplay: c.a.CallerName(), SessionExpires: c.seatTimer(kind)},
		c.post, evRinging{}, func(err error) any { return evSeatAnswer{err: err} })
	if err != nil {
		c.log.Warn("dialling failed", "target", target, "error", err)
		return c.outboundFailed(err)
	}
	b.d.SetEvents(func(ev sip.Event) { c.post(evLeg{b: true, ev: ev}) })
	return nil
}

// onSeatAnswer: the outbound leg answered (bridge it to the caller) or not.
func (c *Call) onSeatAnswer(err error) *reason {
	if c.b == nil {
		return nil // given up meanwhile
	}
	if err = c.b.settle(c.log, err); err != nil {
		return c.outboundFailed(err)
	}
	return c.bridge()
}

// bridge connects the caller to the answered outbound leg (c.b) and
// records the answer.
func (c *Call) bridge() *reason {
	now := c.e.opts.Now()
	if c.b.kind != legSeat {
		c.noteTransfer(c.b, true)
	} else {
		t := records.Time(now)
		c.rec.AnsweredAt, c.rec.Agent = &t, c.seat
		c.log = c.log.With("agent", c.seat)
	}
	defer c.journal(records.EventCallAnswered)
	c.talkFrom = now
	if !c.waitFrom.IsZero() {
		c.rec.WaitMs = now.Sub(c.waitFrom).Milliseconds()
	}
	c.stopPrompts()
	c.moh = false
	if c.answeredSeat != "" {
		c.b.m.KeepDTMF(true) // the agent's keys are for the engine (keys.go)
	}
	media.Bridge(c.in.m, c.b.m)
	c.setState(stBridged)
	if q, ok := c.cfg.Queue(c.queue); ok && q.Record && c.answeredSeat != "" {
		c.startRecording("queue " + q.Name)
	}
	c.log.Info("bridged", "far_codec", c.b.sdp.codec.Name, "caller_codec", c.in.sdp.codec.Name)
	if c.toSeat != "" || c.b.kind == legDepartment || c.b.kind == legDirectory {
		c.answerCaller()
	}
	return nil
}

// noteTransfer records the outcome of ringing a department or transfer
// target (leg b): the ring time and whether it answered.
func (c *Call) noteTransfer(b *leg, answered bool) {
	mode := "transfer"
	switch b.kind {
	case legDepartment:
		mode = c.line.Mode
	case legDirectory:
		mode = "dialled"
	}
	c.rec.Transfers = append(c.rec.Transfers, records.Transfer{
		Target: b.target, Mode: mode, RingMs: c.e.opts.Now().Sub(b.rangAt).Milliseconds(), Answered: answered,
	})
}

// outboundFailed: the outbound leg did not answer, was busy or unreachable.
func (c *Call) outboundFailed(err error) *reason {
	b := c.b
	b.drop()
	c.b = nil
	if b.kind != legSeat {
		c.noteTransfer(b, false)
	}
	switch b.kind {
	case legDepartment:
		c.log.Info("department did not answer: the call falls back to the 12345 queue", "error", err)
		c.fallback = true
		c.answerCaller()
		return nil
	case legTransfer:
		c.log.Info("transfer target did not answer: the caller is queued", "error", err)
		return c.enqueue()
	case legDirectory:
		c.log.Info("the directory entry a seat dialled did not answer", "error", err)
		var rej *sip.RejectError
		if errors.As(err, &rej) {
			return reasonPtr(seatRejected(rej.Code))
		}
		return reasonPtr(endUnavailable)
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

// onReinvite answers a re-INVITE on either leg (see leg.reinvite).
func (c *Call) onReinvite(b bool, e sip.EventReinvite) {
	l, other := &c.in, (*media.Session)(nil)
	if c.b != nil {
		other = c.b.m
	}
	if b {
		if c.b == nil {
			e.Reply(nil, 500)
			return
		}
		l, other = c.b, c.in.m
	}
	hold, codec, ok := l.reinvite(e, other, c.st == stBridged, c.ps.hold)
	if ok {
		c.log.Info("re-INVITE", "leg", legName(b), "hold", hold, "codec", codec)
	}
}
