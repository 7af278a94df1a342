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
func (d *Dispatcher) overflowLocked(ctx context.Context, cs *callState, c queue.Call, dest queue.Destination, now time.Time) ([]Decision, error) {
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
		aerr := d.enqueueLocked(ctx, cs, d.queues[cs.queue], c, true)
		return []Decision{ov}, errors.Join(err, aerr)
	}
	return []Decision{ov, d.finish(cs, Overflowed, dest, "", now)}, err
}
