package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/internal/guard"
	"github.com/hotline-cc/hotline/records"
)

// missedCalls keeps the callers this node missed (漏接) and has not
// reached since, for GET /api/v1/missed: a caller whose call entered a
// queue and ended unanswered (abandoned, overflowed, lost, a callback that
// failed or expired; not one whose place is kept for a callback) is
// missed until a later call of the same number is answered, inbound,
// called back or an outbound call (POST /api/v1/outbound) that the
// citizen answered. An outbound call that did not reach them is not a
// missed call (it never queued). It reads the journal's feed on a goroutine of its own, and
// is seeded at start from the records files of the window.
type missedCalls struct {
	window time.Duration
	now    func() time.Time
	mu     sync.Mutex
	by     map[string]*missedCaller // by number
}

// missedCaller is one entry of GET /api/v1/missed.
type missedCaller struct {
	Number     string    `json:"number"`
	Calls      int       `json:"calls"` // missed calls since it was last reached
	FirstAt    time.Time `json:"first_at"`
	LastAt     time.Time `json:"last_at"`
	LastCallID string    `json:"last_call_id"`
	LastReason string    `json:"last_reason"`
	Line       string    `json:"line"`
	Queue      string    `json:"queue"`
}

func newMissedCalls(window time.Duration, now func() time.Time) *missedCalls {
	return &missedCalls{window: window, now: now, by: map[string]*missedCaller{}}
}

// note applies one call record.
func (m *missedCalls) note(r *records.Record) {
	if r.Caller == "" {
		return
	}
	ended := r.EndedAt.Std()
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case r.AnsweredAt != nil && r.LineMode != "internal" && r.LineMode != "feature" && r.LineMode != "monitor":
		if c, ok := m.by[r.Caller]; ok && !ended.Before(c.LastAt) {
			delete(m.by, r.Caller) // reached
		}
	case missedRecord(r):
		c, ok := m.by[r.Caller]
		if !ok {
			c = &missedCaller{Number: r.Caller, FirstAt: ended}
			m.by[r.Caller] = c
		}
		c.Calls++
		if !ended.Before(c.LastAt) {
			c.LastAt, c.LastCallID, c.LastReason, c.Line, c.Queue = ended, r.CallID, r.EndReason, r.Dialled, r.Queue
		}
	}
}

// missedRecord: a call that entered a queue (or was a queue callback) and
// ended unanswered, with no callback pending.
func missedRecord(r *records.Record) bool {
	if r.AnsweredAt != nil || r.QueuedAt == nil && r.LineMode != "callback" {
		return false
	}
	switch r.EndReason {
	case "callback", "callback_duplicate", "callback_no_answer": // a callback will come
		return false
	}
	return true
}

// list is the missed callers of the window, the latest first.
func (m *missedCalls) list() []missedCaller {
	since := m.now().Add(-m.window)
	m.mu.Lock()
	out := make([]missedCaller, 0, len(m.by))
	for n, c := range m.by {
		if c.LastAt.Before(since) {
			delete(m.by, n)
			continue
		}
		out = append(out, *c)
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b missedCaller) int { return b.LastAt.Compare(a.LastAt) })
	return out
}

// seed reads the records files of the window (oldest first; today's is
// always among them), giving each record to also as well.
func (m *missedCalls) seed(w *records.Writer, also func(*records.Record)) {
	now := m.now()
	for d := now.Add(-m.window); !d.After(now.AddDate(0, 0, 1)); d = d.AddDate(0, 0, 1) {
		recs, _ := records.ReadFile(w.Path(d)) // a missing file has none
		for i := range recs {
			m.note(&recs[i])
			also(&recs[i])
		}
	}
}

// followRecords calls note with the record of each call.ended event of
// the feed after the event after, until the feed closes. A panic in note
// ends the following (logged), never the process.
func followRecords(feed *records.Feed, after uint64, note func(*records.Record)) {
	defer guard.Recover(nil, "records", nil)
	for {
		evs, _, more, closed := feed.Since(after, 256)
		for _, ev := range evs {
			after = ev.ID
			if ev.Type != records.EventCallEnded {
				continue
			}
			var e records.Event
			if json.Unmarshal(ev.JSON, &e) == nil && e.Record != nil {
				note(e.Record)
			}
		}
		if len(evs) > 0 {
			continue
		}
		if closed {
			return
		}
		<-more
	}
}

// serve answers GET /api/v1/missed.
func (m *missedCalls) serve(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, m.list())
}
