package acd

import (
	"fmt"
	"time"

	"github.com/hotline-cc/hotline/store"
)

// CommandKind is what an agent asks for, from a feature code or the API.
type CommandKind string

const (
	CmdLogin    CommandKind = "login"
	CmdLogout   CommandKind = "logout"
	CmdReady    CommandKind = "ready"
	CmdNotReady CommandKind = "not_ready"
)

// Command is an agent's state request; Reason goes with CmdNotReady.
type Command struct {
	Kind   CommandKind
	Reason string
}

// enter moves s into st at now, clearing what belongs to the old state.
func enter(s store.Status, st State, reason string, now time.Time) store.Status {
	s.State, s.Reason, s.Since = string(st), reason, now
	if st != Ringing && st != OnCall {
		s.CallID, s.Node, s.Boot = "", "", ""
	}
	if st != WrapUp {
		s.WrapUntil = time.Time{}
	}
	if st == Ready {
		s.Misses = 0
		if s.IdleSince.IsZero() {
			s.IdleSince = now
		}
	}
	if st == LoggedOut || st == NotReady {
		s.Pending, s.PendingWhy = "", ""
	}
	return s
}

// applyCommand is the agent-command rule table. A seat that is ringing or on
// a call keeps the call: the request waits in Pending until the call (and
// its wrap-up) is over.
func applyCommand(s store.Status, c Command, now time.Time) (store.Status, error) {
	cur := state(s)
	busy := cur == Ringing || cur == OnCall
	switch c.Kind {
	case CmdLogin:
		if cur == LoggedOut {
			s.IdleSince = now
			return enter(s, Ready, "", now), nil
		}
		return s, nil
	case CmdLogout:
		if busy {
			s.Pending, s.PendingWhy = string(LoggedOut), ""
			return s, nil
		}
		return enter(s, LoggedOut, "", now), nil
	case CmdReady:
		if busy {
			s.Pending, s.PendingWhy = "", ""
			return s, nil
		}
		if cur == Ready {
			return s, nil
		}
		if cur == LoggedOut || cur == NotReady {
			s.IdleSince = now
		}
		return enter(s, Ready, "", now), nil
	case CmdNotReady:
		if cur == LoggedOut {
			return s, ErrLoggedOut
		}
		if busy {
			s.Pending, s.PendingWhy = string(NotReady), c.Reason
			return s, nil
		}
		return enter(s, NotReady, c.Reason, now), nil
	}
	return s, fmt.Errorf("%w: command %q", ErrConfig, c.Kind)
}

// afterCall is where a seat goes when its call or wrap-up is over: the
// pending request, else ready.
func afterCall(s store.Status, now time.Time) store.Status {
	switch State(s.Pending) {
	case LoggedOut:
		return enter(s, LoggedOut, "", now)
	case NotReady:
		return enter(s, NotReady, s.PendingWhy, now)
	}
	return enter(s, Ready, "", now)
}

// claim reserves a ready seat (or, for a callback, one finishing wrap-up)
// for one call.
func claim(s store.Status, callID, queue, node string, now time.Time) store.Status {
	s = enter(s, Ringing, "", now)
	s.CallID, s.Queue, s.Node = callID, queue, node
	return s
}

// answered: the ringing seat took the call.
func answered(s store.Status, day string, now time.Time) store.Status {
	callID, node, boot := s.CallID, s.Node, s.Boot
	s = enter(s, OnCall, "", now)
	s.CallID, s.Node, s.Boot = callID, node, boot
	if s.Day != day {
		s.Day, s.CallsToday = day, 0
	}
	s.CallsToday++
	s.Misses = 0
	return s
}

// released: the offer was withdrawn (the caller left, another seat of a
// ring-all answered) through no fault of the seat.
func released(s store.Status, now time.Time) store.Status {
	if s.Pending != "" {
		return afterCall(s, now)
	}
	misses := s.Misses
	s = enter(s, Ready, "", now)
	s.Misses = misses
	return s
}

// missed: the seat did not answer or was busy; after maxMisses in a row it
// is set not ready ("missed"). Its idle time restarts, so longest-idle
// offers the next call to another seat first.
func missed(s store.Status, maxMisses int, now time.Time) store.Status {
	m := s.Misses + 1
	s.IdleSince = now
	if maxMisses > 0 && m >= maxMisses {
		s = enter(s, NotReady, ReasonMissed, now)
		s.Misses = m
		return s
	}
	s = released(s, now)
	s.Misses = m
	return s
}

// ended: the seat's call is over: wrap-up for the queue's duration, then
// the pending request or ready.
func ended(s store.Status, wrap time.Duration, now time.Time) store.Status {
	s.IdleSince = now
	if wrap > 0 {
		s = enter(s, WrapUp, "", now)
		s.WrapUntil = now.Add(wrap)
		return s
	}
	return afterCall(s, now)
}

// wrapDone moves a seat whose wrap-up is over on.
func wrapDone(s store.Status, now time.Time) (store.Status, bool) {
	if state(s) != WrapUp || now.Before(s.WrapUntil) {
		return s, false
	}
	return afterCall(s, now), true
}

// registered reports whether the seat's phone can be rung at now.
func registered(r store.Registration, now time.Time) bool {
	return r.Contact != "" && now.Before(r.Expires)
}

// expire logs out an idle seat whose registration is gone; a seat ringing
// or on a call keeps it (its call decides).
func expire(s store.Status, r store.Registration, now time.Time) (store.Status, bool) {
	switch state(s) {
	case Ready, NotReady, WrapUp:
		if !registered(r, now) {
			return enter(s, LoggedOut, "", now), true
		}
	}
	return s, false
}
