// Package acd is hotline's automatic call distributor: agents (seats) and
// their states, feature codes, routing strategies, skill escalation, and the
// Dispatcher that turns events (a call arrives or leaves, a seat answers or
// not, an agent changes state, the clock ticks) into decisions (offer call C
// to seat A, cancel that offer, overflow C to X, announce C's position, call C
// back, C is finished with this outcome).
//
// acd imports queue (waiting calls) and store (shared agent state); queue
// never imports acd. It must not import sip, media or call: it opens no
// socket (the store may) and starts no goroutine. Time comes from an
// injected clock.
//
// Lock order: Dispatcher.mu is the only lock; store methods are called with
// it held and take only their own, and so are the engine's Busy and Holds
// callbacks (Options), which must never call back into the dispatcher.
package acd

import (
	"errors"
	"time"

	"github.com/hotline-cc/hotline/store"
)

var (
	ErrUnknownAgent = errors.New("acd: unknown agent")
	ErrUnknownQueue = errors.New("acd: unknown queue")
	ErrUnknownCall  = errors.New("acd: unknown call")
	ErrDuplicate    = errors.New("acd: call already known")
	ErrLoggedOut    = errors.New("acd: agent is logged out")
	ErrNotOffered   = errors.New("acd: call is not offered to that agent")
	ErrNoCallback   = errors.New("acd: queue does not offer callback")
	// ErrCallbackKept: the caller's number already has a kept callback
	// place in that queue (one per number per queue).
	ErrCallbackKept = errors.New("acd: a callback is already kept for this number")
	ErrConfig       = errors.New("acd: bad config")
)

// State is an agent's state.
type State string

const (
	LoggedOut State = "logged_out"
	Ready     State = "ready"
	Ringing   State = "ringing" // reserved for exactly one offered call
	OnCall    State = "on_call"
	WrapUp    State = "wrap_up"
	NotReady  State = "not_ready"
)

// Not-ready reason codes.
const (
	ReasonBreak    = "break"
	ReasonMeal     = "meal"
	ReasonTraining = "training"
	ReasonMeeting  = "meeting"
	ReasonMissed   = "missed"
	// ReasonUnreachable: logged out because the phone stopped answering
	// (silent to an offer, its CANCEL unanswered, or its media gone
	// mid-call).
	ReasonUnreachable = "unreachable"
)

// state reads the typed state of a stored status (zero: logged out).
func state(s store.Status) State {
	if s.State == "" {
		return LoggedOut
	}
	return State(s.State)
}

// TimeInState is how long the agent has been in its current state.
func TimeInState(s store.Status, now time.Time) time.Duration {
	if s.Since.IsZero() {
		return 0
	}
	return now.Sub(s.Since)
}

// Agent is a seat's profile: extension, name, skills with levels 1..10.
type Agent = store.Agent
