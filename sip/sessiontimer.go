package sip

import (
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Session timers (RFC 4028) on the caller's leg, kept small: the engine
// runs one only when the caller's INVITE asks for it (Session-Expires) and
// the caller supports timer, so that the caller is the refresher. A caller
// that asks for refresher=uas is answered refresher=uac all the same: RFC
// 4028 7.2 has a UAC take the refresher from the 2xx, and the engine sends
// no refreshes of its own. A Session-Expires from a caller without timer
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
	secs, err := strconv.Atoi(strings.TrimSpace(value))
	if err != nil || secs <= 0 {
		s.respond(req, tx, sipmsg.StatusBadRequest, "Bad Request: malformed Session-Expires")
		return 0, false
	}
	se := time.Duration(secs) * time.Second
	if least := s.cfg.MinSessionExpires; se < least {
		s.respond(req, tx, statusIntervalTooSmall, "Session Interval Too Small",
			sipmsg.NewHeader("Min-SE", strconv.Itoa(int(least/time.Second))))
		return 0, false
	}
	return se, true
}

// sessionHeaders are the headers of a 2xx that runs (or refreshes) a
// session timer of interval se.
func sessionHeaders(se time.Duration) []sipmsg.Header {
	return []sipmsg.Header{
		sipmsg.NewHeader("Session-Expires", strconv.Itoa(int(se/time.Second))+";refresher=uac"),
		sipmsg.NewHeader("Require", "timer"),
	}
}

// refreshTx is the transaction of a re-INVITE or UPDATE on a leg that runs
// a session timer: its 2xx carries the session headers and, once sent,
// tells the leg's owner the session was refreshed (RFC 4028 10).
type refreshTx struct {
	sipmsg.ServerTransaction
	l *InboundLeg
}

func (t *refreshTx) Respond(res *sipmsg.Response) error {
	ok := res.StatusCode >= 200 && res.StatusCode < 300
	if ok {
		for _, h := range sessionHeaders(t.l.se) {
			res.AppendHeader(h)
		}
	}
	err := t.ServerTransaction.Respond(res)
	if ok && err == nil {
		t.l.emit(EventRefresh{})
	}
	return err
}

// SessionExpires is the session interval the caller asked for and the
// engine runs (RFC 4028); 0 when no session timer runs. The leg's owner
// ends the call when no EventRefresh comes within it (less the margin of
// RFC 4028 10).
func (l *InboundLeg) SessionExpires() time.Duration { return l.se }
