package sip

import (
	"bytes"
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// InboundLeg is a dialog someone opened with an INVITE: a caller on a trunk or
// a seat calling out. The engine answers or rejects it once; after an answer
// it can hang it up. Methods may be called from any goroutine; Answer and
// Reject block until the transaction completes (ACK received or timed out).
type InboundLeg struct {
	legCore
	req    *sipmsg.Request
	d      *sipgo.DialogServerSession
	origin Origin
	source netip.AddrPort
	se     time.Duration // session interval (RFC 4028); 0: no session timer
	// uasRefresh: the engine refreshes the session (sessiontimer.go)
	uasRefresh bool

	final    chan struct{} // closed once a final response has been sent
	finalOne sync.Once
	answered atomic.Bool
	ackSDP   atomic.Pointer[[]byte] // the body of the ACK of our 200 (a late offer's answer)
}

// CallID is the SIP Call-ID of the caller's dialog.
func (l *InboundLeg) CallID() string { return l.req.CallID().Value() }

// Tags are the dialog's tags: the caller's (From) and ours (To, chosen
// when the INVITE arrived and sent in every response).
func (l *InboundLeg) Tags() (from, to string) {
	if h := l.req.From(); h != nil {
		from, _ = h.Params.Get("tag")
	}
	if h := l.d.InviteRequest.To(); h != nil {
		to, _ = h.Params.Get("tag")
	}
	return from, to
}

// Caller is the From user (the calling number).
func (l *InboundLeg) Caller() string { return userOf(l.req.From().Address) }

// CallerName is the From display name, if any.
func (l *InboundLeg) CallerName() string { return l.req.From().DisplayName }

// Dialled is the Request-URI user part: the number the caller dialled.
func (l *InboundLeg) Dialled() string { return userOf(l.req.Recipient) }

// Origin says whether the INVITE came through a trunk or from a seat.
func (l *InboundLeg) Origin() Origin { return l.origin }

// Source is where the INVITE came from.
func (l *InboundLeg) Source() netip.AddrPort { return l.source }

// Transport is "udp" or "tcp".
func (l *InboundLeg) Transport() string { return l.req.Transport() }

// Offer parses the INVITE's SDP offer.
func (l *InboundLeg) Offer() (MediaDesc, error) { return ParseSDP(l.req.Body()) }

// HasOffer reports whether the INVITE carried a body at all. Without one
// (a late offer, RFC 3261 13.2.1) the 200 carries our offer and the ACK
// the answer: see AckSDP.
func (l *InboundLeg) HasOffer() bool { return len(bytes.TrimSpace(l.req.Body())) > 0 }

// AckSDP is the body of the ACK of our 200, nil when it had none: the
// answer to the offer a late-offer INVITE's 200 carried. Valid once Answer
// returned nil.
func (l *InboundLeg) AckSDP() []byte {
	if b := l.ackSDP.Load(); b != nil {
		return *b
	}
	return nil
}

// Context ends when the dialog ends (CANCEL, BYE, transaction failure).
func (l *InboundLeg) Context() context.Context { return l.d.Context() }

// Answered reports whether a 200 has been sent.
func (l *InboundLeg) Answered() bool { return l.answered.Load() }

// Ringing sends 180 Ringing.
func (l *InboundLeg) Ringing() error {
	err := l.d.Respond(sipmsg.StatusRinging, "Ringing", nil, supportedHeader())
	if err == nil {
		l.s.observeResponse("INVITE", 180)
	}
	return err
}

// Reject sends a final non-2xx response and waits for its ACK.
func (l *InboundLeg) Reject(code int, reason string, hdrs ...sipmsg.Header) error {
	if l.answered.Load() || !l.end() {
		return ErrLegClosed
	}
	defer l.markFinal()
	err := l.d.Respond(code, reason, nil, hdrs...)
	if err == nil {
		l.s.observeResponse("INVITE", code)
	}
	return err
}

// Answer sends 200 with our SDP and blocks until the ACK arrives. The dialog
// is in the server's table before the 200 leaves, so a BYE racing the ACK
// still finds it.
func (l *InboundLeg) Answer(sdp []byte) error {
	if l.ended.Load() || !l.answered.CompareAndSwap(false, true) {
		return ErrLegClosed
	}
	l.s.addDialog(l.key, l)
	defer l.markFinal()
	res := sipmsg.NewSDPResponseFromRequest(l.d.InviteRequest, sdp)
	res.AppendHeader(supportedHeader())
	res.AppendHeader(sipmsg.NewHeader("Allow", allowed))
	if l.se > 0 {
		for _, h := range sessionHeaders(l.se, l.refresher()) {
			res.AppendHeader(h)
		}
	}
	err := l.d.WriteResponse(res)
	if err != nil && l.d.LoadState() == sipmsg.DialogStateEnded {
		// The caller's BYE overtook its ACK (it hung up at once): the leg
		// ends by that BYE (EventBye), not by a lost ACK.
		l.s.observeResponse("INVITE", 200)
		return nil
	}
	if err != nil {
		if l.d.InviteResponse != nil && l.d.InviteResponse.StatusCode == 200 {
			// 200 went out but no ACK came back in 64*T1.
			l.emit(EventAckLost{})
			return err
		}
		l.answered.Store(false)
		l.s.removeDialog(l.key)
		return err
	}
	l.s.observeResponse("INVITE", 200)
	return nil
}

// Hangup ends the leg: BYE when answered, otherwise the given final code.
// Idempotent; safe on a leg the peer has already ended.
func (l *InboundLeg) Hangup(ctx context.Context, code int) error {
	if !l.answered.Load() {
		if err := l.Reject(code, ""); err != ErrLegClosed {
			return err
		}
		return nil
	}
	if !l.end() {
		return nil
	}
	defer l.s.removeDialog(l.key)
	ctx, cancel := detached(ctx)
	defer cancel()
	return l.d.Bye(ctx)
}

func (l *InboundLeg) markFinal() { l.finalOne.Do(func() { close(l.final) }) }

// handleInDialog serves requests within this leg's dialog.
func (l *InboundLeg) handleInDialog(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if req.Method == sipmsg.ACK {
		if l.takeLateAck(req) {
			return
		}
		if body := req.Body(); len(body) > 0 && req.CSeq().SeqNo == l.req.CSeq().SeqNo {
			l.ackSDP.Store(&body) // before ReadAck wakes Answer
		}
		_ = l.d.ReadAck(req, tx)
		return
	}
	if req.Method == sipmsg.REFER {
		l.s.respond(req, tx, sipmsg.StatusForbidden, "Transfer Not Allowed")
		return
	}
	if l.se > 0 && (req.Method == sipmsg.INVITE || req.Method == sipmsg.UPDATE) {
		tx = l.refreshTx(tx)
	}
	l.inDialog(req, tx, l.d.ReadBye)
}

// onInvite admits a new INVITE (or routes a re-INVITE to its dialog). In
// order, before anything is built: 503 while draining; the origin (a trunk
// by its ACL, a seat after a 407 digest challenge, 403 for strangers); 422
// for a session interval below the minimum (sessiontimer.go); 503 with
// Retry-After over a limit. Then 100 Trying, the leg to the Handler, and
// it stays until the leg has its final response, so sipgo does not end the
// transaction under it.
func (s *Server) onInvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if tag, _ := req.To().Params.Get("tag"); tag != "" {
		s.onInDialog(req, tx)
		return
	}
	if s.draining.Load() {
		s.refuseCall(req, tx, RejectDraining)
		return
	}
	src := sourceOf(req)
	origin, ok := s.originOf(req, tx, src)
	if !ok {
		return
	}
	se, ok := s.sessionInterval(req, tx)
	if !ok {
		return
	}
	release, ok := s.admit(req, tx, origin)
	if !ok {
		return
	}
	s.respond(req, tx, sipmsg.StatusTrying, "Trying")
	dua := s.inviteDialog(req, origin, src)
	if tls := s.duaFor(req); tls != s.dua {
		dua = tls
	}
	d, err := dua.ReadInvite(req, tx)
	if err != nil {
		release()
		s.respond(req, tx, sipmsg.StatusBadRequest, "Bad Request: "+err.Error())
		return
	}
	leg := &InboundLeg{
		legCore: legCore{s: s, dua: dua, onEnd: release}, req: req, d: d, origin: origin, source: src,
		final: make(chan struct{}), se: se, uasRefresh: se > 0 && engineRefreshes(req),
	}
	defer func() {
		if v := recover(); v != nil {
			leg.end() // the slot goes back; handle answers 500 and counts it
			panic(v)
		}
	}()
	local, _ := d.InviteRequest.To().Params.Get("tag")
	remote, _ := req.From().Params.Get("tag")
	leg.key = dialogKey(req.CallID().Value(), local, remote)
	s.cfg.Handler.HandleInvite(leg)
	select {
	case <-leg.final:
	case <-d.Context().Done():
		if !leg.answered.Load() && leg.end() {
			leg.markFinal()
			leg.emit(EventCancel{})
		}
	}
}

// originOf classifies an INVITE's source, answering it itself when it
// returns false. A source in a trunk ACL is the trunk, always (the registrar
// refuses REGISTERs from trunk addresses, so no seat can sit there). A source
// some seat registered from is challenged with 407, and the request is the
// extension it authenticates as, which must be registered from that very
// source: a spoofed INVITE acts as nobody, and two lines of one desk phone
// (one IP:port) stay apart. Anyone else gets 403.
func (s *Server) originOf(req *sipmsg.Request, tx sipmsg.ServerTransaction, src netip.AddrPort) (Origin, bool) {
	if s.cfg.Trunks != nil {
		if name, ok := s.cfg.Trunks(src.Addr()); ok {
			return Origin{Trunk: name}, true
		}
	}
	if s.cfg.Registrar == nil || !s.cfg.Registrar.HasSource(src) {
		s.log.Warn("sip: INVITE from unknown source refused", "source", src, "call_id", req.CallID().Value())
		s.respond(req, tx, sipmsg.StatusForbidden, "Forbidden")
		return Origin{}, false
	}
	ext, ok := s.cfg.Registrar.Authenticate(req, tx, true)
	if !ok {
		return Origin{}, false // challenged or refused
	}
	if r, ok := s.cfg.Registrar.Lookup(ext); !ok || r.Source != src {
		s.log.Warn("sip: seat INVITE authenticated as an extension not registered from its source",
			"seat", ext, "source", src, "call_id", req.CallID().Value())
		s.respond(req, tx, sipmsg.StatusForbidden, "Forbidden")
		return Origin{}, false
	}
	return Origin{Seat: ext}, true
}

// admit takes a call slot for a new INVITE, asking the edge's limits and
// then the Admission; over a limit it answers 503 with Retry-After. release
// gives the slot back.
func (s *Server) admit(req *sipmsg.Request, tx sipmsg.ServerTransaction, o Origin) (release func(), ok bool) {
	release, reason, ok := s.adm.admit(o)
	if ok && s.cfg.Admission != nil {
		if r, fine := s.cfg.Admission.Admit(o); !fine {
			release()
			reason, ok = r, false
		}
	}
	if !ok {
		s.refuseCall(req, tx, reason)
		return nil, false
	}
	return release, true
}

// refuseCall answers a new INVITE 503 with Retry-After and counts it.
func (s *Server) refuseCall(req *sipmsg.Request, tx sipmsg.ServerTransaction, reason string) {
	s.log.Debug("sip: call refused", "reason", reason, "source", req.Source(), "call_id", req.CallID().Value())
	if s.cfg.Observer != nil {
		s.cfg.Observer.CallRejected(reason)
	}
	s.respond(req, tx, sipmsg.StatusServiceUnavailable, "Service Unavailable", retryAfter(s.retryAfterSeconds()))
}
