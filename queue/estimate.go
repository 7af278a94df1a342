package queue

import "time"

// handleWindow is how many recent handle times the estimate averages.
const handleWindow = 32

// RecordHandle remembers how long a call of this queue kept a seat (talk
// plus wrap-up).
func (q *Queue) RecordHandle(d time.Duration) {
	if d <= 0 {
		return
	}
	if len(q.handles) < handleWindow {
		q.handles = append(q.handles, d)
		return
	}
	q.handles[q.next] = d
	q.next = (q.next + 1) % handleWindow
}

// AverageHandle is the mean of the recent handle times, or the configured
// DefaultHandle before any call was handled.
func (q *Queue) AverageHandle() time.Duration {
	if len(q.handles) == 0 {
		return q.cfg.DefaultHandle
	}
	var sum time.Duration
	for _, d := range q.handles {
		sum += d
	}
	return sum / time.Duration(len(q.handles))
}

// EstimateWait is the expected wait of the caller at position pos (1-based)
// when ready seats are free now and staffed seats (logged in with the skill,
// ready or busy) serve the queue: the callers ahead beyond the ready seats are
// served staffed at a time, one average handle time per round. No staffed
// seat: the estimate is unknown and reported as -1.
func EstimateWait(pos, ready, staffed int, aht time.Duration) time.Duration {
	if pos <= ready {
		return 0
	}
	if staffed <= 0 {
		return -1
	}
	rounds := (pos - ready + staffed - 1) / staffed
	return time.Duration(rounds) * aht
}
