package acd

import (
	"slices"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/queue"
	"github.com/hotline-cc/hotline/store"
)

// seat is one row of a strategy table: a profile and a status.
type seat struct {
	ext      string
	skills   []any
	state    State
	idle     time.Duration // idle since t0+idle
	calls    int           // calls today
	unreg    bool
	wrapLeft time.Duration // wrap-up still to go
}

func (r *rig) place(seats []seat) {
	r.t.Helper()
	for _, s := range seats {
		if !s.unreg {
			if err := r.st.PutRegistration(r.ctx, store.Registration{Ext: s.ext, Contact: "sip:" + s.ext + "@127.0.0.1", Expires: t0.Add(time.Hour)}); err != nil {
				r.t.Fatal(err)
			}
		}
		cur := r.status(s.ext)
		next := store.Status{State: string(s.state), Since: t0, IdleSince: t0.Add(s.idle), Day: "2025-03-01", CallsToday: s.calls}
		if s.state == WrapUp {
			next.WrapUntil = t0.Add(time.Minute + s.wrapLeft)
		}
		if _, err := r.st.SwapStatus(r.ctx, s.ext, cur.Version, next); err != nil {
			r.t.Fatal(err)
		}
	}
}

func TestStrategies(t *testing.T) {
	gen := func(l int) []any { return []any{"general", l} }
	tests := []struct {
		name     string
		strategy queue.Strategy
		minLevel int
		seats    []seat
		rrLast   string
		want     []string
	}{
		{"longest idle", queue.LongestIdle, 1, []seat{
			{ext: "1001", skills: gen(5), state: Ready, idle: 30 * time.Second},
			{ext: "1002", skills: gen(5), state: Ready, idle: 10 * time.Second},
			{ext: "1003", skills: gen(5), state: Ready, idle: 20 * time.Second},
		}, "", []string{"1002"}},
		{"longest idle ties by extension", queue.LongestIdle, 1, []seat{
			{ext: "1002", skills: gen(5), state: Ready},
			{ext: "1001", skills: gen(5), state: Ready},
		}, "", []string{"1001"}},
		{"longest idle skips busy, paused, unregistered", queue.LongestIdle, 1, []seat{
			{ext: "1001", skills: gen(5), state: OnCall},
			{ext: "1002", skills: gen(5), state: NotReady},
			{ext: "1003", skills: gen(5), state: Ready, unreg: true},
			{ext: "1004", skills: gen(5), state: WrapUp},
			{ext: "1005", skills: gen(5), state: Ready, idle: 50 * time.Second},
		}, "", []string{"1005"}},
		{"fewest calls", queue.FewestCalls, 1, []seat{
			{ext: "1001", skills: gen(5), state: Ready, calls: 12},
			{ext: "1002", skills: gen(5), state: Ready, calls: 4, idle: 40 * time.Second},
			{ext: "1003", skills: gen(5), state: Ready, calls: 9},
		}, "", []string{"1002"}},
		{"fewest calls ties by idle", queue.FewestCalls, 1, []seat{
			{ext: "1001", skills: gen(5), state: Ready, calls: 4, idle: 20 * time.Second},
			{ext: "1002", skills: gen(5), state: Ready, calls: 4, idle: 10 * time.Second},
		}, "", []string{"1002"}},
		{"round robin continues after the last", queue.RoundRobin, 1, []seat{
			{ext: "1001", skills: gen(5), state: Ready},
			{ext: "1002", skills: gen(5), state: Ready},
			{ext: "1003", skills: gen(5), state: Ready},
		}, "1001", []string{"1002"}},
		{"round robin wraps", queue.RoundRobin, 1, []seat{
			{ext: "1001", skills: gen(5), state: Ready},
			{ext: "1002", skills: gen(5), state: Ready},
		}, "1002", []string{"1001"}},
		{"round robin skips a busy next", queue.RoundRobin, 1, []seat{
			{ext: "1001", skills: gen(5), state: Ready},
			{ext: "1002", skills: gen(5), state: OnCall},
			{ext: "1003", skills: gen(5), state: Ready},
		}, "1001", []string{"1003"}},
		{"skill level then idle", queue.SkillLevel, 1, []seat{
			{ext: "1001", skills: gen(3), state: Ready},
			{ext: "1002", skills: gen(8), state: Ready, idle: 30 * time.Second},
			{ext: "1003", skills: gen(8), state: Ready, idle: 20 * time.Second},
		}, "", []string{"1003"}},
		{"minimum level", queue.LongestIdle, 5, []seat{
			{ext: "1001", skills: gen(3), state: Ready},
			{ext: "1002", skills: gen(5), state: Ready, idle: time.Minute},
		}, "", []string{"1002"}},
		{"ring all", queue.RingAll, 1, []seat{
			{ext: "1001", skills: gen(3), state: Ready},
			{ext: "1002", skills: gen(5), state: OnCall},
			{ext: "1003", skills: gen(8), state: Ready},
			{ext: "1004", skills: []any{"tax", 9}, state: Ready},
		}, "", []string{"1001", "1003"}},
		{"no seat with the skill", queue.LongestIdle, 1, []seat{
			{ext: "1001", skills: []any{"tax", 9}, state: Ready},
		}, "", nil},
		{"all paused", queue.LongestIdle, 1, []seat{
			{ext: "1001", skills: gen(5), state: NotReady},
			{ext: "1002", skills: gen(5), state: LoggedOut},
		}, "", nil},
		{"a seat finishing wrap-up is not offered a live call", queue.LongestIdle, 1, []seat{
			{ext: "1001", skills: gen(5), state: WrapUp, wrapLeft: 2 * time.Second},
		}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var agents []Agent
			for _, s := range tt.seats {
				agents = append(agents, agent(s.ext, s.skills...))
			}
			r := newRig(t, oneQueue(queue.Config{Name: "general", Strategy: tt.strategy, MinLevel: tt.minLevel}), agents...)
			r.place(tt.seats)
			r.clk.Add(time.Minute)
			if tt.rrLast != "" {
				r.d.rr["general"] = tt.rrLast
			}
			var got []string
			for _, d := range r.arrive("c1", "general", 0) {
				if d.Kind == Offer {
					got = append(got, d.Agent)
					if r.state(d.Agent) != Ringing {
						t.Errorf("offered seat %s is %s, not reserved", d.Agent, r.state(d.Agent))
					}
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("offered %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEscalationWidensOverWait(t *testing.T) {
	cfg := oneQueue(queue.Config{Name: "tax", MinLevel: 7, Escalation: []queue.Step{
		{After: 20 * time.Second, MinLevel: 4},
		{After: 60 * time.Second, Skills: []string{"general"}},
	}})
	r := newRig(t, cfg, agent("1001", "tax", 5), agent("1002", "general", 9))
	r.ready("1001", "1002")
	if got := brief(r.arrive("c1", "tax", 0)); len(got) != 0 {
		t.Fatalf("level 5 and general seats got %v at once", got)
	}
	r.clk.Add(20 * time.Second)
	out := r.do(r.d.Tick(r.ctx))
	if got := brief(out); !slices.Equal(got, []string{"offer c1 1001"}) {
		t.Fatalf("after 20 s: %v", got)
	}
	r.do(r.d.NotAnswered(r.ctx, "c1", "1001", NoAnswer))
	r.clk.Add(40 * time.Second)
	out = r.do(r.d.Tick(r.ctx))
	if got := brief(out); !slices.Equal(got, []string{"offer c1 1002"}) {
		t.Fatalf("after 60 s: %v", got)
	}
}
