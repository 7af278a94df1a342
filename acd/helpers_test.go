package acd

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/queue"
	"github.com/hotline-cc/hotline/store"
)

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// clock is a fake clock the tests move by hand.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time      { return c.t }
func (c *clock) Add(d time.Duration) { c.t = c.t.Add(d) }

// rig is a dispatcher on a memory store with a fake clock.
type rig struct {
	t   testing.TB
	clk *clock
	st  store.Store
	d   *Dispatcher
	ctx context.Context
}

func newRig(t testing.TB, cfg Config, agents ...Agent) *rig {
	t.Helper()
	return newRigStore(t, store.NewMemory(), cfg, agents...)
}

func newRigStore(t testing.TB, st store.Store, cfg Config, agents ...Agent) *rig {
	t.Helper()
	clk := &clock{t: t0}
	d, err := New(cfg, Options{Store: st, Now: clk.Now, Location: time.UTC, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Node: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, clk: clk, st: st, d: d, ctx: context.Background()}
	if err := d.SetAgents(r.ctx, agents); err != nil {
		t.Fatal(err)
	}
	return r
}

// agent builds a profile: agent("1001", "general", 5, "tax", 3).
func agent(ext string, skills ...any) Agent {
	a := Agent{Ext: ext, Name: "Agent " + ext, Skills: map[string]int{}}
	for i := 0; i+1 < len(skills); i += 2 {
		a.Skills[skills[i].(string)] = skills[i+1].(int)
	}
	return a
}

// ready registers ext and logs it in.
func (r *rig) ready(exts ...string) {
	r.t.Helper()
	for _, ext := range exts {
		if _, err := r.d.Register(r.ctx, ext, "sip:"+ext+"@127.0.0.1:5070", r.clk.Now().Add(time.Hour)); err != nil {
			r.t.Fatal(err)
		}
		if _, _, err := r.d.Command(r.ctx, ext, Command{Kind: CmdLogin}); err != nil {
			r.t.Fatal(err)
		}
	}
}

func (r *rig) state(ext string) State {
	r.t.Helper()
	s, err := r.st.Status(r.ctx, ext)
	if err != nil {
		r.t.Fatal(err)
	}
	return state(s)
}

func (r *rig) status(ext string) store.Status {
	r.t.Helper()
	s, err := r.st.Status(r.ctx, ext)
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

func (r *rig) arrive(id, q string, prio int) []Decision {
	r.t.Helper()
	out, err := r.d.Arrive(r.ctx, Arrival{CallID: id, Caller: "138" + id, Queue: q, Priority: prio})
	if err != nil {
		r.t.Fatal(err)
	}
	return out
}

// do fails the test on err: r.do(r.d.Tick(r.ctx)).
func (r *rig) do(out []Decision, err error) []Decision {
	r.t.Helper()
	if err != nil {
		r.t.Fatal(err)
	}
	return out
}

// brief renders decisions compactly: "offer c1 1001", "finished c1 answered".
func brief(ds []Decision) []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		switch d.Kind {
		case Finished:
			out = append(out, fmt.Sprintf("finished %s %s", d.CallID, d.Result.Outcome))
		case Overflow:
			out = append(out, fmt.Sprintf("overflow %s %s%s%s", d.CallID, d.Dest.Kind, d.Dest.Queue, d.Dest.Target))
		case Announce:
			out = append(out, fmt.Sprintf("announce %s %d %s", d.CallID, d.Position, d.Wait))
		default:
			out = append(out, fmt.Sprintf("%s %s %s", d.Kind, d.CallID, d.Agent))
		}
	}
	return out
}

func oneQueue(q queue.Config) Config {
	return Config{Queues: []queue.Config{q}}
}
