package config

import (
	"fmt"
	"time"
)

// Kinds of directory entry (directory[].kind).
const (
	KindDepartment = "department" // a department's own hotline (12333, 95598)
	KindSubcentre  = "subcentre"  // a vertically managed sub-centre (12315)
	KindEmergency  = "emergency"  // 110, 119, 120, 122: conference first
	KindCentre     = "centre"     // a province's or city's centre, or this one
)

// Transfer modes (directory[].mode).
const (
	TransferBlind      = "blind"      // the caller is handed over, the agent is free at once
	TransferConsult    = "consult"    // the agent talks to the target first, the caller hears music
	TransferConference = "conference" // caller, agent and target talk together
)

// Caller IDs a transfer presents to the target (directory[].caller_id).
const (
	CallerIDCitizen = "citizen" // the caller's own number
	CallerIDCentre  = "centre"  // the centre's number
)

// Fallback kinds: what happens when the target does not answer within the
// entry's ring timeout (directory[].fallback).
const (
	FallbackAgent  = "agent"  // the caller goes back to the agent
	FallbackTicket = "ticket" // the record is marked for dispatch as a ticket (工单派转)
	FallbackQueue  = "queue"  // the caller goes to Fallback.Queue
)

var (
	entryKinds    = []string{KindDepartment, KindSubcentre, KindEmergency, KindCentre}
	transferModes = []string{TransferBlind, TransferConsult, TransferConference}
	callerIDs     = []string{CallerIDCitizen, CallerIDCentre}
)

// Directory is the transfer directory: every target an agent may put a
// call through to, by number, by name or by one-key code. It holds the
// file's directory entries in order, then one derived entry for each
// parallel or subcentre line and each emergency number the file's entries
// do not name (Entry.Derived).
type Directory struct {
	Entries []Entry
}

// Entry is one transfer target, every default applied.
type Entry struct {
	// Name is unique; a name in the file starts with a-z, a derived entry
	// is named after its number. Number is what an agent keys (digits),
	// unique among entries, never a seat's extension.
	Name, Number string
	Kind         string // one of the Kind constants
	// Target is the SIP URI given (or taken from the line or emergency
	// number of the same number); Trunk the trunk Number is dialled
	// through instead. Exactly one is set. URI is what the engine dials:
	// Target, or Number at the trunk's outbound address.
	Target, Trunk, URI string
	RingTimeout        time.Duration
	Hours              string   // the hours set the target answers in ("" always)
	Mode               string   // one of the Transfer constants
	Key                string   // one-key DTMF code ("" none), e.g. "*51"
	CallerID           string   // one of the CallerID constants
	Fallback           Fallback // when the target does not answer in RingTimeout
	Derived            bool     // not in the file's directory: from lines or emergency
	Record             bool     // a call put through to the entry is recorded (from then, if it was not)
}

// Fallback is an entry's fallback: Kind is one of the Fallback constants;
// Queue names the queue for FallbackQueue.
type Fallback struct {
	Kind, Queue string
}

// String is the fallback as the file writes it: agent, ticket, queue:NAME.
func (f Fallback) String() string {
	if f.Kind == FallbackQueue {
		return FallbackQueue + ":" + f.Queue
	}
	return f.Kind
}

// Resolve returns the entry an agent means by keyed: its number, its name
// or its one-key code, exactly. Numbers, names and codes are unique and
// never look alike (a name starts with a letter or is its own entry's
// number; a code starts with * or #), so at most one entry matches.
// Anything else is an error wrapping ErrNotInDirectory (a transfer there is
// refused: 403). Pure; any goroutine.
func (d Directory) Resolve(keyed string) (Entry, error) {
	if keyed != "" {
		for _, e := range d.Entries {
			if keyed == e.Number || keyed == e.Name || keyed == e.Key {
				return e, nil
			}
		}
	}
	return Entry{}, fmt.Errorf("%w: %q", ErrNotInDirectory, keyed)
}
