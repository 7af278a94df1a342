package call

import (
	"context"
	"errors"
	"net/netip"
	"slices"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/records"
	"github.com/hotline-cc/hotline/sip"
)

// An offer is one seat's phone ringing for a queue call: a leg of kind
// legSeat in Call.offers. A call has one at a time, or several under a
// ring_all queue: the first to answer takes the call and the ACD withdraws
// the others (Cancel decisions).

// evOfferAnswer: an offered seat answered (err nil) or did not.
type evOfferAnswer struct {
	o   *leg
	err error
}

// errNoSeatMedia: no RTP port for the seat's leg; the seat is not to blame
// (it counts as a plain no-answer, never as unreachable).
var errNoSeatMedia = &sip.RejectError{Code: 503, Reason: "no RTP port for the seat"}

// offerSeat rings a seat the ACD reserved for this call while the caller
// hears music.
func (c *Call) offerSeat(o seatOffer) *reason {
	if c.rec.OfferedAt == nil {
		t := records.Time(c.e.opts.Now())
		c.rec.OfferedAt = &t
	}
	if len(c.offers) == 0 {
		c.seat = o.ext
	}
	c.setState(stRinging)
	c.holdMusic()
	sess, err := c.newSession(true, netip.AddrPort{}, sip.URIHostIP(o.contact), c.in.sdp.codec, offerDTMF)
	if err != nil {
		c.log.Error("no RTP session for the seat", "seat", o.ext, "error", err)
		return c.offerFailed(o.ext, errNoSeatMedia)
	}
	of := &leg{kind: legSeat, ext: o.ext, m: sess, sdp: newLegSDP(), rangAt: c.e.opts.Now()}
	of.sdp.srtp.policy = srtpPolicy(c.cfg, legSeat, o.ext, o.contact)
	err = of.dial(c.e.dialer, c.in.sdp.codec.Name, c.cfg.SIP.SeatRingTimeout,
		sip.DialOptions{Target: o.contact, FromUser: c.rec.Caller, FromDisplay: c.a.CallerName(), SessionExpires: c.seatTimer(legSeat)},
		c.post, nil, func(err error) any { return evOfferAnswer{o: of, err: err} })
	if err != nil {
		of.drop()
		c.log.Warn("dialling the seat failed", "seat", o.ext, "error", err)
		return c.offerFailed(o.ext, err)
	}
	c.offers = append(c.offers, of)
	c.log.Info("ringing seat", "seat", o.ext)
	c.journal(records.EventCallOffered)
	return nil
}

// onOfferAnswer: an offered seat's phone answered or gave up.
func (c *Call) onOfferAnswer(of *leg, err error) *reason {
	i := slices.Index(c.offers, of)
	if i < 0 {
		// Withdrawn meanwhile; a phone that answered in that instant is
		// hung up.
		if err == nil {
			of.hangupLater(c.log)
		}
		return nil
	}
	c.offers = slices.Delete(c.offers, i, i+1)
	if err = of.settle(c.log, err); err != nil {
		of.drop()
		return c.offerFailed(of.ext, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), acdTimeout)
	ds, aerr := c.e.acd.Answered(ctx, c.id, of.ext)
	cancel()
	c.takeOwn(ds)
	switch {
	case errors.Is(aerr, acd.ErrNotOffered), errors.Is(aerr, acd.ErrUnknownCall):
		c.log.Warn("seat answered a withdrawn offer", "seat", of.ext, "error", aerr)
		of.hangupLater(c.log)
		of.drop()
		c.afterOffer()
		return nil
	case aerr != nil:
		// The store failed, not the offer: the caller and the agent are
		// connected, and bookkeeping must not cut them apart.
		c.log.Error("acd could not record the answer; the call goes on", "seat", of.ext, "error", aerr)
	}
	c.withdrawOffers("")
	c.b, c.seat = of, of.ext
	of.d.SetEvents(func(ev sip.Event) { c.post(evLeg{b: true, ev: ev}) })
	c.answeredSeat = of.ext
	return c.bridge()
}

// offerFailed: seat ext did not take the call (rang out, busy, unreachable);
// the ACD counts the miss and offers the call on.
func (c *Call) offerFailed(ext string, err error) *reason {
	c.log.Info("seat did not take the call", "seat", ext, "error", err)
	c.afterOffer()
	c.e.route(c.e.seatMissed(c.log, c.id, ext, err))
	return nil
}

// afterOffer: an offer is gone; with none left ringing, the caller waits.
func (c *Call) afterOffer() {
	if len(c.offers) > 0 {
		c.seat = c.offers[0].ext
		c.setState(stRinging)
		return
	}
	if c.st == stRinging {
		c.seat = ""
		c.setState(stWaiting)
		c.holdMusic()
	}
}

// withdrawOffer stops seat ext ringing for this call (a Cancel decision:
// the caller left, another seat of a ring_all answered).
func (c *Call) withdrawOffer(ext string) {
	i := slices.IndexFunc(c.offers, func(o *leg) bool { return o.ext == ext })
	if i < 0 {
		return
	}
	of := c.offers[i]
	c.offers = slices.Delete(c.offers, i, i+1)
	of.drop()
	c.afterOffer()
}

// withdrawOffers stops every offer still ringing but keep's; end hangs up
// the legs of offers that answered in the same instant.
func (c *Call) withdrawOffers(keep string) {
	for _, of := range c.offers {
		if of.ext != keep {
			of.drop()
		}
	}
	c.offers = slices.DeleteFunc(c.offers, func(o *leg) bool { return o.ext != keep })
}
