package main

import (
	"testing"
	"time"

	"github.com/hotline-cc/hotline/records"
	"github.com/hotline-cc/hotline/report"
)

// TestTodayFigures: calls count on the day they started, in the centre's
// timezone; at midnight the day starts again from zero.
func TestTodayFigures(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	now := time.Date(2026, 12, 3, 23, 50, 0, 0, loc)
	tf := newTodayFigures(loc, func() time.Time { return now }, func() report.Options {
		return report.Options{Loc: loc, ShortAbandon: 5 * time.Second}
	})
	at := func(t time.Time) *records.Time { r := records.Time(t); return &r }
	call := func(started time.Time, answered bool, waitMs int64) *records.Record {
		r := &records.Record{Queue: "general", StartedAt: records.Time(started), QueuedAt: at(started), WaitMs: waitMs, EndReason: "abandoned"}
		if answered {
			r.AnsweredAt, r.Agent, r.TalkMs, r.EndReason = at(started.Add(time.Duration(waitMs)*time.Millisecond)), "1001", 60000, "answered"
		}
		return r
	}
	tf.note(call(now.Add(-time.Hour), true, 8000))      // today
	tf.note(call(now.Add(-2*time.Minute), false, 3000)) // today, a short abandon
	tf.note(call(now.Add(-24*time.Hour), true, 1000))   // yesterday's call ending now: not today's
	q := tf.queues["general"]
	if q == nil || q.Offered != 2 || q.Answered != 1 || q.Abandoned != 1 || q.ShortAbandoned != 1 || tf.agents["1001"].talkMs != 60000 {
		t.Fatalf("today: %+v agents %+v", q, tf.agents)
	}
	now = now.Add(15 * time.Minute) // 00:05 the next day
	tf.note(call(now.Add(-time.Minute), true, 2000))
	if q := tf.queues["general"]; tf.day != "2026-12-04" || q.Offered != 1 || q.Answered != 1 || tf.centre.Offered != 1 {
		t.Fatalf("after midnight: day %s, %+v", tf.day, q)
	}
}
