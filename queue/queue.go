// Package queue owns hotline's waiting calls: one Queue per configured queue,
// ordered by priority (higher first) then arrival, bounded by a maximum
// length and a maximum wait, each with an overflow destination; position and
// estimated wait; the skills a call needs as its wait grows (escalation);
// the recent handle times the estimate comes from.
//
// It is pure decision logic: no clock of its own (every method takes now), no
// goroutines, no sockets, no locks (its owner, acd.Dispatcher, serialises
// access). It imports nothing of hotline's; acd imports queue, never the
// other way round.
package queue

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

var (
	// ErrFull: the queue holds MaxLength waiting calls.
	ErrFull = errors.New("queue: full")
	// ErrDuplicate: the call is already in the queue.
	ErrDuplicate = errors.New("queue: call already queued")
)

// Call is one waiting call.
type Call struct {
	ID       string
	Caller   string
	Priority int       // higher is served first
	Arrived  time.Time // first arrival at the ACD; kept across requeue and overflow
	Joined   time.Time // arrival in this queue (escalation and max wait count from here)
	Callback bool      // the caller hung up and keeps their place
	Announce time.Time // last position announcement
	// NotBefore: a callback the caller did not answer is not offered a
	// seat again before this time (it keeps its place meanwhile).
	NotBefore time.Time
	// Kept is when a callback's place was kept (CallbackExpiry counts
	// from here); zero for a line-holding call.
	Kept time.Time
}

// Queue is the ordered list of waiting calls of one configured queue.
type Queue struct {
	cfg     Config
	needs   []Need  // by escalation step, built from cfg
	calls   []*Call // in service order
	handles []time.Duration
	next    int // ring buffer write index into handles
}

// New returns an empty queue; cfg must have passed Validate.
func New(cfg Config) *Queue {
	q := &Queue{}
	q.SetConfig(cfg)
	return q
}

// Config returns the queue's configuration.
func (q *Queue) Config() Config { return q.cfg }

// Len is the number of waiting calls, callbacks included.
func (q *Queue) Len() int { return len(q.calls) }

// Calls returns the waiting calls in service order. The slice is the queue's
// own: read it, do not keep or modify it.
func (q *Queue) Calls() []*Call { return q.calls }

// Add inserts c in service order. A new call is refused with ErrFull at
// MaxLength, kept callback places counted; force (a call coming back from
// an unanswered offer, a waiting call whose place becomes a callback, a
// kept place restored after a restart) is never refused.
func (q *Queue) Add(c Call, force bool) error {
	if q.index(c.ID) >= 0 {
		return fmt.Errorf("%s in %s: %w", c.ID, q.cfg.Name, ErrDuplicate)
	}
	if !force && q.cfg.MaxLength > 0 && len(q.calls) >= q.cfg.MaxLength {
		return fmt.Errorf("%s: %w", q.cfg.Name, ErrFull)
	}
	i := sort.Search(len(q.calls), func(i int) bool { return Before(&c, q.calls[i]) })
	q.calls = append(q.calls, nil)
	copy(q.calls[i+1:], q.calls[i:])
	q.calls[i] = &c
	return nil
}

// Before is the service order: higher priority, then earlier arrival, then
// call id. acd merges several queues with it.
func Before(a, b *Call) bool {
	if a.Priority != b.Priority {
		return a.Priority > b.Priority
	}
	if !a.Arrived.Equal(b.Arrived) {
		return a.Arrived.Before(b.Arrived)
	}
	return a.ID < b.ID
}

// Remove takes a call out; false when it was not queued.
func (q *Queue) Remove(id string) (Call, bool) {
	i := q.index(id)
	if i < 0 {
		return Call{}, false
	}
	c := *q.calls[i]
	q.calls = append(q.calls[:i], q.calls[i+1:]...)
	return c, true
}

// Get returns a queued call for changing in place (Callback, Announce).
func (q *Queue) Get(id string) (*Call, bool) {
	i := q.index(id)
	if i < 0 {
		return nil, false
	}
	return q.calls[i], true
}

// Position is the 1-based place of a call, 0 when not queued.
func (q *Queue) Position(id string) int {
	return q.index(id) + 1
}

func (q *Queue) index(id string) int {
	for i, c := range q.calls {
		if c.ID == id {
			return i
		}
	}
	return -1
}

// Expired returns the calls that have waited MaxWait or longer in this
// queue, in service order; none when MaxWait is 0. Callbacks never expire.
func (q *Queue) Expired(now time.Time) []Call {
	if q.cfg.MaxWait <= 0 {
		return nil
	}
	var out []Call
	for _, c := range q.calls {
		if !c.Callback && now.Sub(c.Joined) >= q.cfg.MaxWait {
			out = append(out, *c)
		}
	}
	return out
}

// ExpiredCallbacks returns the kept callback places kept CallbackExpiry or
// longer ago, in service order; none when CallbackExpiry is 0.
func (q *Queue) ExpiredCallbacks(now time.Time) []Call {
	if q.cfg.CallbackExpiry <= 0 {
		return nil
	}
	var out []Call
	for _, c := range q.calls {
		if c.Callback && !c.Kept.IsZero() && now.Sub(c.Kept) >= q.cfg.CallbackExpiry {
			out = append(out, *c)
		}
	}
	return out
}

// DueAnnouncements returns the ids of line-holding calls whose last
// announcement is AnnounceEvery or more ago, and marks them announced at now.
func (q *Queue) DueAnnouncements(now time.Time) []string {
	if q.cfg.AnnounceEvery <= 0 {
		return nil
	}
	var out []string
	for _, c := range q.calls {
		if !c.Callback && now.Sub(c.Announce) >= q.cfg.AnnounceEvery {
			c.Announce = now
			out = append(out, c.ID)
		}
	}
	return out
}

// Need is what a call requires of a seat at a point of its wait.
type Need struct {
	Skills   []string // any one of these
	MinLevel int
}

// Need applies the escalation steps to a call that has waited since joined:
// the queue's skill at MinLevel, widened by every step whose After has passed.
// Its Skills are the queue's own: read them only.
func (q *Queue) Need(joined, now time.Time) Need {
	return q.needs[q.Step(joined, now)]
}

// StepNeed is the Need of a call at escalation step 0..Steps()-1.
func (q *Queue) StepNeed(step int) Need { return q.needs[step] }

// Steps is the number of distinct needs: one more than the escalation steps.
func (q *Queue) Steps() int { return len(q.needs) }

// SetConfig changes the queue's settings (a reload); waiting calls stay.
// The need of every escalation step is built here, once.
func (q *Queue) SetConfig(cfg Config) {
	q.cfg = cfg
	n := Need{Skills: []string{cfg.Skill}, MinLevel: cfg.MinLevel}
	q.needs = append(q.needs[:0:0], n)
	for _, s := range cfg.Escalation {
		if s.MinLevel > 0 {
			n.MinLevel = s.MinLevel
		}
		n.Skills = append(n.Skills[:len(n.Skills):len(n.Skills)], s.Skills...)
		q.needs = append(q.needs, n)
	}
}

// Step is how many escalation steps apply after waiting since joined: calls
// of one queue at the same step need the same seats.
func (q *Queue) Step(joined, now time.Time) int {
	n := 0
	for _, s := range q.cfg.Escalation {
		if now.Sub(joined) < s.After {
			break
		}
		n++
	}
	return n
}
