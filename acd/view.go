package acd

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/hotline-cc/hotline/queue"
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
	// skills numbers every skill a queue needs (setSkills); levels holds
	// each seat's level in them, a row of len(skills) per seat, so that a
	// dispatch compares bytes instead of looking skills up by name.
	skills map[string]int
	levels []uint8
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
	v.levels = slices.Grow(v.levels[:0], len(v.recs)*len(v.skills))[:len(v.recs)*len(v.skills)]
	for i := range v.recs {
		v.index[v.recs[i].Agent.Ext] = i
		v.keys = append(v.keys, keyOf(&v.recs[i]))
		v.setLevels(i)
	}
}

// setSkills numbers the skills the queues need and rebuilds the levels.
func (v *view) setSkills(skills map[string]int) {
	v.skills = skills
	v.rebuild()
}

// setLevels fills seat at's row of levels from its profile.
func (v *view) setLevels(at int) {
	row := v.levels[at*len(v.skills) : (at+1)*len(v.skills)]
	for sk, col := range v.skills {
		row[col] = uint8(min(max(v.recs[at].Agent.Skills[sk], 0), 255))
	}
}

// cols appends to buf the columns of need's skills.
func (v *view) cols(need queue.Need, buf []int) []int {
	buf = buf[:0]
	for _, sk := range need.Skills {
		if col, ok := v.skills[sk]; ok {
			buf = append(buf, col)
		}
	}
	return buf
}

// level is seat at's best level among the skills of the columns cols, 0
// when it has none at or above minLevel.
func (v *view) level(at int, cols []int, minLevel int) int {
	row := v.levels[at*len(v.skills):]
	best := 0
	for _, c := range cols {
		if l := int(row[c]); l >= minLevel && l > best {
			best = l
		}
	}
	return best
}

// set takes a seat's new record from the store. A status older than the
// one held (read fresh after a lost claim) is kept, the rest taken.
func (v *view) set(at int, r store.AgentRecord) {
	if r.Status.Version < v.recs[at].Status.Version && r.Status.Version != 0 {
		r.Status = v.recs[at].Status
	}
	v.recs[at] = r
	v.keys[at] = keyOf(&v.recs[at])
	v.setLevels(at)
}

// setStatus records a status this node wrote or read for seat at.
func (v *view) setStatus(at int, s store.Status) {
	v.recs[at].Status = s
	v.keys[at] = keyOf(&v.recs[at])
}

// staffing counts the seats with a level in cols that are ready now and
// that are working (ready, ringing, on a call or in wrap-up), for the wait
// estimate.
func (v *view) staffing(cols []int, minLevel int, now int64) (ready, staffed int) {
	for i := range v.keys {
		if v.level(i, cols, minLevel) == 0 {
			continue
		}
		switch k := &v.keys[i]; k.state {
		case Ready:
			if k.until > now {
				ready++
				staffed++
			}
		case Ringing, OnCall, WrapUp:
			staffed++
		}
	}
	return ready, staffed
}
