package sip

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Session timers on the legs the engine dials (RFC 4028), asked for with
// DialOptions.SessionExpires: the INVITE says "Supported: timer" and
// "Session-Expires: N;refresher=uac". A phone that supports timers answers
// with a Session-Expires of its own (7.2; without one no timer runs):
// refresher=uac makes the engine refresh, with an UPDATE every half
// interval (when the phone's Allow lists UPDATE; otherwise no refresh is
// sent and the phone's own timer decides); refresher=uas makes the phone
// refresh, and a refresh (re-INVITE or UPDATE answered 2xx) missing past
// the interval less min(32 s, a third) ends the leg. A refresh refused or
// unanswered, or one missing, is EventSessionExpired to the leg's owner.
// The leg runs it on a goroutine of its own, which ends with the dialog.

// EventSessionExpired: the leg's session timer ran out (no refresh from
// the far side in time) or the engine's refresh failed; the owner ends the
// call (the engine's BYE).
type EventSessionExpired struct{ Err error }

func (EventSessionExpired) legEvent() {}

// ErrNoRefresh: the far side that was to refresh the session did not.
var ErrNoRefresh = errors.New("sip: no session refresh from the far side")

// legTimer is an outbound leg's session timer.
type legTimer struct {
	se        time.Duration
	engine    bool          // the engine refreshes (refresher=uac in the 2xx)
	refreshed chan struct{} // the far side refreshed (1 buffered)
	stopped   atomic.Bool
}

// sessionOffer are the headers of an INVITE asking for a session timer.
func sessionOffer(se time.Duration) []sipmsg.Header {
	return []sipmsg.Header{
		supportedHeader(),
		sipmsg.NewHeader("Session-Expires", strconv.Itoa(int(se/time.Second))+";refresher=uac"),
	}
}

// answeredTimer reads the 2xx's Session-Expires: the interval and who
// refreshes; ok false when the far side runs no timer.
func answeredTimer(res *sipmsg.Response) (se time.Duration, engine, ok bool) {
	h := res.GetHeader("session-expires")
	if h == nil {
		h = res.GetHeader("x")
	}
	if h == nil {
		return 0, false, false
	}
	value, params, _ := strings.Cut(h.Value(), ";")
	se, ok = sessionSeconds(value)
	if !ok {
		return 0, false, false
	}
	// A 2xx without a refresher names none: the UAC (we) refreshes, RFC
	// 4028 7.2 ("the UAC MUST ... be the refresher" when absent).
	engine = !strings.Contains(strings.ReplaceAll(strings.ToLower(params), " ", ""), "refresher=uas")
	return se, engine, true
}

// maxSessionInterval caps a Session-Expires the engine runs: its delta-
// seconds may reach 2^32-1 (RFC 4028 4), past what a time.Duration holds;
// a day without a refresh is no session timer at all.
const maxSessionInterval = 24 * time.Hour

// sessionSeconds reads a Session-Expires value (delta-seconds), capped at
// maxSessionInterval; ok false when it is not a positive number.
func sessionSeconds(value string) (time.Duration, bool) {
	secs, err := strconv.ParseUint(strings.TrimSpace(value), 10, 64)
	if err != nil || secs == 0 {
		return 0, false
	}
	if secs >= uint64(maxSessionInterval/time.Second) {
		return maxSessionInterval, true
	}
	return time.Duration(secs) * time.Second, true
}

// allows reports whether a message's Allow lists method.
func allows(msg interface{ GetHeaders(string) []sipmsg.Header }, method string) bool {
	for _, a := range msg.GetHeaders("allow") {
		for _, m := range strings.Split(a.Value(), ",") {
			if strings.EqualFold(strings.TrimSpace(m), method) {
				return true
			}
		}
	}
	return false
}

// startTimer runs the leg's session timer when its 2xx asked for one;
// called once, after the ACK.
func (l *OutboundLeg) startTimer() {
	res := l.d.InviteResponse
	se, engine, ok := answeredTimer(res)
	if !ok || !l.timerAsked {
		return
	}
	if engine && !allows(res, "UPDATE") {
		l.s.log.Info("sip: the far side asks us to refresh its session but allows no UPDATE: no refreshes sent",
			"call_id", l.CallID(), "session_expires", se)
		return
	}
	t := &legTimer{se: se, engine: engine, refreshed: make(chan struct{}, 1)}
	l.timer.Store(t)
	go l.runTimer(t)
}

// noteRefresh: the far side refreshed the session (a re-INVITE or UPDATE
// answered 2xx).
func (l *OutboundLeg) noteRefresh() {
	if t := l.timer.Load(); t != nil {
		select {
		case t.refreshed <- struct{}{}:
		default:
		}
	}
}

// runTimer refreshes (engine) or watches (far side) the session until the
// dialog ends.
func (l *OutboundLeg) runTimer(t *legTimer) {
	wait := sessionDeadlineOf(t.se)
	if t.engine {
		wait = t.se / 2
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	done := l.d.Context().Done()
	for {
		select {
		case <-done:
			return
		case <-t.refreshed:
			timer.Reset(wait)
			continue
		case <-timer.C:
		}
		if l.ended.Load() {
			return
		}
		if !t.engine {
			l.emit(EventSessionExpired{Err: ErrNoRefresh})
			return
		}
		ctx, cancel := context.WithTimeout(l.d.Context(), t.se-t.se/2)
		err := l.refresh(ctx, t.se)
		cancel()
		if err != nil && !l.ended.Load() {
			l.emit(EventSessionExpired{Err: err})
			return
		}
		timer.Reset(wait)
	}
}

// sessionDeadlineOf is RFC 4028 10's expiry less min(32 s, se/3).
func sessionDeadlineOf(se time.Duration) time.Duration { return se - min(32*time.Second, se/3) }

// refresh sends the engine's UPDATE refresh on the leg.
func (l *OutboundLeg) refresh(ctx context.Context, se time.Duration) error {
	target := l.d.InviteRequest.Recipient
	if c := l.d.InviteResponse.Contact(); c != nil {
		target = c.Address
	}
	req := sipmsg.NewRequest(sipmsg.UPDATE, *target.Clone())
	req.AppendHeader(sipmsg.NewHeader("Session-Expires", strconv.Itoa(int(se/time.Second))+";refresher=uac"))
	req.AppendHeader(supportedHeader())
	l.s.fromListener(req)
	if l.s.cfg.Observer != nil {
		l.s.cfg.Observer.SIPRequest("UPDATE_OUT")
	}
	res, err := l.d.Do(ctx, req)
	switch {
	case err != nil:
		return err
	case !res.IsSuccess():
		return &RejectError{Code: res.StatusCode, Reason: res.Reason}
	}
	return nil
}
