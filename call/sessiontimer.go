package call

import (
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

// armSessionTimer (re)starts the caller's session timer, when the caller
// asked for one: at the answer and at each refresh (re-INVITE or UPDATE).
func (c *Call) armSessionTimer() {
	se := c.a.SessionExpires()
	if se <= 0 || c.ended.Load() {
		return
	}
	c.stopSessionTimer()
	gen := c.se.gen
	c.se.t = time.AfterFunc(sessionDeadline(se), func() { c.post(evSessionExpired{gen: gen}) })
}

// stopSessionTimer stops the timer; an expiry already posted is stale.
func (c *Call) stopSessionTimer() {
	if c.se.t != nil {
		c.se.t.Stop()
		c.se.t = nil
	}
	c.se.gen++
}

// onSessionExpired ends the call when the live timer ran out.
func (c *Call) onSessionExpired(gen int) *reason {
	if gen != c.se.gen || c.se.t == nil {
		return nil
	}
	c.log.Warn("session timer expired: no refresh from the caller", "session_expires", c.a.SessionExpires())
	return reasonPtr(endSessionExpired)
}
