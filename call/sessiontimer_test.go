package call

import (
	"errors"
	"log/slog"
	"testing"
	"time"
)

// TestSessionDeadline: RFC 4028 10, the BYE goes at the expiry less
// min(32 s, a third of the interval).
func TestSessionDeadline(t *testing.T) {
	for _, tc := range []struct{ se, want time.Duration }{
		{4 * time.Second, 4*time.Second - 4*time.Second/3},
		{90 * time.Second, 60 * time.Second},
		{96 * time.Second, 64 * time.Second},
		{1800 * time.Second, 1768 * time.Second},
	} {
		if got := sessionDeadline(tc.se); got != tc.want {
			t.Errorf("sessionDeadline(%v) = %v, want %v", tc.se, got, tc.want)
		}
	}
}

// TestSessionTimerEvents: the caller's session timer posts its expiry to the
// call, which ends it session_expired; a refresh in between makes an expiry
// already posted stale, and a caller without a timer arms none.
func TestSessionTimerEvents(t *testing.T) {
	c := &Call{a: &fakeLeg{se: 30 * time.Millisecond}, mb: newMailbox(), log: slog.New(slog.DiscardHandler)}
	c.armSessionTimer()
	first := c.mb.take()[0].(evSessionExpired)
	c.armSessionTimer() // a refresh arrived meanwhile
	if r := c.onSessionExpired(first.gen); r != nil {
		t.Fatalf("a stale expiry ended the call: %v", r.name)
	}
	second := c.mb.take()[0].(evSessionExpired)
	if r := c.onSessionExpired(second.gen); r == nil || r.name != "session_expired" {
		t.Fatalf("the live expiry gave %v", r)
	}
	c.stopSessionTimer()

	none := &Call{a: &fakeLeg{}, mb: newMailbox()}
	if none.armSessionTimer(); none.se.t != nil {
		t.Fatal("a timer without a session interval")
	}
}

// TestEngineRefreshes: when the engine is the refresher (refresher=uas),
// the timer fires at half the interval with a refresh; the refresh's answer
// comes back as an event: accepted, the timer is armed again; refused or
// unanswered, the call ends session_expired; an answer to a refresh a
// newer one replaced is ignored.
func TestEngineRefreshes(t *testing.T) {
	leg := &fakeLeg{se: 60 * time.Millisecond, uasRefresh: true}
	c := &Call{a: leg, mb: newMailbox(), log: slog.New(slog.DiscardHandler)}
	start := time.Now()
	c.armSessionTimer()
	ev := c.mb.take()[0].(evSessionRefresh)
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("refresh due after %v, want half the interval", d)
	}
	c.refreshSession(ev.gen)
	done := c.mb.take()[0].(evSessionRefreshed)
	if r := c.onSessionRefreshed(done.gen, done.err); r != nil {
		t.Fatalf("an accepted refresh ended the call: %v", r.name)
	}
	if _, ok := c.mb.take()[0].(evSessionRefresh); !ok {
		t.Fatal("no next refresh")
	}
	leg.refreshErr = errors.New("481")
	c.refreshSession(c.se.gen)
	done = c.mb.take()[0].(evSessionRefreshed)
	if r := c.onSessionRefreshed(done.gen-1, done.err); r != nil {
		t.Fatal("a stale answer ended the call")
	}
	if r := c.onSessionRefreshed(done.gen, done.err); r == nil || r.name != "session_expired" {
		t.Fatalf("a refused refresh gave %v", r)
	}
	c.stopSessionTimer()
}
