package records

import "sync"

// Feed keeps the journal's latest events in memory for live readers (the
// event stream of the HTTP API): a ring of the last n, in id order, and a
// channel closed whenever one more arrives. Ids are consecutive, so a
// reader resumes from the last id it saw; one older than the ring is told
// it missed some (reset).
type Feed struct {
	mu     sync.Mutex
	ring   []FeedEvent
	start  int // index of the oldest
	count  int
	wake   chan struct{}
	closed bool
}

// FeedEvent is a journalled event as readers get it: its id, type, call
// and the event's JSON (one line, no newline).
type FeedEvent struct {
	ID     uint64
	Type   string
	CallID string
	JSON   []byte
}

// NewFeed keeps the last n events (n ≥ 1).
func NewFeed(n int) *Feed {
	return &Feed{ring: make([]FeedEvent, max(n, 1)), wake: make(chan struct{})}
}

// publish adds ev (the journal calls it in id order) and wakes readers.
func (f *Feed) publish(ev FeedEvent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	if f.count < len(f.ring) {
		f.ring[(f.start+f.count)%len(f.ring)] = ev
		f.count++
	} else {
		f.ring[f.start] = ev
		f.start = (f.start + 1) % len(f.ring)
	}
	close(f.wake)
	f.wake = make(chan struct{})
}

// Last is the id of the newest event (0: none yet).
func (f *Feed) Last() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.count == 0 {
		return 0
	}
	return f.ring[(f.start+f.count-1)%len(f.ring)].ID
}

// Since returns up to limit events after id, reset when events after id
// are gone already (the ones returned start at the oldest kept), a
// channel closed when more arrive, and whether the feed is closed.
func (f *Feed) Since(id uint64, limit int) (evs []FeedEvent, reset bool, more <-chan struct{}, closed bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	more, closed = f.wake, f.closed
	if f.count == 0 {
		return nil, false, more, closed
	}
	oldest := f.ring[f.start].ID
	skip := 0
	switch {
	case id+1 < oldest:
		reset = true
	default:
		skip = int(id + 1 - oldest)
	}
	for i := skip; i < f.count && len(evs) < limit; i++ {
		evs = append(evs, f.ring[(f.start+i)%len(f.ring)])
	}
	return evs, reset, more, closed
}

// Close wakes every reader for the last time (the node is stopping).
func (f *Feed) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.closed = true
		close(f.wake)
	}
}
