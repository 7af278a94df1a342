package call

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/records"
	"github.com/hotline-cc/hotline/store"
)

// TestKeptPlacesRestoredAndExpired: at start the engine puts back the
// places its node kept in the store (not another node's); one whose number
// callback_numbers does not allow, or whose queue is gone, is given up on
// record (callback_failed). A place kept longer than callback_expiry is
// given up with its record (callback_expired) and leaves the store.
func TestKeptPlacesRestoredAndExpired(t *testing.T) {
	cfg := parseCentre(t, minimalCentre+`trunks:
  - {name: carrier, acl: [127.0.0.1], outbound: "sip:127.0.0.1:5070"}
queues:
  - {name: general, callback: true, callback_expiry: 1h}
`)
	e, rec := testEngine(t, cfg)
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	d, err := acd.New(acdConfigFrom(cfg), acd.Options{Store: store.NewMemory(), Now: clock, Location: time.UTC, Logger: e.log, Node: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	e.acd, e.opts.Now, e.opts.Node = d, clock, "n1"
	kept := store.NewMemory()
	e.kept = kept
	ctx := context.Background()
	place := func(id, caller, queue string, kept time.Duration, node string) store.Callback {
		return store.Callback{CallID: id, Queue: queue, Caller: caller, Line: "12345", Target: "sip:" + caller + "@127.0.0.1:5070",
			Codec: "PCMU", Arrived: now.Add(-kept - time.Minute), Kept: now.Add(-kept), Node: node}
	}
	for _, c := range []store.Callback{
		place("old", "13800138001", "general", 2*time.Hour, "n1"),
		place("fresh", "13800138002", "general", 10*time.Minute, "n1"),
		place("intl", "00881234", "general", time.Minute, "n1"),
		place("gone", "13800138003", "nowhere", time.Minute, "n1"),
		place("theirs", "13800138004", "general", time.Minute, "n2"),
	} {
		if err := kept.PutCallback(ctx, c); err != nil {
			t.Fatal(err)
		}
	}

	e.restoreCallbacks(ctx)
	written := func(n int) []records.Record {
		t.Helper()
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if len(rec.recs) != n {
			t.Fatalf("%d records, want %d: %+v", len(rec.recs), n, rec.recs)
		}
		return slices.Clone(rec.recs)
	}
	given := map[string]string{}
	for _, r := range written(2) {
		if r.LineMode != "callback" || r.EndReason != "callback_failed" {
			t.Fatalf("given-up place: %+v", r)
		}
		given[r.CallbackOf] = r.Caller
	}
	if len(given) != 2 || given["intl"] != "00881234" || given["gone"] != "13800138003" {
		t.Fatalf("given up at restore: %v", given)
	}
	for _, id := range []string{"old", "fresh"} {
		if k, ok := e.acd.Kept(id); !ok || k.Queue != "general" {
			t.Fatalf("%s not restored: %+v", id, k)
		}
	}
	if _, ok := e.acd.Kept("theirs"); ok {
		t.Fatal("another node's place restored")
	}

	e.expireCallbacks(ctx)
	r := written(3)[2]
	if r.CallbackOf != "old" || r.EndReason != "callback_expired" || r.Queue != "general" || r.Caller != "13800138001" ||
		r.LineMode != "callback" || r.QueuedAt == nil {
		t.Fatalf("expired place's record: %+v", r)
	}
	if ids := storedIDs(t, kept, "n1"); !slices.Equal(ids, []string{"fresh"}) {
		t.Fatalf("stored after expiry: %v", ids)
	}
	if ids := storedIDs(t, kept, "n2"); !slices.Equal(ids, []string{"theirs"}) {
		t.Fatalf("another node's places: %v", ids)
	}
	now = now.Add(50 * time.Minute)
	e.expireCallbacks(ctx)
	if r := written(4)[3]; r.CallbackOf != "fresh" || r.EndReason != "callback_expired" {
		t.Fatalf("second expiry: %+v", r)
	}
	if ids := storedIDs(t, kept, "n1"); len(ids) != 0 {
		t.Fatalf("stored at the end: %v", ids)
	}
}

func storedIDs(t *testing.T, s store.Callbacks, node string) []string {
	t.Helper()
	list, err := s.Callbacks(context.Background(), node)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range list {
		ids = append(ids, c.CallID)
	}
	return ids
}
