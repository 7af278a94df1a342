package sip

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// Event is something that happened on a leg's dialog, reported to the leg's
// owner through the func given to SetEvents. Events are delivered on SIP
// handler goroutines; the owner forwards them to its own goroutine.
type Event interface{ legEvent() }

// EventBye: the peer hung up; its BYE has been answered 200.
type EventBye struct{}

// EventCancel: the peer cancelled the INVITE before we answered; the
// transaction layer has answered the CANCEL 200 and the INVITE 487.
type EventCancel struct{}

// EventReinvite: the peer sent a re-INVITE (hold, unhold, codec change).
// The owner must call Reply exactly once, with an SDP answer and 200, or with
// nil and an error code (488 when the offer is unacceptable).
//
// A re-INVITE without SDP (a late offer, RFC 3261 14.2) comes with Late
// set and no Offer: Reply carries our offer. The answer, from the ACK,
// follows as a second EventReinvite with FromAck set and the answer in
// Offer, applied like an offer; its Reply sends nothing, and an error code
// given to it means the answer is unusable. An ACK without a usable answer
// (or none in time) is EventAckLost{NoAnswer: true}.
type EventReinvite struct {
	Offer   MediaDesc
	Late    bool
	FromAck bool
	Reply   func(answer []byte, code int)
}

// EventDTMF: a digit arrived in a SIP INFO (application/dtmf-relay or
// application/dtmf).
type EventDTMF struct{ Digit rune }

// EventRefresh: the caller refreshed the session (a re-INVITE or UPDATE
// answered 2xx) on a leg that runs a session timer (InboundLeg.SessionExpires).
type EventRefresh struct{}

func (EventRefresh) legEvent()   {}
func (EventBye) legEvent()       {}
func (EventCancel) legEvent()    {}
func (EventReinvite) legEvent()  {}
func (EventDTMF) legEvent()      {}
func (EventAckLost) legEvent()   {}
func (EventTransport) legEvent() {}

// EventAckLost: our 200 was never acknowledged (RFC 3261 13.3.1.4), or
// (NoAnswer) the 200 carried our offer and the ACK no usable answer; the
// dialog should be hung up.
type EventAckLost struct{ NoAnswer bool }

// EventTransport: a request on the dialog failed at the transport or timed out.
type EventTransport struct{ Err error }

// reinviteReplyTimeout bounds how long a re-INVITE waits for its owner.
const reinviteReplyTimeout = 5 * time.Second

// events is the shared event plumbing of both leg kinds, with the 200 to a
// late-offer re-INVITE awaiting its ACK (the answer), if any.
type events struct {
	f    atomic.Pointer[func(Event)]
	late atomic.Pointer[lateAck]
}

// lateAck is a late-offer re-INVITE's 200 (CSeq cseq) waiting for its ACK.
type lateAck struct {
	cseq uint32
	body chan []byte // 1 buffered: the ACK's body
}

// expectAck registers the 200 to re-INVITE cseq as waiting for its ACK.
func (e *events) expectAck(cseq uint32) *lateAck {
	a := &lateAck{cseq: cseq, body: make(chan []byte, 1)}
	e.late.Store(a)
	return a
}

// takeLateAck hands an ACK's body to the late-offer re-INVITE waiting for
// it; it reports whether the ACK was that one.
func (e *events) takeLateAck(req *sipmsg.Request) bool {
	a := e.late.Load()
	if a == nil || req.CSeq() == nil || req.CSeq().SeqNo != a.cseq || !e.late.CompareAndSwap(a, nil) {
		return false
	}
	a.body <- req.Body()
	return true
}

// SetEvents sets the function that receives the leg's events. Call it before
// answering or dialling so no event is missed.
func (e *events) SetEvents(f func(Event)) { e.f.Store(&f) }

func (e *events) emit(ev Event) bool {
	if f := e.f.Load(); f != nil {
		(*f)(ev)
		return true
	}
	return false
}

// legCore is what both leg kinds share: the server, the dialog's key in the
// server's table, the end flag and the event plumbing.
type legCore struct {
	events
	s     *Server
	dua   *sipgo.DialogUA // the dialog UA the leg's dialog is held by
	key   string
	ended atomic.Bool
	// onEnd runs once when the leg ends (an inbound leg gives its call
	// slot back); nil for none.
	onEnd func()
}

// end marks the leg ended; it reports whether this call did, and runs onEnd
// then.
func (c *legCore) end() bool {
	if !c.ended.CompareAndSwap(false, true) {
		return false
	}
	if c.onEnd != nil {
		c.onEnd()
	}
	return true
}

// inDialog serves a request within the leg's dialog other than ACK: BYE
// (read with readBye, the dialog kind's own) ends the leg; INFO and
// re-INVITE and UPDATE go to handleCommon; anything else gets 405.
func (c *legCore) inDialog(req *sipmsg.Request, tx sipmsg.ServerTransaction,
	readBye func(*sipmsg.Request, sipmsg.ServerTransaction) error) {
	if req.Method == sipmsg.BYE {
		c.s.removeDialog(c.key)
		if err := readBye(req, tx); err != nil {
			c.s.respond(req, tx, sipmsg.StatusBadRequest, "Bad Request")
			return
		}
		c.s.observeResponse("BYE", 200)
		if c.end() {
			c.emit(EventBye{})
		}
		return
	}
	if !c.s.handleCommon(&c.events, req, tx, &c.dua.ContactHDR) {
		c.s.respond(req, tx, sipmsg.StatusMethodNotAllowed, "Method Not Allowed",
			sipmsg.NewHeader("Allow", allowed))
	}
}

// handleCommon serves the in-dialog requests both leg kinds treat alike:
// INFO (DTMF), re-INVITE and UPDATE. It reports whether it handled req.
func (s *Server) handleCommon(e *events, req *sipmsg.Request, tx sipmsg.ServerTransaction, contact *sipmsg.ContactHeader) bool {
	switch req.Method {
	case sipmsg.INFO:
		digit, ok, known := parseInfoDTMF(req)
		if !known {
			s.respond(req, tx, sipmsg.StatusUnsupportedMediaType, "Unsupported Media Type",
				sipmsg.NewHeader("Accept", "application/dtmf-relay, application/dtmf"))
			return true
		}
		s.respond(req, tx, sipmsg.StatusOK, "OK")
		if ok {
			e.emit(EventDTMF{Digit: digit})
		}
		return true
	case sipmsg.INVITE:
		s.handleReinvite(e, req, tx, contact)
		return true
	case sipmsg.UPDATE:
		// RFC 3311: without a body it only refreshes the session (and its
		// timer, see InboundLeg); with SDP it is an offer, answered like a
		// re-INVITE's in the 200 (no ACK follows).
		if len(req.Body()) == 0 {
			s.respond(req, tx, sipmsg.StatusOK, "OK", contact)
			return true
		}
		s.handleReinvite(e, req, tx, contact)
		return true
	}
	return false
}

// handleReinvite asks the owner for an answer to the offer of a re-INVITE
// or an UPDATE and sends it. The 200 carries our Contact; a re-INVITE's ACK
// arrives through onAck and is absorbed by the leg. A re-INVITE without
// SDP (a late offer) gets our offer in the 200 and the answer is awaited
// from the ACK (awaitAnswer).
func (s *Server) handleReinvite(e *events, req *sipmsg.Request, tx sipmsg.ServerTransaction, contact *sipmsg.ContactHeader) {
	late := len(bytes.TrimSpace(req.Body())) == 0
	var offer MediaDesc
	if !late {
		var err error
		if offer, err = ParseSDP(req.Body()); err != nil {
			s.respond(req, tx, sipmsg.StatusNotAcceptableHere, "Not Acceptable Here")
			return
		}
	}
	type reply struct {
		sdp  []byte
		code int
	}
	ch := make(chan reply, 1)
	var once atomic.Bool
	ok := e.emit(EventReinvite{Offer: offer, Late: late, Reply: func(answer []byte, code int) {
		if once.CompareAndSwap(false, true) {
			ch <- reply{answer, code}
		}
	}})
	if !ok {
		s.respond(req, tx, sipmsg.StatusInternalServerError, "No Owner")
		return
	}
	timer := time.NewTimer(reinviteReplyTimeout)
	defer timer.Stop()
	select {
	case r := <-ch:
		if r.code != sipmsg.StatusOK || r.sdp == nil {
			s.respond(req, tx, r.code, "")
			return
		}
		var acked *lateAck
		if late {
			acked = e.expectAck(req.CSeq().SeqNo) // before the 200 leaves
		}
		res := sipmsg.NewSDPResponseFromRequest(req, r.sdp)
		res.AppendHeader(contact)
		if err := tx.Respond(res); err == nil {
			s.observeResponse(req.Method.String(), 200)
		}
		if late {
			awaitAnswer(e, acked)
		}
	case <-timer.C:
		s.respond(req, tx, sipmsg.StatusInternalServerError, "Owner Timeout")
	case <-tx.Done():
	}
}

// awaitAnswer waits (64*T1, RFC 3261 13.3.1.4) for the ACK of the 200 that
// carried our offer to a late-offer re-INVITE, and hands its answer to the
// owner (EventReinvite with FromAck), or EventAckLost{NoAnswer} when it
// carries none that can be used or never comes.
func awaitAnswer(e *events, a *lateAck) {
	timer := time.NewTimer(64 * sipmsg.T1)
	defer timer.Stop()
	select {
	case body := <-a.body:
		if answer, err := ParseSDP(body); err == nil {
			e.emit(EventReinvite{Offer: answer, FromAck: true, Reply: func(_ []byte, code int) {
				if code != sipmsg.StatusOK { // the owner cannot use the answer
					go e.emit(EventAckLost{NoAnswer: true})
				}
			}})
			return
		}
	case <-timer.C:
		e.late.CompareAndSwap(a, nil)
	}
	e.emit(EventAckLost{NoAnswer: true})
}

// RejectError is a final non-2xx answer to an INVITE we sent.
type RejectError struct {
	Code   int
	Reason string
}

func (e *RejectError) Error() string { return fmt.Sprintf("sip: rejected %d %s", e.Code, e.Reason) }

// StatusCode lets the call layer map an error to the SIP answer it implies.
func (e *RejectError) StatusCode() int { return e.Code }

// detached is a short context for cleanup requests (BYE) that must go out even
// when the call's own context has been cancelled.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
}
