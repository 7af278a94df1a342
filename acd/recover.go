package acd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/hotline-cc/hotline/store"
)

// Crash recovery. Each node beats in the store (store.Nodes) about once a
// second (Beat, on its own goroutine so that a slow Tick does not delay
// it): its name and its boot (one per process start), alive for NodeTTL.
// A seat ringing or on a call, and a waiting call's queue entry, record the
// node and boot that hold the call. Tick moves on a seat whose call nobody will
// end, and deletes such entries:
//
//   - its node has been missing from every read of the live nodes for
//     NodeGrace (it died): any node frees it;
//   - its node is this one under an older boot (this node restarted): this
//     node frees it at once;
//   - its node is this one, this boot, but the call is no longer here (its
//     end could not be written): freed once the seat has held it for
//     orphanSettle.
//
// A seat on a call goes to wrap-up as at a call's end, then ready; a
// ringing seat goes back to ready. Nothing is freed while the live nodes
// cannot be read (the store is down: never free on a guess). Only a node
// itself acts on its own boot, so a peer never mistakes a node that has
// just restarted (and not yet beaten) for a dead one; the grace covers a
// node that has just started. Every node sharing a store must run a version
// that beats.
//
// A seat of a dead node is freed within RecoveryBound of the node's death:
// its last beat lasts NodeTTL, the next read misses it (a second), the
// grace runs, the next tick frees the seat (a second), with room for the
// store's round trips.
//
// Beat and sweepEntries take the lock after their round trips; their
// store calls run without it.
const (
	// NodeTTL is how long one beat keeps a node alive; the engine beats
	// about once a second.
	NodeTTL = 3 * time.Second
	// NodeGrace: a node missing from the live nodes this long is dead.
	NodeGrace = 3 * time.Second
	// RecoveryBound is the longest a dead node's seat stays held.
	RecoveryBound = 10 * time.Second
	// orphanSettle: this node frees its own seat held for a call it no
	// longer has only once the seat has held it this long (a claim or an
	// answer under way).
	orphanSettle = 5 * time.Second
	// entrySweep: queue entries are checked this often.
	entrySweep = NodeTTL
)

// Why a seat was recovered (logged).
const (
	recoverNodeGone  = "node_gone"
	recoverRestarted = "restarted"
	recoverCallGone  = "call_gone"
)

// presence is what this node knows of the engine nodes, under the
// dispatcher's lock (its counters are atomics).
type presence struct {
	nodes store.Nodes // nil: the store keeps no beats, nothing is recovered
	boot  string
	holds func(callID string) bool
	ok    bool                 // the last read of the live nodes succeeded
	read  time.Time            // when
	alive map[string]string    // node -> boot, from that read
	gone  map[string]time.Time // node -> first read that missed it, since the last failed one
	swept time.Time            // last sweep of the queue entries

	seats, entries atomic.Uint64 // recovered so far
}

// newBoot names one incarnation of this process (made once per start, in
// New).
func newBoot() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Recovered is the number of seats freed and queue entries deleted by
// crash recovery since start (for metrics; any goroutine).
func (d *Dispatcher) Recovered() (seats, entries uint64) {
	return d.pres.seats.Load(), d.pres.entries.Load()
}

// Boot is this dispatcher's incarnation, as written in the store.
func (d *Dispatcher) Boot() string { return d.pres.boot }

// Beat announces this node and reads the live nodes (two or three round
// trips, without the lock), for Tick's recovery. An error stops every
// recovery until a read succeeds again. The engine calls it about once a
// second from one goroutine, beside Tick's.
func (d *Dispatcher) Beat(ctx context.Context) error {
	n := d.pres.nodes
	if n == nil {
		return nil
	}
	err := n.Beat(ctx, d.node, d.pres.boot, NodeTTL)
	var alive map[string]string
	if err == nil {
		alive, err = n.Alive(ctx)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	p := &d.pres
	if err != nil {
		p.ok = false
		clear(p.gone)
		return fmt.Errorf("node beat: %w", err)
	}
	now := d.now()
	if !d.freshLocked(now) {
		clear(p.gone) // reads too far apart to tell how long a node was missing
	}
	p.ok, p.read, p.alive = true, now, alive
	for node := range p.gone {
		if _, ok := alive[node]; ok {
			delete(p.gone, node)
		}
	}
	return nil
}

// freshLocked reports whether the last read of the live nodes succeeded
// and is recent enough to act on.
func (d *Dispatcher) freshLocked(now time.Time) bool {
	return d.pres.ok && now.Sub(d.pres.read) < NodeTTL
}

// deadLocked reports whether node has been missing from the live nodes
// for NodeGrace; the first read that misses it starts the count.
func (d *Dispatcher) deadLocked(node string, now time.Time) bool {
	p := &d.pres
	if !d.freshLocked(now) {
		return false
	}
	if _, ok := p.alive[node]; ok {
		return false
	}
	since, ok := p.gone[node]
	if !ok {
		if p.gone == nil {
			p.gone = map[string]time.Time{}
		}
		p.gone[node] = now
		return false
	}
	return now.Sub(since) >= NodeGrace
}

// orphanLocked returns why seat ext's status s holds a call nobody will
// end (see the rules above), or "".
func (d *Dispatcher) orphanLocked(ext string, s store.Status, now time.Time) string {
	st := state(s)
	if (st != Ringing && st != OnCall) || !d.freshLocked(now) {
		return ""
	}
	switch {
	case s.Node != d.node:
		if d.deadLocked(s.Node, now) {
			return recoverNodeGone
		}
		return ""
	case s.Boot != d.pres.boot:
		return recoverRestarted
	case now.Sub(s.Since) < orphanSettle:
		return ""
	case st == Ringing:
		if d.claiming[ext] {
			return ""
		}
		if cs, ok := d.calls[s.CallID]; ok && slices.Contains(cs.ringing, ext) {
			return ""
		}
		return recoverCallGone
	case d.pres.holds == nil || d.pres.holds(s.CallID):
		return ""
	}
	return recoverCallGone
}

// recovered moves an orphaned seat on: a call ended (wrap-up of its
// queue, then ready), or an offer withdrawn.
func (d *Dispatcher) recovered(s store.Status, now time.Time) store.Status {
	if state(s) == OnCall {
		return ended(s, d.wraps[s.Queue], now)
	}
	return released(s, now)
}

// noteRecovered logs and counts a seat freed by recovery.
func (d *Dispatcher) noteRecovered(ext string, was store.Status, why string) {
	d.pres.seats.Add(1)
	d.log.Warn("seat recovered", "seat", ext, "reason", why, "was", was.State, "call_id", was.CallID,
		"node", was.Node, "boot", was.Boot)
}

// sweepEntries deletes, every entrySweep, the queue entries of dead nodes
// and of this node's older boots, and this node's entries for calls it no
// longer has (a delete that failed). Store round trips run without the
// lock.
func (d *Dispatcher) sweepEntries(ctx context.Context) error {
	d.mu.Lock()
	p := &d.pres
	now := d.now()
	if p.nodes == nil || !d.freshLocked(now) || now.Sub(p.swept) < entrySweep {
		d.mu.Unlock()
		return nil
	}
	p.swept = now
	names := slices.Clone(d.names)
	d.mu.Unlock()
	var errs []error
	for _, q := range names {
		es, err := d.st.Entries(ctx, q)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		d.mu.Lock()
		es = slices.DeleteFunc(es, func(e store.Entry) bool { return !d.entryGoneLocked(e, now) })
		d.mu.Unlock()
		for _, e := range es {
			ok, err := p.nodes.DropEntry(ctx, e)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if ok {
				p.entries.Add(1)
				d.log.Warn("queue entry removed", "queue", e.Queue, "call_id", e.CallID, "node", e.Node, "boot", e.Boot)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("queue entries sweep: %w", err)
	}
	return nil
}

// entryGoneLocked reports whether nobody will take e out of its queue.
// This node's entry of a call it has is always kept.
func (d *Dispatcher) entryGoneLocked(e store.Entry, now time.Time) bool {
	if e.Node != d.node {
		return d.deadLocked(e.Node, now)
	}
	if e.Boot != d.pres.boot {
		return true
	}
	_, ok := d.calls[e.CallID]
	return !ok
}
