package acd

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/queue"
)

// TestReserveOutbound: an outbound call takes a ready seat at once (the
// one named, or the queue's best) or is refused; it never waits. A seat
// reserved rings for it, answering puts it on the call, the end wraps it
// up; a seat that did not answer is released.
func TestReserveOutbound(t *testing.T) {
	cfg := Config{Queues: []queue.Config{general(), {Name: "tax", Skill: "tax", WrapUp: 5 * time.Second}}}
	seats := []Agent{agent("1001", "general", 5), agent("1002", "general", 9), agent("1003", "tax", 5)}
	tests := []struct {
		name string
		run  func(r *rig) []string
		want []string
	}{
		{"a named ready seat rings, answers, wraps up", func(r *rig) []string {
			d, err := r.d.Reserve(r.ctx, Reservation{CallID: "o1", Caller: "13800138000", Agent: "1001"})
			out := []string{errOf(err), fmt.Sprintf("%s %s %s %s", d.Kind, d.Agent, d.Queue, r.state("1001"))}
			out = append(out, brief(r.do(r.d.Answered(r.ctx, "o1", "1001")))...)
			out = append(out, string(r.state("1001")))
			r.do(r.d.CallEnded(r.ctx, "o1", "1001"))
			return append(out, string(r.state("1001")))
		}, []string{"ok", "callback 1001 general ringing", "finished o1 answered", "on_call", "wrap_up"}},
		{"a named seat takes its first queue", func(r *rig) []string {
			d, err := r.d.Reserve(r.ctx, Reservation{CallID: "o1", Agent: "1003"})
			return []string{errOf(err), d.Queue}
		}, []string{"ok", "tax"}},
		{"the queue's best seat (longest idle)", func(r *rig) []string {
			d, err := r.d.Reserve(r.ctx, Reservation{CallID: "o1", Queue: "general"})
			return []string{errOf(err), d.Agent}
		}, []string{"ok", "1001"}},
		{"a named seat not ready", func(r *rig) []string {
			_, _, err := r.d.Command(r.ctx, "1001", Command{Kind: CmdNotReady})
			r.do(nil, err)
			_, err = r.d.Reserve(r.ctx, Reservation{CallID: "o1", Agent: "1001"})
			return []string{errOf(err), fmt.Sprint(len(r.d.Queues()[0].Calls))}
		}, []string{"no seat", "0"}},
		{"a seat already ringing", func(r *rig) []string {
			r.reserve(r.d.Reserve(r.ctx, Reservation{CallID: "o1", Agent: "1001"}))
			_, err := r.d.Reserve(r.ctx, Reservation{CallID: "o2", Agent: "1001"})
			return []string{errOf(err)}
		}, []string{"no seat"}},
		{"no seat of the queue ready: refused, not queued", func(r *rig) []string {
			r.reserve(r.d.Reserve(r.ctx, Reservation{CallID: "o1", Queue: "tax"}))
			_, err := r.d.Reserve(r.ctx, Reservation{CallID: "o2", Queue: "tax"})
			return []string{errOf(err), fmt.Sprint(len(r.d.Queues()[1].Calls))}
		}, []string{"no seat", "0"}},
		{"unknown agent and queue", func(r *rig) []string {
			_, e1 := r.d.Reserve(r.ctx, Reservation{CallID: "o1", Agent: "1999"})
			_, e2 := r.d.Reserve(r.ctx, Reservation{CallID: "o2", Queue: "nowhere"})
			return []string{errOf(e1), errOf(e2)}
		}, []string{"unknown agent", "unknown queue"}},
		{"the seat did not answer: released, no miss", func(r *rig) []string {
			r.reserve(r.d.Reserve(r.ctx, Reservation{CallID: "o1", Agent: "1002"}))
			out := brief(r.do(r.d.Leave(r.ctx, "o1")))
			return append(out, string(r.state("1002")), fmt.Sprint(r.status("1002").Misses))
		}, []string{"cancel o1 1002", "finished o1 abandoned", "ready", "0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, cfg, seats...)
			r.ready("1001", "1002", "1003")
			r.clk.Add(time.Second)
			if got := tt.run(r); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func errOf(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrNoSeat):
		return "no seat"
	case errors.Is(err, ErrUnknownAgent):
		return "unknown agent"
	case errors.Is(err, ErrUnknownQueue):
		return "unknown queue"
	}
	return err.Error()
}

// reserve fails the test unless the reservation was made.
func (r *rig) reserve(_ Decision, err error) {
	r.t.Helper()
	r.do(nil, err)
}
