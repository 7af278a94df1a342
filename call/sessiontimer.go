package call

import (
	"context"
	"log/slog"
	"time"
)

// evSessionExpired: the caller's session timer ran out (RFC 4028 10); gen
// tells a stale timer (one a refresh replaced) from the live one.
type evSessionExpired struct{ gen int }

// endSessionExpired: the caller asked for a session timer and sent no
// refresh in time; the engine hangs up with BYE.
var endSessionExpired = reason{"session_expired", 408, slog.LevelWarn}

// sessionTimer is the caller's session timer; its fields belong to the
// call's goroutine, and the timer only posts an event to it.
type sessionTimer struct {
	t   *time.Timer
	gen int
}

// sessionDeadline is how long after the last refresh the engine gives up
// on a session of interval se: RFC 4028 10 has the side that is not the
// refresher send its BYE at the expiry less min(32 s, se/3).
func sessionDeadline(se time.Duration) time.Duration {
	return se - min(32*time.Second, se/3)
}

// evSessionRefresh: half the interval has passed since the last refresh
// of a session the engine refreshes: time to send the next.
type evSessionRefresh struct{ gen int }

// evSessionRefreshed: the engine's refresh got its answer (err nil on 2xx).
type evSessionRefreshed struct {
	gen int
	err error
}

// armSessionTimer (re)starts the caller's session timer, when the caller
// asked for one: at the answer and at each refresh (re-INVITE or UPDATE,
// the caller's or the engine's). When the caller refreshes it fires at the
// deadline; when the engine does (refresher=uas), at half the interval
// (RFC 4028 10), to send the refresh.
func (c *Call) armSessionTimer() {
	se := c.a.SessionExpires()
	if se <= 0 || c.ended.Load() {
		return
	}
	c.stopSessionTimer()
	gen := c.se.gen
	if c.a.EngineRefreshes() {
		c.se.t = time.AfterFunc(se/2, func() { c.post(evSessionRefresh{gen: gen}) })
		return
	}
	c.se.t = time.AfterFunc(sessionDeadline(se), func() { c.post(evSessionExpired{gen: gen}) })
}

// refreshSession sends the engine's refresh from a helper goroutine (the
// call's loop never waits on the network); its answer comes back as
// evSessionRefreshed.
func (c *Call) refreshSession(gen int) {
	if gen != c.se.gen || c.se.t == nil {
		return
	}
	se := c.a.SessionExpires()
	go func() {
		// The refresh must be answered before the session would expire.
		ctx, cancel := context.WithTimeout(context.Background(), se-se/2)
		defer cancel()
		c.post(evSessionRefreshed{gen: gen, err: c.a.Refresh(ctx)})
	}()
}

// onSessionRefreshed restarts the timer after a refresh the caller
// accepted; a refresh refused or unanswered ends the call (RFC 4028 10:
// the session is over; the engine sends BYE).
func (c *Call) onSessionRefreshed(gen int, err error) *reason {
	if gen != c.se.gen {
		return nil
	}
	if err != nil {
		c.log.Warn("session refresh failed", "session_expires", c.a.SessionExpires(), "error", err)
		return reasonPtr(endSessionExpired)
	}
	c.log.Debug("session refreshed", "session_expires", c.a.SessionExpires())
	c.armSessionTimer()
	return nil
}

// stopSessionTimer stops the timer; an expiry already posted is stale.
func (c *Call) stopSessionTimer() {
	if c.se.t != nil {
		c.se.t.Stop()
		c.se.t = nil
	}
	c.se.gen++
}

// seatTimer is the session interval asked of a leg of kind (seats only;
// 0: none).
func (c *Call) seatTimer(kind legKind) time.Duration {
	if kind != legSeat {
		return 0
	}
	return c.cfg.SIP.SeatSessionExpires
}

// onSessionExpired ends the call when the live timer ran out.
func (c *Call) onSessionExpired(gen int) *reason {
	if gen != c.se.gen || c.se.t == nil {
		return nil
	}
	c.log.Warn("session timer expired: no refresh from the caller", "session_expires", c.a.SessionExpires())
	return reasonPtr(endSessionExpired)
}
