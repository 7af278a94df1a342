package sip

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Session timers (RFC 4028) on the caller's leg, kept small: the engine
// runs one only when the caller's INVITE asks for it (Session-Expires) and
// the caller supports timer. The caller is the refresher, unless it asks
// for refresher=uas and allows UPDATE: then the engine refreshes, with an
// UPDATE without a body every half interval (RFC 4028 10; Refresh). A
// caller that asks for refresher=uas without allowing UPDATE is answered
// refresher=uac: RFC 4028 7.2 has a UAC take the refresher from the 2xx
// (the engine sends no re-INVITE refreshes). A Session-Expires from a caller without timer
// support (put there by a proxy) is ignored: the 200 carries none, so by
// RFC 4028 7.2 no session timer runs. The interval is fixed by the INVITE;
// a refresh carrying another Session-Expires keeps it.

// defaultMinSessionExpires is RFC 4028 4's recommended Min-SE.
const defaultMinSessionExpires = 90 * time.Second

// sessionInterval reads a new INVITE's session timer request: the interval
// the engine will run (0: none) and whether the INVITE may go on. One asking
// for less than the configured minimum is answered 422 with Min-SE (RFC 4028
// 8.1), a malformed Session-Expires 400.
func (s *Server) sessionInterval(req *sipmsg.Request, tx sipmsg.ServerTransaction) (time.Duration, bool) {
	h := req.GetHeader("session-expires")
	if h == nil {
		h = req.GetHeader("x")
	}
	if h == nil || !supports(req, "timer") {
		return 0, true
	}
	value, _, _ := strings.Cut(h.Value(), ";")
	se, ok := sessionSeconds(value)
	if !ok {
		s.respond(req, tx, sipmsg.StatusBadRequest, "Bad Request: malformed Session-Expires")
		return 0, false
	}
	if least := s.cfg.MinSessionExpires; se < least {
		s.respond(req, tx, statusIntervalTooSmall, "Session Interval Too Small",
			sipmsg.NewHeader("Min-SE", strconv.Itoa(int(least/time.Second))))
		return 0, false
	}
	return se, true
}

// engineRefreshes: the INVITE asks the engine (its UAS) to refresh the
// session (refresher=uas) and allows UPDATE, which the engine refreshes by.
func engineRefreshes(req *sipmsg.Request) bool {
	h := req.GetHeader("session-expires")
	if h == nil {
		h = req.GetHeader("x")
	}
	if h == nil || !strings.Contains(strings.ReplaceAll(strings.ToLower(h.Value()), " ", ""), ";refresher=uas") {
		return false
	}
	return allows(req, "UPDATE")
}

// refresher is the refresher parameter the engine answers: uas when it
// refreshes itself.
func (l *InboundLeg) refresher() string {
	if l.uasRefresh {
		return "uas"
	}
	return "uac"
}

// sessionHeaders are the headers of a 2xx that runs (or refreshes) a
// session timer of interval se, refreshed by refresher (uac or uas).
func sessionHeaders(se time.Duration, refresher string) []sipmsg.Header {
	return []sipmsg.Header{
		sipmsg.NewHeader("Session-Expires", strconv.Itoa(int(se/time.Second))+";refresher="+refresher),
		sipmsg.NewHeader("Require", "timer"),
	}
}

// EngineRefreshes reports whether the engine is the refresher of the
// leg's session timer (it then calls Refresh every half interval).
func (l *InboundLeg) EngineRefreshes() bool { return l.uasRefresh }

// Refresh sends a session refresh: an UPDATE without a body carrying the
// session interval (RFC 4028 9), and waits for its final response: nil on
// 2xx, a *RejectError for another, an error when none came. Blocks; called
// from a helper goroutine of the leg's owner.
func (l *InboundLeg) Refresh(ctx context.Context) error {
	if l.ended.Load() {
		return ErrLegClosed
	}
	target := l.req.Recipient
	if c := l.req.Contact(); c != nil {
		target = c.Address
	}
	req := sipmsg.NewRequest(sipmsg.UPDATE, *target.Clone())
	req.AppendHeader(sipmsg.NewHeader("Session-Expires", strconv.Itoa(int(l.se/time.Second))+";refresher=uas"))
	req.AppendHeader(supportedHeader())
	l.s.fromListener(req)
	if l.s.cfg.Observer != nil {
		l.s.cfg.Observer.SIPRequest("UPDATE_OUT")
	}
	res, err := l.d.Do(ctx, req)
	switch {
	case err != nil:
		return fmt.Errorf("sip: session refresh: %w", err)
	case !res.IsSuccess():
		return &RejectError{Code: res.StatusCode, Reason: res.Reason}
	}
	return nil
}

// refreshTx is the transaction of a re-INVITE or UPDATE on a leg that runs
// a session timer: its 2xx carries the session headers (interval se,
// refresher) and, once sent, refreshed is called (RFC 4028 10).
type refreshTx struct {
	sipmsg.ServerTransaction
	se        time.Duration
	refresher string
	refreshed func()
}

// refreshTx wraps a refresh's transaction on the caller's leg: its 2xx is
// EventRefresh to the leg's owner.
func (l *InboundLeg) refreshTx(tx sipmsg.ServerTransaction) *refreshTx {
	return &refreshTx{ServerTransaction: tx, se: l.se, refresher: l.refresher(), refreshed: func() { l.emit(EventRefresh{}) }}
}

func (t *refreshTx) Respond(res *sipmsg.Response) error {
	ok := res.StatusCode >= 200 && res.StatusCode < 300
	if ok {
		for _, h := range sessionHeaders(t.se, t.refresher) {
			res.AppendHeader(h)
		}
	}
	err := t.ServerTransaction.Respond(res)
	if ok && err == nil {
		t.refreshed()
	}
	return err
}

// SessionExpires is the session interval the caller asked for and the
// engine runs (RFC 4028); 0 when no session timer runs. The leg's owner
// ends the call when no EventRefresh comes within it (less the margin of
// RFC 4028 10).
func (l *InboundLeg) SessionExpires() time.Duration { return l.se }
