package acd

import (
	"context"
	"errors"
	"time"

	"github.com/hotline-cc/hotline/queue"
)

// overflowLocked sends cs (c is its queue entry, not queued now or still
// queued) to dest. A queue destination moves the call, keeping its arrival;
// callback keeps its place as a callback; anything else finishes the call.
//
// A callback destination is not taken by a caller who cannot be called
// back (Arrival.NoCallback), whose number has a kept place in the queue
// already, or who is not in the queue while it is full (kept places count
// in max_length: on_full callback finds no room either): they get what a
// queue without that destination gives. Past max_wait (the call is still
// queued) it keeps waiting; at a full queue it is refused busy.
func (d *Dispatcher) overflowLocked(ctx context.Context, cs *callState, c queue.Call, dest queue.Destination, now time.Time) ([]Decision, error) {
	if dest.Kind == queue.DestCallback {
		q := d.queues[cs.queue]
		_, queued := q.Get(cs.id)
		full := q.Config().MaxLength > 0 && q.Len() >= q.Config().MaxLength
		if cs.noCallback || d.keptForLocked(cs) != "" || (!queued && full) {
			if queued {
				return nil, nil
			}
			dest = queue.Destination{}
		}
	}
	_, _, err := d.dequeueLocked(ctx, cs)
	from := cs.queue
	ov := Decision{Kind: Overflow, CallID: cs.id, Queue: from, Dest: dest}
	switch dest.Kind {
	case queue.DestQueue:
		q := d.queues[dest.Queue]
		cs.queue, cs.joined = dest.Queue, now
		c.Joined, c.Announce = now, now
		aerr := d.enqueueLocked(ctx, cs, q, c, false)
		if errors.Is(aerr, queue.ErrFull) {
			more, oerr := d.overflowLocked(ctx, cs, c, q.Config().OnFull, now)
			return append([]Decision{ov}, more...), errors.Join(err, oerr)
		}
		return []Decision{ov}, errors.Join(err, aerr)
	case queue.DestCallback:
		c.Callback, cs.callback = true, true
		c.Kept, cs.kept = now, now
		aerr := d.enqueueLocked(ctx, cs, d.queues[cs.queue], c, true)
		return []Decision{ov}, errors.Join(err, aerr)
	}
	return []Decision{ov, d.finish(cs, Overflowed, dest, "", now)}, err
}
