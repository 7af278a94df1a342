package main

import (
	"testing"
	"time"

	"github.com/hotline-cc/hotline/records"
)

func TestMissedCalls(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	m := newMissedCalls(24*time.Hour, func() time.Time { return now })
	at := func(min int) *records.Time { return records.At(now.Add(time.Duration(min) * time.Minute)) }
	rec := func(id, caller, reason string, ended int, queued, answered bool, mode string) *records.Record {
		r := &records.Record{CallID: id, Caller: caller, Dialled: "12345", EndReason: reason, EndedAt: *at(ended), LineMode: mode}
		if queued {
			r.QueuedAt = at(ended - 1)
		}
		if answered {
			r.AnsweredAt = at(ended - 1)
		}
		return r
	}
	for _, r := range []*records.Record{
		rec("a1", "138", "abandoned", -30, true, false, "main"),
		rec("a2", "138", "overflow", -20, true, false, "main"),
		rec("b1", "139", "ivr_hangup", -20, false, false, "main"),  // never queued: not missed
		rec("c1", "137", "callback", -20, true, false, "main"),     // its place is kept
		rec("d1", "136", "abandoned", -25*60, true, false, "main"), // outside the window
		rec("e1", "135", "abandoned", -40, true, false, "main"),
		rec("e2", "135", "answered", -10, true, true, "main"), // reached later
		rec("f1", "134", "callback_failed", -5, false, false, "callback"),
	} {
		m.note(r)
	}
	got := m.list()
	if len(got) != 2 || got[0].Number != "134" || got[1].Number != "138" || got[1].Calls != 2 || got[1].LastCallID != "a2" || got[1].LastReason != "overflow" {
		t.Fatalf("missed %+v", got)
	}
}
