package call

import (
	"sync"
	"sync/atomic"

	"github.com/hotline-cc/hotline/sip"
)

// mailbox is a call's inbox: the events of every other goroutine, in the
// order they were posted, for the call's own goroutine. Posting never
// blocks. An event the call cannot do without (a hang-up, an answer, an RTP
// timeout, a prompt's end, an ACD decision, a timer) is never dropped: the
// queue of those has no bound, and needs none, as each comes from a step of
// the call's own life. Only a digit (RFC 4733 or INFO), which a peer can
// send as fast as it likes, is dropped (and counted) while maxDroppable
// digits already wait.
//
// The queue is a slice under a mutex, with a one-slot channel that wakes
// the call's goroutine; the goroutine takes every queued event at once.
type mailbox struct {
	mu        sync.Mutex
	q         []any // queued events, oldest first
	spare     []any // the slice last taken, reused by the next take
	droppable int   // digits among q
	wake      chan struct{}
	done      chan struct{} // closed when the call has ended: posts are refused
	dropped   atomic.Int64
}

// maxDroppable bounds the digits waiting for a call; a call rarely has more
// than a handful of events queued.
const maxDroppable = 64

func newMailbox() *mailbox {
	return &mailbox{wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// droppable: an event a call can lose under a flood (a digit).
func droppable(ev any) bool {
	switch ev := ev.(type) {
	case evDTMF:
		return true
	case evLeg:
		_, ok := ev.ev.(sip.EventDTMF)
		return ok
	}
	return false
}

// post queues ev for the call (any goroutine; never blocks). false when the
// call has ended, or ev is a digit dropped because too many wait.
func (m *mailbox) post(ev any) bool {
	select {
	case <-m.done:
		return false
	default:
	}
	drop := droppable(ev)
	m.mu.Lock()
	if drop && m.droppable >= maxDroppable {
		m.mu.Unlock()
		m.dropped.Add(1)
		return false
	}
	if drop {
		m.droppable++
	}
	m.q = append(m.q, ev)
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default: // already awake
	}
	return true
}

// take returns every queued event, oldest first, waiting for one when none
// is queued. Only the call's goroutine calls it; the slice is valid until
// its next call.
func (m *mailbox) take() []any {
	for {
		m.mu.Lock()
		if len(m.q) > 0 {
			evs := m.q
			clear(m.spare)
			m.q, m.spare = m.spare[:0], evs
			m.droppable = 0
			m.mu.Unlock()
			return evs
		}
		m.mu.Unlock()
		<-m.wake
	}
}

// close refuses further posts (the call has ended).
func (m *mailbox) close() { close(m.done) }

// dropCount is the number of digits dropped so far.
func (m *mailbox) dropCount() int64 { return m.dropped.Load() }
