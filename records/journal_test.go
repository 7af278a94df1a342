package records

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestJournalLostCalls: calls begun and not ended in the journal come back
// as lost records with what was known; ended ones do not; ids go on after
// a restart; a torn last line is skipped; Compact keeps only open calls.
func TestJournalLostCalls(t *testing.T) {
	for _, policy := range []string{FsyncAlways, FsyncInterval, FsyncNever} {
		t.Run(policy, func(t *testing.T) {
			dir := t.TempDir()
			j, lost, err := OpenJournal(dir, policy, 10*time.Millisecond, nil)
			if err != nil || len(lost) != 0 {
				t.Fatalf("fresh journal: %v, lost %v", err, lost)
			}
			start := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
			a := &Record{CallID: "a", Caller: "13800138000", StartedAt: Time(start)}
			b := &Record{CallID: "b", Caller: "13900139000", StartedAt: Time(start)}
			c := &Record{CallID: "c", Caller: "13700137000", StartedAt: Time(start)}
			for _, r := range []*Record{a, b, c} {
				if err := j.Event(EventCallStarted, r); err != nil {
					t.Fatal(err)
				}
			}
			b.Agent, b.AnsweredAt = "1001", At(start.Add(time.Second))
			_ = j.Event(EventCallAnswered, b)
			c.EndReason = "answered"
			_ = j.Event(EventCallEnded, c)
			// killed here: no Close; a write torn in the middle
			f, _ := os.OpenFile(filepath.Join(dir, "journal.jsonl"), os.O_WRONLY|os.O_APPEND, 0)
			_, _ = f.WriteString(`{"id":99,"type":"call.sta`)
			_ = f.Close()

			j2, lost, err := OpenJournal(dir, policy, 10*time.Millisecond, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer j2.Close()
			if len(lost) != 2 || lost[0].CallID != "a" || lost[1].CallID != "b" {
				t.Fatalf("lost %+v, want a and b", lost)
			}
			if l := lost[1]; l.EndReason != EndLost || l.Agent != "1001" || l.HangupBy != "system" || l.AnsweredAt == nil {
				t.Errorf("lost b: %+v", l)
			}
			for i := range lost {
				if err := j2.Ended(&lost[i]); err != nil {
					t.Fatal(err)
				}
			}
			d := &Record{CallID: "d"}
			_ = j2.Event(EventCallStarted, d)
			if err := j2.Compact(); err != nil {
				t.Fatal(err)
			}
			_ = j2.Close()
			j3, lost, err := OpenJournal(dir, policy, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer j3.Close()
			if len(lost) != 1 || lost[0].CallID != "d" {
				t.Fatalf("after compaction, lost %+v, want d only", lost)
			}
			if j3.next != 9 { // a, b, c, b answered, c ended; a and b ended, d: ids 1..8
				t.Errorf("next id %d, want 9", j3.next)
			}
		})
	}
}

func TestJournalRefusesUnknownPolicy(t *testing.T) {
	if _, _, err := OpenJournal(t.TempDir(), "sometimes", 0, nil); err == nil {
		t.Fatal("policy sometimes accepted")
	}
}

// BenchmarkJournalCall journals one call's life (started, queued,
// answered, ended) per op, under each fsync policy.
func BenchmarkJournalCall(b *testing.B) {
	for _, policy := range []string{FsyncNever, FsyncInterval, FsyncAlways} {
		b.Run(policy, func(b *testing.B) {
			j, _, err := OpenJournal(b.TempDir(), policy, 200*time.Millisecond, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer j.Close()
			now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
			r := &Record{CallID: "c", Caller: "13800138000", Dialled: "12345", StartedAt: Time(now), IVRPath: []string{"welcome", "queue"}}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				r.CallID = "call-" + string(rune('a'+i%26))
				for _, typ := range []string{EventCallStarted, EventCallQueued, EventCallAnswered, EventCallEnded} {
					if err := j.Event(typ, r); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
