package sip

import (
	"net/netip"
	"time"
)

// maxFailureEntries bounds the failed-auth table: made-up usernames and
// sources must not grow it without limit.
const maxFailureEntries = 10000

// failureKey names one streak: an extension's (ip zero) or a source IP's
// (ext empty).
type failureKey struct {
	ext string
	ip  netip.Addr
}

// strike is one key's record: the current streak of failures, how many
// times the key has been locked, and until when it is locked now.
type strike struct {
	count    int
	last     time.Time // the latest failure
	lockouts int
	until    time.Time // locked while now is before it
}

// lockout decides, from failures alone, when an extension or a source is
// locked and for how long. It is pure state plus the caller's clock; the
// Registrar holds it under its mutex.
//
// A key may fail max times in a row (a streak ends after window without a
// failure, or on a success); the next failure locks it for base, and each
// further lockout doubles that, up to ceiling. While locked every request
// of the key is refused, right credentials too, and failures are not
// counted (a locked key cannot be kept locked forever by guessing). The
// lockout count is forgotten on a success or after ceiling without a
// failure, so a seat that mistyped once long ago starts again at base.
type lockout struct {
	max                   int
	window, base, ceiling time.Duration
	strikes               map[failureKey]strike
}

func newLockout(maxFailures int, window, base, ceiling time.Duration) *lockout {
	return &lockout{max: maxFailures, window: window, base: base, ceiling: max(ceiling, base),
		strikes: make(map[failureKey]strike)}
}

// fail counts a failure for each key that is not locked and returns the
// longest streak and whether any key is locked afterwards.
func (l *lockout) fail(now time.Time, keys ...failureKey) (streak int, locked bool) {
	for _, k := range keys {
		s, ok := l.strikes[k]
		if !ok && len(l.strikes) >= maxFailureEntries {
			l.evictOldest()
		}
		if now.Before(s.until) {
			locked = true
			continue
		}
		if now.Sub(s.last) >= l.window {
			s.count = 0
		}
		s.count++
		s.last = now
		streak = max(streak, s.count)
		if s.count > l.max {
			s.lockouts++
			s.until = now.Add(l.backoff(s.lockouts))
			s.count = 0
			locked = true
		}
		l.strikes[k] = s
	}
	return streak, locked
}

// backoff is base doubled for each lockout after the first, at most ceiling.
func (l *lockout) backoff(lockouts int) time.Duration {
	d := l.base
	for i := 1; i < lockouts && d < l.ceiling; i++ {
		d *= 2
	}
	return min(d, l.ceiling)
}

// lockedUntil returns the latest end of a lock among keys, zero when none
// is locked at now.
func (l *lockout) lockedUntil(now time.Time, keys ...failureKey) time.Time {
	var until time.Time
	for _, k := range keys {
		if s := l.strikes[k]; now.Before(s.until) && s.until.After(until) {
			until = s.until
		}
	}
	return until
}

// clear forgets keys after a success.
func (l *lockout) clear(keys ...failureKey) {
	for _, k := range keys {
		delete(l.strikes, k)
	}
}

// sweep drops keys with nothing left to remember: not locked, and either
// never locked and quiet for window, or quiet for ceiling.
func (l *lockout) sweep(now time.Time) {
	for k, s := range l.strikes {
		quiet := now.Sub(s.last)
		if now.Before(s.until) {
			continue
		}
		if (s.lockouts == 0 && quiet >= l.window) || quiet >= l.ceiling {
			delete(l.strikes, k)
		}
	}
}

// evictOldest drops the key that failed longest ago. It runs only when the
// table is full, so the linear scan is rare.
func (l *lockout) evictOldest() {
	var oldest failureKey
	var at time.Time
	first := true
	for k, s := range l.strikes {
		if first || s.last.Before(at) {
			oldest, at, first = k, s.last, false
		}
	}
	delete(l.strikes, oldest)
}

// failureKeys are the two streaks a failure counts in: the extension's and
// the source IP's.
func failureKeys(ext string, ip netip.Addr) []failureKey {
	return []failureKey{{ext: ext}, {ip: ip}}
}
