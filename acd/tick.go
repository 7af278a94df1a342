package acd

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/hotline-cc/hotline/queue"
	"github.com/hotline-cc/hotline/store"
)

// Tick is the clock: wrap-ups that ended, registrations that expired,
// seats and queue entries whose node died or lost the call (recover.go, by
// the last Beat), stale offers of vanished nodes, calls past their queue's
// maximum wait, seats freed by other nodes, and position announcements that
// are due. The engine calls it about once a second from one goroutine.
func (d *Dispatcher) Tick(ctx context.Context) ([]Decision, error) {
	d.mu.Lock()
	now := d.now()
	err := d.housekeepLocked(ctx, now)
	var out []Decision
	for _, name := range d.names {
		q := d.queues[name]
		dest := q.Config().OnMaxWait
		if dest.Kind == queue.DestNone {
			continue
		}
		for _, c := range q.Expired(now) {
			more, oerr := d.overflowLocked(ctx, d.calls[c.ID], c, dest, now)
			out, err = append(out, more...), errors.Join(err, oerr)
		}
	}
	d.mu.Unlock()
	out, err = d.then(ctx, out, err)
	d.mu.Lock()
	now = d.now()
	for _, name := range d.names {
		q := d.queues[name]
		if ids := q.DueAnnouncements(now); len(ids) > 0 {
			out = append(out, d.announceLocked(ctx, q, ids, now)...)
		}
	}
	d.mu.Unlock()
	return out, errors.Join(err, d.sweepEntries(ctx))
}

// housekeepLocked moves seats on by time: wrap-up over, registration gone,
// an offer nobody will report on (its node is gone), a call nobody will end
// (recover.go).
func (d *Dispatcher) housekeepLocked(ctx context.Context, now time.Time) error {
	recs, err := d.seatsLocked(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range recs {
		if !d.dueLocked(r, now) {
			continue
		}
		ext := r.Agent.Ext
		var why string
		var was store.Status
		_, err := d.swap(ctx, ext, func(s store.Status) (store.Status, bool, error) {
			next, changed := wrapDone(s, now)
			if n, ok := expire(next, r.Registration, now); ok {
				next, changed = n, true
			}
			if d.staleLocked(ext, next, now) {
				next, changed = released(next, now), true
			}
			if why, was = d.orphanLocked(ext, next, now), next; why != "" {
				next, changed = d.recovered(next, now), true
			}
			return next, changed, nil
		})
		if err == nil && why != "" {
			d.noteRecovered(ext, was, why)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// dueLocked is a cheap pre-check of housekeepLocked's rules on a snapshot.
func (d *Dispatcher) dueLocked(r store.AgentRecord, now time.Time) bool {
	switch state(r.Status) {
	case WrapUp:
		return true
	case Ready, NotReady:
		return !registered(r.Registration, now)
	case Ringing:
		return d.staleLocked(r.Agent.Ext, r.Status, now) || d.orphanLocked(r.Agent.Ext, r.Status, now) != ""
	case OnCall:
		return d.orphanLocked(r.Agent.Ext, r.Status, now) != ""
	}
	return false
}

// staleLocked: a seat ringing longer than StaleOffer for a call this node
// does not have ringing it (another node's, now gone).
func (d *Dispatcher) staleLocked(ext string, s store.Status, now time.Time) bool {
	if state(s) != Ringing || now.Sub(s.Since) < d.cfg.StaleOffer {
		return false
	}
	if s.Node != d.node {
		return true
	}
	cs, ok := d.calls[s.CallID]
	return !ok || !slices.Contains(cs.ringing, ext)
}

// announceLocked returns Announce decisions for ids in q with position and
// estimated wait from the recent handle time and the seats serving q.
func (d *Dispatcher) announceLocked(ctx context.Context, q *queue.Queue, ids []string, now time.Time) []Decision {
	var ready, staffed int
	if _, err := d.seatsLocked(ctx); err != nil {
		d.log.Warn("no seats for the wait estimate", "queue", q.Config().Name, "error", err)
	} else {
		need := q.Need(now, now)
		d.colBuf = d.view.cols(need, d.colBuf)
		ready, staffed = d.view.staffing(d.colBuf, need.MinLevel, now.UnixNano())
	}
	aht := q.AverageHandle()
	out := make([]Decision, 0, len(ids))
	for _, id := range ids {
		pos := q.Position(id)
		out = append(out, Decision{
			Kind: Announce, CallID: id, Queue: q.Config().Name,
			Position: pos, Wait: queue.EstimateWait(pos, ready, staffed, aht),
		})
	}
	return out
}
