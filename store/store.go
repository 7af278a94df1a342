// Package store owns hotline's shared contact-centre state: agent profiles,
// agent statuses, seat registrations (contacts) and queue entries, behind one
// interface with two implementations: Memory (one process, the default) and
// Redis (several engine nodes sharing one Redis).
//
// It imports nothing of hotline's: the meaning of a status (which states
// exist, which transitions are legal) belongs to acd; the store only keeps
// values and swaps an agent's status atomically (compare-and-swap on a
// version), which is how one seat is never claimed by two calls or two nodes.
//
// Errors: ErrNotFound, ErrConflict (the compare-and-swap lost a race) and
// ErrUnavailable (the backing service cannot be reached; the caller decides,
// and the engine answers new calls 503 while calls already bridged go on).
package store

import (
	"context"
	"errors"
	"time"
)

var (
	// ErrNotFound: no such agent, status or entry.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: the status changed since it was read (the version moved).
	ErrConflict = errors.New("store: version conflict")
	// ErrUnavailable: the backing service (Redis) cannot be reached or timed
	// out. Nothing was changed unless the caller can see otherwise.
	ErrUnavailable = errors.New("store: unavailable")
)

// Agent is a seat's profile, from the configuration.
type Agent struct {
	Ext    string         `json:"ext"`
	Name   string         `json:"name"`
	Skills map[string]int `json:"skills"` // skill -> level 1..10
}

// Status is an agent's live state. Its fields are written by acd; the store
// only bumps Version on every successful swap.
type Status struct {
	State      string    `json:"state"`
	Reason     string    `json:"reason,omitempty"` // not-ready reason code
	Since      time.Time `json:"since"`            // when State was entered
	CallID     string    `json:"call_id,omitempty"`
	Queue      string    `json:"queue,omitempty"` // queue of the current/last call
	Node       string    `json:"node,omitempty"`  // engine node holding the call
	Boot       string    `json:"boot,omitempty"`  // that node's incarnation (see Nodes)
	WrapUntil  time.Time `json:"wrap_until,omitzero"`
	IdleSince  time.Time `json:"idle_since,omitzero"` // last call ended or became ready
	Day        string    `json:"day,omitempty"`       // YYYY-MM-DD of CallsToday
	CallsToday int       `json:"calls_today,omitempty"`
	Misses     int       `json:"misses,omitempty"`  // consecutive unanswered offers
	Pending    string    `json:"pending,omitempty"` // state requested while busy
	PendingWhy string    `json:"pending_why,omitempty"`
	Version    int64     `json:"-"`
}

// Registration is where a seat's phone is.
type Registration struct {
	Ext     string    `json:"ext"`
	Contact string    `json:"contact"`
	Expires time.Time `json:"expires"`
}

// AgentRecord is one agent as seen by a dispatcher: profile, status (zero
// with Version 0 when never set) and registration (zero when absent).
type AgentRecord struct {
	Agent        Agent
	Status       Status
	Registration Registration
}

// Entry is one waiting call in a queue, mirrored for supervisors and for
// other nodes.
type Entry struct {
	CallID   string    `json:"call_id"`
	Queue    string    `json:"queue"`
	Caller   string    `json:"caller,omitempty"`
	Priority int       `json:"priority"`
	Arrived  time.Time `json:"arrived"`
	Node     string    `json:"node,omitempty"`
	Boot     string    `json:"boot,omitempty"` // the node's incarnation (see Nodes)
	Callback bool      `json:"callback,omitempty"`
}

// Agents is the agent half of the store.
type Agents interface {
	// PutAgent creates or replaces a profile; the status is kept.
	PutAgent(ctx context.Context, a Agent) error
	// DeleteAgent removes profile, status and registration.
	DeleteAgent(ctx context.Context, ext string) error
	// Agents appends every agent, sorted by extension, to buf[:0] and
	// returns it (one round trip; pass the previous result back to reuse
	// it). Agent.Skills maps are shared with the store: read them only.
	Agents(ctx context.Context, buf []AgentRecord) ([]AgentRecord, error)
	// Status returns one agent's status (ErrNotFound without a profile).
	Status(ctx context.Context, ext string) (Status, error)
	// SwapStatus stores s if the agent's status version is still version
	// (0: never set) and returns the new version; ErrConflict otherwise.
	// This is the atomic claim: two callers can never both win.
	SwapStatus(ctx context.Context, ext string, version int64, s Status) (int64, error)
	// PutRegistration stores where ext's phone is (ErrNotFound without a
	// profile); DeleteRegistration forgets it.
	PutRegistration(ctx context.Context, r Registration) error
	DeleteRegistration(ctx context.Context, ext string) error
}

// Queues is the queue-entry half of the store.
type Queues interface {
	PutEntry(ctx context.Context, e Entry) error
	// DeleteEntry is idempotent.
	DeleteEntry(ctx context.Context, queue, callID string) error
	// Entries returns a queue's entries by priority (high first), then
	// arrival, then call id.
	Entries(ctx context.Context, queue string) ([]Entry, error)
}

// Store is everything acd and queue keep outside the process.
type Store interface {
	Agents
	Queues
}

// Seats is the dispatcher's hot path: it keeps its own copy of the agents,
// brought up to date with only the agents changed since its last read, and
// claims a seat while taking the call's entry out of its queue (one round
// trip on Redis). Memory and Redis implement it; acd falls back to Agents,
// SwapStatus and DeleteEntry for a Store without it.
type Seats interface {
	// AgentsSince appends to buf[:0] the agents whose profile, status or
	// registration changed since mark, and returns them with the mark for
	// the next read. With full (mark 0, or a change the store cannot tell
	// seat by seat, such as an agent added or deleted) they are every
	// agent, sorted by extension: the reader drops what it kept. A mark
	// belongs to the Seats value that returned it.
	AgentsSince(ctx context.Context, mark uint64, buf []AgentRecord) (recs []AgentRecord, next uint64, full bool, err error)
	// Claim is SwapStatus that, when the swap succeeds, also deletes the
	// entry callID of queue, in the same atomic step.
	Claim(ctx context.Context, ext string, version int64, s Status, queue, callID string) (int64, error)
}

// entryLess is the queue order shared by both implementations.
func entryLess(a, b Entry) bool {
	if a.Priority != b.Priority {
		return a.Priority > b.Priority
	}
	if !a.Arrived.Equal(b.Arrived) {
		return a.Arrived.Before(b.Arrived)
	}
	return a.CallID < b.CallID
}
