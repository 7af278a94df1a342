package acd

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/store"
)

// newRecoveryRig is a rig for node n1, boot b1, whose engine holds the
// calls in held.
func newRecoveryRig(t *testing.T, st store.Store, held ...string) *rig {
	t.Helper()
	clk := &clock{t: t0}
	d, err := New(oneQueue(general()), Options{
		Store: st, Now: clk.Now, Location: time.UTC, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Node: "n1", Boot: "b1", Holds: func(id string) bool { return slices.Contains(held, id) },
	})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, clk: clk, st: st, d: d, ctx: context.Background()}
	if err := d.SetAgents(r.ctx, []Agent{agent("1001", "general", 5)}); err != nil {
		t.Fatal(err)
	}
	return r
}

// hold puts seat ext ringing for (or on) callID of node/boot since now.
func (r *rig) hold(ext, callID, node, boot string, onCall bool) {
	r.t.Helper()
	s := r.status(ext)
	next := claim(s, callID, "general", node, r.clk.Now())
	next.Boot = boot
	if onCall {
		next = answered(next, "2025-03-01", r.clk.Now())
	}
	if _, err := r.st.SwapStatus(r.ctx, ext, s.Version, next); err != nil {
		r.t.Fatal(err)
	}
}

func beat(t *testing.T, st store.Store, node, boot string) {
	t.Helper()
	if err := st.(store.Nodes).Beat(context.Background(), node, boot, time.Hour); err != nil {
		t.Fatal(err)
	}
}

// TestRecoverSeats: a seat ringing or on a call that nobody will end goes
// back to ready (on a call: through its queue's wrap-up); one whose call
// is alive somewhere keeps it. The first tick is at the claim, the second
// NodeGrace and orphanSettle later, the third after the wrap-up.
func TestRecoverSeats(t *testing.T) {
	later := max(NodeGrace, orphanSettle) + time.Second
	for _, tc := range []struct {
		name               string
		callID, node, boot string
		onCall             bool
		peers              map[string]string // nodes beating: name -> boot
		first, then, end   State
		freed              bool
	}{
		{"dead peer, on a call", "c1", "n2", "x", true, nil, OnCall, WrapUp, Ready, true},
		{"dead peer, ringing", "c1", "n2", "x", false, nil, Ringing, Ready, Ready, true},
		{"live peer, on a call", "c1", "n2", "x", true, map[string]string{"n2": "x"}, OnCall, OnCall, OnCall, false},
		{"peer restarted: its own business", "c1", "n2", "x", true, map[string]string{"n2": "y"}, OnCall, OnCall, OnCall, false},
		{"this node restarted", "c1", "n1", "b0", true, nil, WrapUp, WrapUp, Ready, true},
		{"this node restarted, ringing", "c1", "n1", "b0", false, nil, Ready, Ready, Ready, true},
		{"this node, call gone", "c9", "n1", "b1", true, nil, OnCall, WrapUp, Ready, true},
		{"this node, call held", "c1", "n1", "b1", true, nil, OnCall, OnCall, OnCall, false},
		{"this node, ringing for no call", "c9", "n1", "b1", false, nil, Ringing, Ready, Ready, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := store.NewMemory()
			r := newRecoveryRig(t, st, "c1")
			r.ready("1001")
			r.hold("1001", tc.callID, tc.node, tc.boot, tc.onCall)
			for n, b := range tc.peers {
				beat(t, st, n, b)
			}
			for i, step := range []struct {
				after time.Duration
				want  State
			}{{0, tc.first}, {later, tc.then}, {general().WrapUp, tc.end}} {
				if step.after == 0 {
					if err := r.beatTick(); err != nil {
						t.Fatal(err)
					}
				}
				r.run(step.after)
				if got := r.state("1001"); got != step.want {
					t.Fatalf("tick %d: %s, want %s", i+1, got, step.want)
				}
			}
			if seats, _ := r.d.Recovered(); (seats == 1) != tc.freed {
				t.Fatalf("%d seats recovered, freed %v", seats, tc.freed)
			}
		})
	}
}

// downNodes is a memory store whose node beats can fail as an unreachable
// Redis would.
type downNodes struct {
	*store.Memory
	down bool
}

func (s *downNodes) Alive(ctx context.Context) (map[string]string, error) {
	if s.down {
		return nil, store.ErrUnavailable
	}
	return s.Memory.Alive(ctx)
}

// TestRecoverNotOnAGuess: while the live nodes cannot be read nothing is
// freed, however long; once they can, a node missing from them gets its
// full grace again before its seat is freed.
func TestRecoverNotOnAGuess(t *testing.T) {
	st := &downNodes{Memory: store.NewMemory()}
	r := newRecoveryRig(t, st)
	r.ready("1001")
	r.hold("1001", "c1", "n2", "x", true)
	if err := r.beatTick(); err != nil { // n2 missed once
		t.Fatal(err)
	}
	st.down = true
	for range 5 {
		r.clk.Add(NodeGrace)
		if err := r.beatTick(); err == nil {
			t.Fatal("a beat with the store down reported no error")
		}
		r.do(r.d.Tick(r.ctx))
		if got := r.state("1001"); got != OnCall {
			t.Fatalf("freed while the store was down: %s", got)
		}
	}
	st.down = false
	if err := r.beatTick(); err != nil {
		t.Fatal(err)
	}
	if got := r.state("1001"); got != OnCall {
		t.Fatalf("freed on the first read after the outage: %s", got)
	}
	r.run(NodeGrace)
	if got := r.state("1001"); got != WrapUp {
		t.Fatalf("not freed after the grace: %s", got)
	}
}

// TestRecoverQueueEntries: this node deletes its older boots' entries and
// entries of calls it no longer has at once, a dead node's after the
// grace; a live peer's entries and this node's waiting call stay. Claims
// and entries carry the boot.
func TestRecoverQueueEntries(t *testing.T) {
	st := store.NewMemory()
	r := newRecoveryRig(t, st)
	beat(t, st, "n3", "z")
	r.arrive("c1", "general", 0) // no seat: it waits
	for _, e := range []store.Entry{
		{CallID: "dead", Node: "n2", Boot: "x"},
		{CallID: "peer", Node: "n3", Boot: "z"},
		{CallID: "old", Node: "n1", Boot: "b0"},
		{CallID: "lost", Node: "n1", Boot: "b1"},
	} {
		e.Queue, e.Arrived = "general", t0
		if err := st.PutEntry(r.ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	ids := func() []string {
		es, err := st.Entries(r.ctx, "general")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, e.CallID+"/"+e.Boot)
		}
		slices.Sort(out)
		return out
	}
	if err := r.beatTick(); err != nil {
		t.Fatal(err)
	}
	if got := ids(); !slices.Equal(got, []string{"c1/b1", "dead/x", "peer/z"}) {
		t.Fatalf("after the first tick: %v", got)
	}
	r.run(max(NodeGrace, entrySweep))
	if got := ids(); !slices.Equal(got, []string{"c1/b1", "peer/z"}) {
		t.Fatalf("after the grace: %v", got)
	}
	if _, n := r.d.Recovered(); n != 3 {
		t.Fatalf("%d entries recovered, want 3", n)
	}
	r.ready("1001")
	if s := r.status("1001"); s.CallID != "c1" || s.Node != "n1" || s.Boot != "b1" {
		t.Fatalf("claim without node and boot: %+v", s)
	}
}

// beatTick is the engine's second: a beat, then a tick.
func (r *rig) beatTick() error {
	if err := r.d.Beat(r.ctx); err != nil {
		return err
	}
	_, err := r.d.Tick(r.ctx)
	return err
}

// run lets d pass second by second, each with its beat and tick.
func (r *rig) run(d time.Duration) {
	r.t.Helper()
	for end := r.clk.Now().Add(d); r.clk.Now().Before(end); {
		r.clk.Add(time.Second)
		if err := r.beatTick(); err != nil {
			r.t.Fatal(err)
		}
	}
}
