package acd

import (
	"time"

	"github.com/hotline-cc/hotline/queue"
)

// Kind is what a decision asks the engine to do.
type Kind int

const (
	// Offer: ring seat Agent at Contact for call CallID (the seat is
	// already reserved). Report Answered or NotAnswered for it.
	Offer Kind = iota + 1
	// Cancel: stop ringing seat Agent for CallID (the caller left, or
	// another seat of a ring-all answered). Do not report on it.
	Cancel
	// Overflow: send CallID to Dest. Dest.Kind queue: informational, the
	// call keeps waiting in Queue. Dest.Kind callback: tell the caller they
	// will be called back and hang up; the ACD keeps their place. Any other
	// kind (target, message, none = refuse busy) comes with a Finished.
	Overflow
	// Announce: tell CallID its Position and estimated Wait (-1: unknown).
	Announce
	// Callback: seat Agent at Contact is reserved for the callback CallID:
	// ring the seat with a whisper, dial Caller through the trunk, bridge.
	// Report Answered once both are connected, NotAnswered when the seat
	// does not answer, Leave when the caller does not.
	Callback
	// Finished: the ACD is done with CallID; Result is its outcome (once
	// per call, for the record).
	Finished
)

var kindNames = [...]string{"", "offer", "cancel", "overflow", "announce", "callback", "finished"}

func (k Kind) String() string { return kindNames[k] }

// Decision is one thing the engine must do.
type Decision struct {
	Kind     Kind
	CallID   string
	Queue    string
	Agent    string            // Offer, Cancel, Callback
	Contact  string            // Offer, Callback
	Caller   string            // Callback
	Dest     queue.Destination // Overflow
	Position int               // Announce
	Wait     time.Duration     // Announce
	Result   *Result           // Finished
}

// Outcome is how a call left the ACD.
type Outcome string

const (
	Answered       Outcome = "answered"
	Abandoned      Outcome = "abandoned"
	Overflowed     Outcome = "overflow"
	CallbackFailed Outcome = "callback_failed"
	// CallbackExpired: a kept place was not called back within its queue's
	// callback expiry.
	CallbackExpired Outcome = "callback_expired"
)

// Result is what the call record needs from the ACD.
type Result struct {
	CallID     string
	Queue      string
	Skill      string
	Outcome    Outcome
	Dest       queue.Destination // Overflowed
	Agent      string            // Answered
	Arrived    time.Time
	OfferedAt  time.Time // first offer, zero if never offered
	AnsweredAt time.Time
	Wait       time.Duration // arrival to answer or to leaving
	// WithinServiceLevel: answered within the queue's service level.
	WithinServiceLevel bool
	Callback           bool
	Rung, Missed       []string // seats offered the call, and those that did not answer
}

// Failure is why an offered seat did not take the call.
type Failure int

const (
	NoAnswer    Failure = iota + 1 // rang out (RONA): counts as a miss
	Busy                           // the phone answered busy: counts as a miss
	Unreachable                    // no answer from the phone at all: the seat is logged out
)

// Arrival is a call entering the ACD.
type Arrival struct {
	CallID   string
	Caller   string
	Queue    string
	Priority int // higher is served first; 0 normal
	// NoCallback: the engine cannot call this caller back (a number
	// outside callback_numbers, or no number): a callback overflow
	// destination is not taken (see overflowLocked).
	NoCallback bool
}
