package acd

import (
	"errors"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/queue"
)

// arriveFrom is arrive with a given caller number and callability.
func (r *rig) arriveFrom(id, caller string, noCallback bool) []Decision {
	r.t.Helper()
	return r.do(r.d.Arrive(r.ctx, Arrival{CallID: id, Caller: caller, Queue: "general", NoCallback: noCallback}))
}

// TestCallbackPlaceRules: who may keep a place, one per number, kept places
// in max_length; and what a caller gets when a callback destination is not
// for them.
func TestCallbackPlaceRules(t *testing.T) {
	maxWait := queue.Config{Name: "general", Callback: true, MaxWait: time.Minute, OnMaxWait: queue.Destination{Kind: queue.DestCallback}}
	full := queue.Config{Name: "general", Callback: true, MaxLength: 2, OnFull: queue.Destination{Kind: queue.DestCallback}}
	tests := []struct {
		name string
		q    queue.Config
		run  func(r *rig) []string
		want []string
	}{
		{"a number outside callback_numbers cannot ask", maxWait, func(r *rig) []string {
			r.arriveFrom("c1", "00881234", true)
			_, err := r.d.RequestCallback(r.ctx, "c1")
			return []string{errName(err)}
		}, []string{"no callback"}},
		{"nor is kept past max_wait: it keeps waiting", maxWait, func(r *rig) []string {
			r.arriveFrom("c1", "anonymous", true)
			r.clk.Add(2 * time.Minute)
			out := brief(r.do(r.d.Tick(r.ctx)))
			return append(out, waitingBrief(r)...)
		}, []string{"c1 waiting"}},
		{"the same number asks twice", maxWait, func(r *rig) []string {
			r.arriveFrom("c1", "13800138000", false)
			r.arriveFrom("c2", "13800138000", false)
			r.do(r.d.RequestCallback(r.ctx, "c1"))
			_, err := r.d.RequestCallback(r.ctx, "c2")
			return append([]string{errName(err)}, waitingBrief(r)...)
		}, []string{"already kept", "c1 kept", "c2 waiting"}},
		{"the same number past max_wait keeps waiting", maxWait, func(r *rig) []string {
			r.arriveFrom("c1", "13800138000", false)
			r.do(r.d.RequestCallback(r.ctx, "c1"))
			r.arriveFrom("c2", "13800138000", false)
			r.clk.Add(2 * time.Minute)
			return append(brief(r.do(r.d.Tick(r.ctx))), waitingBrief(r)...)
		}, []string{"c1 kept", "c2 waiting"}},
		{"another number past max_wait is kept", maxWait, func(r *rig) []string {
			r.arriveFrom("c1", "13800138000", false)
			r.clk.Add(2 * time.Minute)
			return append(brief(r.do(r.d.Tick(r.ctx))), waitingBrief(r)...)
		}, []string{"overflow c1 callback", "c1 kept"}},
		{"kept places count in max_length", full, func(r *rig) []string {
			r.arriveFrom("c1", "13800138001", false)
			r.do(r.d.RequestCallback(r.ctx, "c1"))
			r.arriveFrom("c2", "13800138002", false)
			return brief(r.arriveFrom("c3", "13800138003", false))
		}, []string{"overflow c3 ", "finished c3 overflow"}},
		{"a full queue refuses a caller who cannot be called back", full, func(r *rig) []string {
			r.arriveFrom("c1", "13800138001", false)
			r.arriveFrom("c2", "13800138002", false)
			return brief(r.arriveFrom("c3", "anonymous", true))
		}, []string{"overflow c3 ", "finished c3 overflow"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, oneQueue(tt.q), agent("1001", "general", 5))
			got := tt.run(r)
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %q, want %q", got, tt.want)
				}
			}
		})
	}
}

func errName(err error) string {
	switch {
	case errors.Is(err, ErrNoCallback):
		return "no callback"
	case errors.Is(err, ErrCallbackKept):
		return "already kept"
	case err == nil:
		return "ok"
	}
	return err.Error()
}

// waitingBrief lists the general queue: "ID kept" or "ID waiting".
func waitingBrief(r *rig) []string {
	var out []string
	for _, c := range r.d.Queues()[0].Calls {
		s := c.CallID + " waiting"
		if c.Callback {
			s = c.CallID + " kept"
		}
		out = append(out, s)
	}
	return out
}

// TestCallbackExpiry: a kept place older than the queue's expiry is given
// up (callback_expired), unless its callback is under way; the store's
// mirror of the queue loses it.
func TestCallbackExpiry(t *testing.T) {
	r := newRig(t, oneQueue(queue.Config{Name: "general", Callback: true, CallbackExpiry: time.Hour}), agent("1001", "general", 5))
	r.arriveFrom("c1", "13800138001", false)
	r.do(r.d.RequestCallback(r.ctx, "c1"))
	r.clk.Add(30 * time.Minute)
	r.arriveFrom("c2", "13800138002", false)
	r.do(r.d.RequestCallback(r.ctx, "c2"))
	r.clk.Add(30 * time.Minute)
	wantBrief(t, r.do(r.d.ExpireCallbacks(r.ctx, map[string]bool{"c1": true})))
	out := r.do(r.d.ExpireCallbacks(r.ctx, nil))
	wantBrief(t, out, "finished c1 callback_expired")
	if !out[0].Result.Callback || out[0].Result.Queue != "general" {
		t.Fatalf("result %+v", out[0].Result)
	}
	if es, _ := r.st.Entries(r.ctx, "general"); len(es) != 1 || es[0].CallID != "c2" {
		t.Fatalf("store entries %+v", es)
	}
	r.clk.Add(30 * time.Minute)
	wantBrief(t, r.do(r.d.ExpireCallbacks(r.ctx, nil)), "finished c2 callback_expired")
}

// TestRestoreCallback: a place kept before a restart comes back at its
// place (ahead of a caller who arrived after it), counts as kept for its
// number, and gets the next seat as a callback.
func TestRestoreCallback(t *testing.T) {
	r := newRig(t, oneQueue(queue.Config{Name: "general", Callback: true}), agent("1001", "general", 5))
	r.clk.Add(time.Minute)
	r.arriveFrom("c2", "13800138002", false)
	p := KeptPlace{CallID: "c1", Caller: "13800138001", Queue: "general", Arrived: t0, Kept: t0}
	wantBrief(t, r.do(r.d.RestoreCallback(r.ctx, p)))
	if got, ok := r.d.Kept("c1"); !ok || got != p {
		t.Fatalf("kept %+v, want %+v", got, p)
	}
	if _, ok := r.d.Kept("c2"); ok {
		t.Fatal("a line-holding call counts as kept")
	}
	if got := waitingBrief(r); len(got) != 2 || got[0] != "c1 kept" {
		t.Fatalf("queue %q", got)
	}
	if _, err := r.d.RestoreCallback(r.ctx, p); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("restored twice: %v", err)
	}
	p.CallID, p.Queue = "c9", "gone"
	if _, err := r.d.RestoreCallback(r.ctx, p); !errors.Is(err, ErrUnknownQueue) {
		t.Fatalf("restored into an unknown queue: %v", err)
	}
	r.arriveFrom("c3", "13800138001", false)
	if _, err := r.d.RequestCallback(r.ctx, "c3"); !errors.Is(err, ErrCallbackKept) {
		t.Fatalf("a restored place does not count for its number: %v", err)
	}
	r.do(r.d.Register(r.ctx, "1001", "sip:1001@127.0.0.1:5070", r.clk.Now().Add(time.Hour)))
	_, out, err := r.d.Command(r.ctx, "1001", Command{Kind: CmdLogin})
	wantBrief(t, r.do(out, err), "callback c1 1001")
}
