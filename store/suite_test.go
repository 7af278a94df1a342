package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// suite is the behaviour both implementations must share.
func suite(t *testing.T, open func(t *testing.T) Store) {
	ctx := context.Background()
	t.Run("agents", func(t *testing.T) {
		s := open(t)
		for _, ext := range []string{"1002", "1001"} {
			if err := s.PutAgent(ctx, Agent{Ext: ext, Name: "A" + ext, Skills: map[string]int{"general": 5}}); err != nil {
				t.Fatal(err)
			}
		}
		recs, err := s.Agents(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 2 || recs[0].Agent.Ext != "1001" || recs[1].Agent.Skills["general"] != 5 {
			t.Fatalf("agents %+v", recs)
		}
		if recs[0].Status.Version != 0 || recs[0].Registration.Contact != "" {
			t.Fatalf("fresh agent has status or registration: %+v", recs[0])
		}
		if err := s.DeleteAgent(ctx, "1002"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Status(ctx, "1002"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleted agent status: %v", err)
		}
	})
	t.Run("nodes", func(t *testing.T) {
		n, ok := open(t).(Nodes)
		if !ok {
			t.Fatal("the store does not keep node beats")
		}
		if err := n.Beat(ctx, "n1", "boot-a", time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := n.Beat(ctx, "n2", "boot-b", 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		// n1 restarts: its new boot replaces the old one.
		if err := n.Beat(ctx, "n1", "boot-c", time.Hour); err != nil {
			t.Fatal(err)
		}
		alive, err := n.Alive(ctx)
		if err != nil || len(alive) != 2 || alive["n1"] != "boot-c" || alive["n2"] != "boot-b" {
			t.Fatalf("alive %v %v", alive, err)
		}
		// n2 stops beating: gone once its time to live is over.
		deadline := time.Now().Add(10 * time.Second)
		for {
			alive, err = n.Alive(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := alive["n2"]; !ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("n2 still alive after its ttl: %v", alive)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if alive["n1"] != "boot-c" || len(alive) != 1 {
			t.Fatalf("alive after n2 expired %v", alive)
		}
	})
	t.Run("drop entry", func(t *testing.T) {
		s := open(t)
		n := s.(Nodes)
		old := Entry{CallID: "c1", Queue: "general", Arrived: t0, Node: "n1", Boot: "boot-a"}
		if err := s.PutEntry(ctx, old); err != nil {
			t.Fatal(err)
		}
		// n1 restarted and put c1 again under its new boot: kept.
		if err := s.PutEntry(ctx, Entry{CallID: "c1", Queue: "general", Arrived: t0, Node: "n1", Boot: "boot-b"}); err != nil {
			t.Fatal(err)
		}
		if ok, err := n.DropEntry(ctx, old); ok || err != nil {
			t.Fatalf("dropped an entry put again by a new boot: %v %v", ok, err)
		}
		if got, _ := s.Entries(ctx, "general"); len(got) != 1 || got[0].Boot != "boot-b" {
			t.Fatalf("entries %+v", got)
		}
		old.Boot = "boot-b"
		if ok, err := n.DropEntry(ctx, old); !ok || err != nil {
			t.Fatalf("entry not dropped: %v %v", ok, err)
		}
		if ok, err := n.DropEntry(ctx, old); ok || err != nil {
			t.Fatalf("dropped twice: %v %v", ok, err)
		}
		if got, _ := s.Entries(ctx, "general"); len(got) != 0 {
			t.Fatalf("entries left %+v", got)
		}
	})
	t.Run("status swap", func(t *testing.T) {
		s := open(t)
		if _, err := s.SwapStatus(ctx, "1001", 0, Status{State: "ready"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("swap without profile: %v", err)
		}
		_ = s.PutAgent(ctx, Agent{Ext: "1001"})
		st, err := s.Status(ctx, "1001")
		if err != nil || st.Version != 0 || st.State != "" {
			t.Fatalf("initial status %+v %v", st, err)
		}
		want := Status{State: "ringing", Since: t0, CallID: "c1", Queue: "general", Node: "n1", Boot: "b1", CallsToday: 3, Day: "2025-03-01", IdleSince: t0.Add(-time.Minute), WrapUntil: t0.Add(time.Minute), Misses: 1, Pending: "not_ready", PendingWhy: "meal"}
		v, err := s.SwapStatus(ctx, "1001", 0, want)
		if err != nil || v != 1 {
			t.Fatalf("first swap: %d %v", v, err)
		}
		if _, err := s.SwapStatus(ctx, "1001", 0, Status{State: "ready"}); !errors.Is(err, ErrConflict) {
			t.Fatalf("stale swap: %v", err)
		}
		got, err := s.Status(ctx, "1001")
		want.Version = 1
		if err != nil || !sameStatus(got, want) {
			t.Fatalf("status %+v, want %+v (%v)", got, want, err)
		}
		recs, _ := s.Agents(ctx, nil)
		if !sameStatus(recs[0].Status, want) {
			t.Fatalf("agents status %+v", recs[0].Status)
		}
		if err := s.PutAgent(ctx, Agent{Ext: "1001", Name: "renamed"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Status(ctx, "1001"); got.Version != 1 {
			t.Fatalf("PutAgent reset the status: %+v", got)
		}
	})
	t.Run("one claim wins", func(t *testing.T) {
		s := open(t)
		_ = s.PutAgent(ctx, Agent{Ext: "1001"})
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for i := range 16 {
			wg.Go(func() {
				_, err := s.SwapStatus(ctx, "1001", 0, Status{State: "ringing", CallID: fmt.Sprint("c", i)})
				if err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				} else if !errors.Is(err, ErrConflict) {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d claims won", wins)
		}
	})
	t.Run("agents since", func(t *testing.T) {
		s := open(t).(Seats)
		st := s.(Store)
		for _, ext := range []string{"1003", "1002", "1001"} {
			_ = st.PutAgent(ctx, Agent{Ext: ext})
		}
		// since reads the changes since the last read: want when the store
		// tells them seat by seat, all when it answers with every agent
		// (Redis does for a profile or registration change; both must for
		// an agent added or deleted: mustFull).
		var mark uint64
		since := func(want, all string, mustFull bool) {
			t.Helper()
			recs, next, full, err := s.AgentsSince(ctx, mark, nil)
			var got []string
			for _, r := range recs {
				got = append(got, r.Agent.Ext+":"+r.Status.State)
			}
			if full {
				want = all
			}
			if err != nil || fmt.Sprint(got) != want || (mustFull && !full) {
				t.Fatalf("since %d: %v full %v %v, want %s", mark, got, full, err, want)
			}
			mark = next
		}
		since("", "[1001: 1002: 1003:]", true)
		since("[]", "", false)
		_, _ = st.SwapStatus(ctx, "1003", 0, Status{State: "ready"})
		since("[1003:ready]", "", false)
		_ = st.PutRegistration(ctx, Registration{Ext: "1002", Contact: "sip:1002"})
		since("[1002:]", "[1001: 1002: 1003:ready]", false)
		recs, _, _, _ := s.AgentsSince(ctx, 0, nil)
		if len(recs) != 3 || recs[1].Registration.Contact != "sip:1002" || recs[2].Status.Version != 1 {
			t.Fatalf("records %+v", recs)
		}
		_, _ = st.SwapStatus(ctx, "1003", 1, Status{State: "ringing"})
		_, _ = st.SwapStatus(ctx, "1003", 2, Status{State: "on_call"})
		since("[1003:on_call]", "", false)
		_ = st.PutAgent(ctx, Agent{Ext: "1001", Name: "renamed"})
		since("[1001:]", "[1001: 1002: 1003:on_call]", false)
		_ = st.DeleteRegistration(ctx, "1002")
		since("[1002:]", "[1001: 1002: 1003:on_call]", false)
		_ = st.DeleteAgent(ctx, "1001")
		since("", "[1002: 1003:on_call]", true)
		_ = st.PutAgent(ctx, Agent{Ext: "1004"})
		since("", "[1002: 1003:on_call 1004:]", true)
		since("[]", "", false)
		_, _ = st.SwapStatus(ctx, "1004", 0, Status{State: "wrap_up"})
		since("[1004:wrap_up]", "", false)
	})
	t.Run("claim takes the entry", func(t *testing.T) {
		s := open(t)
		_ = s.PutAgent(ctx, Agent{Ext: "1001"})
		_ = s.PutEntry(ctx, Entry{CallID: "c1", Queue: "general", Arrived: t0})
		_ = s.PutEntry(ctx, Entry{CallID: "c2", Queue: "general", Arrived: t0})
		if _, err := s.(Seats).Claim(ctx, "1001", 3, Status{State: "ringing"}, "general", "c1"); !errors.Is(err, ErrConflict) {
			t.Fatalf("stale claim: %v", err)
		}
		if _, err := s.(Seats).Claim(ctx, "1002", 0, Status{State: "ringing"}, "general", "c1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("claim without profile: %v", err)
		}
		if es, _ := s.Entries(ctx, "general"); len(es) != 2 {
			t.Fatalf("a failed claim took the entry: %+v", es)
		}
		v, err := s.(Seats).Claim(ctx, "1001", 0, Status{State: "ringing", CallID: "c1"}, "general", "c1")
		if err != nil || v != 1 {
			t.Fatalf("claim: %d %v", v, err)
		}
		if es, _ := s.Entries(ctx, "general"); len(es) != 1 || es[0].CallID != "c2" {
			t.Fatalf("entries after the claim: %+v", es)
		}
		if st, _ := s.Status(ctx, "1001"); st.CallID != "c1" || st.Version != 1 {
			t.Fatalf("status after the claim: %+v", st)
		}
	})
	t.Run("registrations", func(t *testing.T) {
		s := open(t)
		if err := s.PutRegistration(ctx, Registration{Ext: "1001", Contact: "sip:x"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("registration without profile: %v", err)
		}
		_ = s.PutAgent(ctx, Agent{Ext: "1001"})
		reg := Registration{Ext: "1001", Contact: "sip:1001@127.0.0.1:5070", Expires: t0}
		if err := s.PutRegistration(ctx, reg); err != nil {
			t.Fatal(err)
		}
		recs, _ := s.Agents(ctx, nil)
		if recs[0].Registration.Contact != reg.Contact || !recs[0].Registration.Expires.Equal(t0) {
			t.Fatalf("registration %+v", recs[0].Registration)
		}
		if err := s.DeleteRegistration(ctx, "1001"); err != nil {
			t.Fatal(err)
		}
		recs, _ = s.Agents(ctx, nil)
		if recs[0].Registration.Contact != "" {
			t.Fatalf("registration kept: %+v", recs[0].Registration)
		}
	})
	t.Run("entries", func(t *testing.T) {
		s := open(t)
		es := []Entry{
			{CallID: "c3", Queue: "general", Arrived: t0.Add(2 * time.Second)},
			{CallID: "c1", Queue: "general", Arrived: t0},
			{CallID: "v1", Queue: "general", Priority: 5, Arrived: t0.Add(time.Minute), Callback: true, Node: "n2"},
			{CallID: "c2", Queue: "general", Arrived: t0},
			{CallID: "x1", Queue: "tax", Arrived: t0},
		}
		for _, e := range es {
			if err := s.PutEntry(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteEntry(ctx, "general", "c3"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteEntry(ctx, "general", "c3"); err != nil {
			t.Fatalf("second delete: %v", err)
		}
		got, err := s.Entries(ctx, "general")
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range got {
			ids = append(ids, e.CallID)
		}
		if fmt.Sprint(ids) != "[v1 c1 c2]" || !got[0].Callback || got[0].Node != "n2" {
			t.Fatalf("entries %v %+v", ids, got[0])
		}
		if none, err := s.Entries(ctx, "empty"); err != nil || len(none) != 0 {
			t.Fatalf("empty queue: %v %v", none, err)
		}
	})
}

func sameStatus(a, b Status) bool {
	eq := func(x, y time.Time) bool { return x.Equal(y) }
	return a.State == b.State && eq(a.Since, b.Since) && a.CallID == b.CallID && a.Queue == b.Queue &&
		a.Node == b.Node && a.Boot == b.Boot && eq(a.WrapUntil, b.WrapUntil) && eq(a.IdleSince, b.IdleSince) && a.Day == b.Day &&
		a.CallsToday == b.CallsToday && a.Misses == b.Misses && a.Pending == b.Pending &&
		a.PendingWhy == b.PendingWhy && a.Version == b.Version
}

func TestMemory(t *testing.T) {
	suite(t, func(*testing.T) Store { return NewMemory() })
}

// callbackSuite: kept callback places of both implementations.
func callbackSuite(t *testing.T, s Callbacks) {
	ctx := context.Background()
	places := []Callback{
		{CallID: "b", Queue: "general", Caller: "13800138000", Arrived: t0.Add(time.Second), Kept: t0, Node: "n1"},
		{CallID: "a", Queue: "general", Caller: "13800138001", Arrived: t0.Add(2 * time.Second), Kept: t0, Node: "n1", Priority: 1},
		{CallID: "c", Queue: "general", Caller: "13800138002", Arrived: t0, Kept: t0, Node: "n2"},
	}
	for _, c := range places {
		if err := s.PutCallback(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	places[0].Attempt = 1
	if err := s.PutCallback(ctx, places[0]); err != nil {
		t.Fatal(err)
	}
	got, err := s.Callbacks(ctx, "n1")
	if err != nil || len(got) != 2 || got[0].CallID != "a" || got[1].CallID != "b" || got[1].Attempt != 1 ||
		!got[1].Arrived.Equal(places[0].Arrived) || got[1].Caller != "13800138000" {
		t.Fatalf("callbacks of n1: %+v, %v", got, err)
	}
	for _, id := range []string{"a", "a", "x"} {
		if err := s.DeleteCallback(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if got, err = s.Callbacks(ctx, "n1"); err != nil || len(got) != 1 || got[0].CallID != "b" {
		t.Fatalf("after delete: %+v, %v", got, err)
	}
}

func TestMemoryCallbacks(t *testing.T) { callbackSuite(t, NewMemory()) }

// TestCallbackFile: the file keeps places across instances (a restart), is
// 0600 in a 0700 folder, and a file that is not ours is an error, not an
// empty list.
func TestCallbackFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "callbacks.json")
	callbackSuite(t, NewCallbackFile(path))
	got, err := NewCallbackFile(path).Callbacks(context.Background(), "n1")
	if err != nil || len(got) != 1 || got[0].CallID != "b" || got[0].Attempt != 1 || !got[0].Kept.Equal(t0) {
		t.Fatalf("after a restart: %+v, %v", got, err)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700 | os.ModeDir} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewCallbackFile(path).Callbacks(context.Background(), "n1"); err == nil {
		t.Fatal("a damaged file read as no places")
	}
}
