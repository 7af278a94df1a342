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

// TestMissedReachedByOutbound: a missed caller reached by an answered
// outbound call (follow-up or missed-call) is no longer missed; an
// outbound call that did not reach them changes nothing, and is never a
// missed call itself.
func TestMissedReachedByOutbound(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	m := newMissedCalls(24*time.Hour, func() time.Time { return now })
	at := func(min int) *records.Time { return records.At(now.Add(time.Duration(min) * time.Minute)) }
	for _, r := range []*records.Record{
		{CallID: "a1", Caller: "13800138000", EndReason: "abandoned", QueuedAt: at(-31), EndedAt: *at(-30), LineMode: "main"},
		{CallID: "b1", Caller: "13900139000", EndReason: "abandoned", QueuedAt: at(-31), EndedAt: *at(-30), LineMode: "main"},
		{CallID: "o1", Caller: "13800138000", EndReason: "answered", AnsweredAt: at(-6), EndedAt: *at(-5), LineMode: "outbound", Purpose: "missed"},
		{CallID: "o2", Caller: "13900139000", EndReason: "no_answer", EndedAt: *at(-5), LineMode: "outbound", Purpose: "missed"},
		{CallID: "o3", Caller: "13700137000", EndReason: "busy", EndedAt: *at(-5), LineMode: "outbound", Purpose: "followup"},
	} {
		m.note(r)
	}
	got := m.list()
	if len(got) != 1 || got[0].Number != "13900139000" || got[0].Calls != 1 || got[0].LastCallID != "b1" {
		t.Fatalf("missed %+v", got)
	}
}
