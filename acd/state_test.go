package acd

import (
	"errors"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/store"
)

func st(s State, extra ...func(*store.Status)) store.Status {
	v := store.Status{State: string(s), Since: t0}
	for _, f := range extra {
		f(&v)
	}
	return v
}

func onCall(id string) func(*store.Status) {
	return func(s *store.Status) { s.CallID = id }
}

func TestApplyCommand(t *testing.T) {
	now := t0.Add(time.Minute)
	tests := []struct {
		name        string
		from        store.Status
		cmd         Command
		want        State
		wantReason  string
		wantPending string
		wantErr     error
	}{
		{"login from logged out", st(LoggedOut), Command{Kind: CmdLogin}, Ready, "", "", nil},
		{"login when ready is a no-op", st(Ready), Command{Kind: CmdLogin}, Ready, "", "", nil},
		{"logout when ready", st(Ready), Command{Kind: CmdLogout}, LoggedOut, "", "", nil},
		{"logout on a call waits", st(OnCall, onCall("c1")), Command{Kind: CmdLogout}, OnCall, "", "logged_out", nil},
		{"logout while ringing waits", st(Ringing, onCall("c1")), Command{Kind: CmdLogout}, Ringing, "", "logged_out", nil},
		{"not ready with reason", st(Ready), Command{Kind: CmdNotReady, Reason: ReasonMeal}, NotReady, ReasonMeal, "", nil},
		{"not ready from wrap-up", st(WrapUp), Command{Kind: CmdNotReady, Reason: ReasonBreak}, NotReady, ReasonBreak, "", nil},
		{"not ready changes reason", st(NotReady, func(s *store.Status) { s.Reason = ReasonBreak }), Command{Kind: CmdNotReady, Reason: ReasonTraining}, NotReady, ReasonTraining, "", nil},
		{"not ready when logged out", st(LoggedOut), Command{Kind: CmdNotReady, Reason: ReasonBreak}, LoggedOut, "", "", ErrLoggedOut},
		{"not ready on a call waits", st(OnCall, onCall("c1")), Command{Kind: CmdNotReady, Reason: ReasonMeeting}, OnCall, "", "not_ready", nil},
		{"ready ends wrap-up early", st(WrapUp), Command{Kind: CmdReady}, Ready, "", "", nil},
		{"ready from not ready", st(NotReady, func(s *store.Status) { s.Reason = ReasonMissed; s.Misses = 3 }), Command{Kind: CmdReady}, Ready, "", "", nil},
		{"ready from logged out logs in", st(LoggedOut), Command{Kind: CmdReady}, Ready, "", "", nil},
		{"ready on a call clears a pending request", st(OnCall, onCall("c1"), func(s *store.Status) { s.Pending = "not_ready" }), Command{Kind: CmdReady}, OnCall, "", "", nil},
		{"unknown command", st(Ready), Command{Kind: "dance"}, Ready, "", "", ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := applyCommand(tt.from, tt.cmd, now)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if state(got) != tt.want || got.Reason != tt.wantReason || got.Pending != tt.wantPending {
				t.Fatalf("got %s/%q pending %q, want %s/%q pending %q", got.State, got.Reason, got.Pending, tt.want, tt.wantReason, tt.wantPending)
			}
			if state(got) != state(tt.from) && !got.Since.Equal(now) {
				t.Fatalf("transition not timestamped: since %v", got.Since)
			}
			if state(got) == Ready && got.Misses != 0 {
				t.Fatalf("ready seat keeps %d misses", got.Misses)
			}
		})
	}
}

func TestCallTransitions(t *testing.T) {
	now := t0.Add(time.Minute)
	wrapping := st(WrapUp, func(s *store.Status) { s.WrapUntil = now })
	tests := []struct {
		name       string
		got        store.Status
		want       State
		wantReason string
		wantMisses int
	}{
		{"claim", claim(st(Ready), "c1", "general", "n1", now), Ringing, "", 0},
		{"answered", answered(st(Ringing, onCall("c1")), "2025-03-01", now), OnCall, "", 0},
		{"released keeps misses", released(st(Ringing, onCall("c1"), func(s *store.Status) { s.Misses = 1 }), now), Ready, "", 1},
		{"released applies pending", released(st(Ringing, onCall("c1"), func(s *store.Status) { s.Pending = "logged_out" }), now), LoggedOut, "", 0},
		{"first miss", missed(st(Ringing, onCall("c1")), 3, now), Ready, "", 1},
		{"third miss sets not ready missed", missed(st(Ringing, onCall("c1"), func(s *store.Status) { s.Misses = 2 }), 3, now), NotReady, ReasonMissed, 3},
		{"misses unlimited", missed(st(Ringing, onCall("c1"), func(s *store.Status) { s.Misses = 9 }), 0, now), Ready, "", 10},
		{"ended with wrap-up", ended(st(OnCall, onCall("c1")), 30*time.Second, now), WrapUp, "", 0},
		{"ended without wrap-up", ended(st(OnCall, onCall("c1")), 0, now), Ready, "", 0},
		{"ended with pending not ready", ended(st(OnCall, onCall("c1"), func(s *store.Status) { s.Pending, s.PendingWhy = "not_ready", ReasonMeal }), 0, now), NotReady, ReasonMeal, 0},
		{"wrap-up over", func() store.Status { s, _ := wrapDone(wrapping, now); return s }(), Ready, "", 0},
		{"wrap-up not over", func() store.Status { s, _ := wrapDone(wrapping, now.Add(-time.Second)); return s }(), WrapUp, "", 0},
		{"registration gone logs out idle seat", func() store.Status { s, _ := expire(st(Ready), store.Registration{}, now); return s }(), LoggedOut, "", 0},
		{"registration expired logs out paused seat", func() store.Status {
			s, _ := expire(st(NotReady), store.Registration{Contact: "sip:x", Expires: now}, now)
			return s
		}(), LoggedOut, "", 0},
		{"registration gone keeps a seat on a call", func() store.Status { s, _ := expire(st(OnCall, onCall("c1")), store.Registration{}, now); return s }(), OnCall, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if state(tt.got) != tt.want || tt.got.Reason != tt.wantReason || tt.got.Misses != tt.wantMisses {
				t.Fatalf("got %s/%q misses %d, want %s/%q misses %d", tt.got.State, tt.got.Reason, tt.got.Misses, tt.want, tt.wantReason, tt.wantMisses)
			}
		})
	}
}

func TestAnsweredCountsCallsPerDay(t *testing.T) {
	s := st(Ringing, onCall("c1"), func(s *store.Status) { s.Day, s.CallsToday = "2025-02-28", 7 })
	s = answered(s, "2025-03-01", t0)
	if s.CallsToday != 1 || s.Day != "2025-03-01" {
		t.Fatalf("calls today %d on %s, want 1 on 2025-03-01", s.CallsToday, s.Day)
	}
	s = answered(st(Ringing, onCall("c2"), func(x *store.Status) { x.Day, x.CallsToday = s.Day, s.CallsToday }), "2025-03-01", t0)
	if s.CallsToday != 2 {
		t.Fatalf("calls today %d, want 2", s.CallsToday)
	}
}

func TestTimeInState(t *testing.T) {
	if got := TimeInState(st(Ready), t0.Add(90*time.Second)); got != 90*time.Second {
		t.Fatalf("time in state %s", got)
	}
	if got := TimeInState(store.Status{}, t0); got != 0 {
		t.Fatalf("never set: %s", got)
	}
}

func TestFeatureCodes(t *testing.T) {
	custom := FeatureCodes{Login: "#1", Logout: "#2", NotReady: "#3", Ready: "#4", Reasons: map[string]string{"9": ReasonTraining}}
	tests := []struct {
		name    string
		codes   FeatureCodes
		dialled string
		want    Command
		ok      bool
	}{
		{"login", DefaultFeatureCodes(), "*11", Command{Kind: CmdLogin}, true},
		{"logout", DefaultFeatureCodes(), "*12", Command{Kind: CmdLogout}, true},
		{"not ready defaults to break", DefaultFeatureCodes(), "*13", Command{Kind: CmdNotReady, Reason: ReasonBreak}, true},
		{"not ready meal", DefaultFeatureCodes(), "*132", Command{Kind: CmdNotReady, Reason: ReasonMeal}, true},
		{"not ready meeting", DefaultFeatureCodes(), "*134", Command{Kind: CmdNotReady, Reason: ReasonMeeting}, true},
		{"not ready unknown reason", DefaultFeatureCodes(), "*139", Command{}, false},
		{"ready", DefaultFeatureCodes(), "*14", Command{Kind: CmdReady}, true},
		{"a number", DefaultFeatureCodes(), "12345", Command{}, false},
		{"empty", DefaultFeatureCodes(), "", Command{}, false},
		{"prefix only", DefaultFeatureCodes(), "*1", Command{}, false},
		{"configured codes", custom, "#39", Command{Kind: CmdNotReady, Reason: ReasonTraining}, true},
		{"default code not configured", custom, "*11", Command{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.codes.Parse(tt.dialled)
			if ok != tt.ok || got != tt.want {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v, %v", tt.dialled, got, ok, tt.want, tt.ok)
			}
		})
	}
}
