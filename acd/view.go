package acd

import (
	"context"
	"math"
	"time"

	"github.com/hotline-cc/hotline/store"
)

// view is the dispatcher's copy of the seats, under its lock: read whole
// once, then brought up to date with only the seats changed since (a
// handful per call; store.Seats), so that a dispatch neither copies nor
// decodes every seat. Beside each record it keeps the little a dispatch
// scans every seat for (key), as plain numbers.
//
// A seat this node claims is written into the view at once; every other
// change (this node's swaps outside the lock included) arrives with the
// next read. Without store.Seats the view is read whole every time.
type view struct {
	mark  uint64
	recs  []store.AgentRecord // by extension
	keys  []seatKey           // keys[i] summarises recs[i]
	index map[string]int      // extension -> i
	buf   []store.AgentRecord // the last read, reused
}

// seatKey is what deciding whether a seat is free, and which free seat has
// been idle longest, needs of its record.
type seatKey struct {
	state State
	until int64 // registration expiry (Unix ns); the earliest without a contact
	wrap  int64 // end of wrap-up (Unix ns)
	idle  int64 // idleSince (Unix ns): the longest-idle key
}

func keyOf(r *store.AgentRecord) seatKey {
	k := seatKey{state: state(r.Status), wrap: nanos(r.Status.WrapUntil), idle: nanos(idleSince(r.Status)), until: math.MinInt64}
	if r.Registration.Contact != "" {
		k.until = nanos(r.Registration.Expires)
	}
	return k
}

// nanos is t in Unix ns, the zero time the earliest of all.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixNano()
}

// freeAt reports whether the seat can be offered a call at now (Unix ns):
// ready, or for a callback in a wrap-up ending within lead; see free.
func (k *seatKey) freeAt(callback bool, lead time.Duration, now int64) bool {
	if k.until <= now {
		return false
	}
	switch k.state {
	case Ready:
		return true
	case WrapUp:
		return callback && k.wrap <= now+int64(lead)
	}
	return false
}

// seatsLocked brings the view up to date and returns its records.
func (d *Dispatcher) seatsLocked(ctx context.Context) ([]store.AgentRecord, error) {
	v := &d.view
	if d.seats == nil {
		recs, err := d.st.Agents(ctx, v.recs)
		if err != nil {
			return nil, err
		}
		v.recs = recs
		v.rebuild()
		return recs, nil
	}
	for range 2 {
		got, next, full, err := d.seats.AgentsSince(ctx, v.mark, v.buf)
		if err != nil {
			return nil, err
		}
		if full {
			v.recs, v.buf = got, v.recs
			v.rebuild()
			v.mark = next
			return v.recs, nil
		}
		v.buf = got
		stale := false
		for i := range got {
			at, ok := v.index[got[i].Agent.Ext]
			if !ok {
				stale = true // only a full read brings new seats: read it all again
				break
			}
			v.set(at, got[i])
		}
		if !stale {
			v.mark = next
			return v.recs, nil
		}
		v.mark = 0
	}
	return v.recs, nil
}

// rebuild indexes recs afresh.
func (v *view) rebuild() {
	if v.index == nil {
		v.index = make(map[string]int, len(v.recs))
	}
	clear(v.index)
	v.keys = v.keys[:0]
	for i := range v.recs {
		v.index[v.recs[i].Agent.Ext] = i
		v.keys = append(v.keys, keyOf(&v.recs[i]))
	}
}

// set takes a seat's new record from the store. A status older than the
// one held (read fresh after a lost claim) is kept, the rest taken.
func (v *view) set(at int, r store.AgentRecord) {
	if r.Status.Version < v.recs[at].Status.Version && r.Status.Version != 0 {
		r.Status = v.recs[at].Status
	}
	v.recs[at] = r
	v.keys[at] = keyOf(&v.recs[at])
}

// setStatus records a status this node wrote or read for seat at.
func (v *view) setStatus(at int, s store.Status) {
	v.recs[at].Status = s
	v.keys[at] = keyOf(&v.recs[at])
}
