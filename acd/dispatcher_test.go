package acd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/queue"
	"github.com/hotline-cc/hotline/store"
)

func wantBrief(t *testing.T, got []Decision, want ...string) {
	t.Helper()
	if b := brief(got); !slices.Equal(b, want) {
		t.Fatalf("decisions %q, want %q", b, want)
	}
}

func general() queue.Config { return queue.Config{Name: "general", WrapUp: 30 * time.Second} }

func TestOfferAnswerWrapUp(t *testing.T) {
	r := newRig(t, oneQueue(general()), agent("1001", "general", 5))
	r.ready("1001")
	out := r.arrive("c1", "general", 0)
	wantBrief(t, out, "offer c1 1001")
	if out[0].Contact != "sip:1001@127.0.0.1:5070" {
		t.Fatalf("contact %q", out[0].Contact)
	}
	r.clk.Add(4 * time.Second)
	out = r.do(r.d.Answered(r.ctx, "c1", "1001"))
	wantBrief(t, out, "finished c1 answered")
	res := out[0].Result
	if res.Wait != 4*time.Second || !res.WithinServiceLevel || res.Agent != "1001" || !slices.Equal(res.Rung, []string{"1001"}) {
		t.Fatalf("result %+v", res)
	}
	if r.state("1001") != OnCall || r.status("1001").CallsToday != 1 {
		t.Fatalf("seat %+v", r.status("1001"))
	}
	r.clk.Add(2 * time.Minute)
	r.do(r.d.CallEnded(r.ctx, "c1", "1001"))
	if r.state("1001") != WrapUp {
		t.Fatalf("after the call: %s", r.state("1001"))
	}
	wantBrief(t, r.arrive("c2", "general", 0))
	r.clk.Add(29 * time.Second)
	wantBrief(t, r.do(r.d.Tick(r.ctx)))
	r.clk.Add(time.Second)
	wantBrief(t, r.do(r.d.Tick(r.ctx)), "offer c2 1001")
	if got := r.d.queues["general"].AverageHandle(); got != 150*time.Second {
		t.Fatalf("handle time %s, want talk 2m + wrap 30s", got)
	}
}

// TestSeatLost: a seat whose phone vanished mid-call (SeatLost) or did
// not respond to an offer (Unreachable) is logged out with reason
// unreachable and offered nothing more; registering again logs it in.
func TestSeatLost(t *testing.T) {
	r := newRig(t, oneQueue(general()), agent("1001", "general", 5), agent("1002", "general", 5))
	r.ready("1001")
	wantBrief(t, r.arrive("c1", "general", 0), "offer c1 1001")
	r.do(r.d.Answered(r.ctx, "c1", "1001"))
	r.do(r.d.SeatLost(r.ctx, "c1", "1001"))
	if s := r.status("1001"); r.state("1001") != LoggedOut || s.Reason != ReasonUnreachable {
		t.Fatalf("after its phone vanished: %s %q", r.state("1001"), s.Reason)
	}
	r.ready("1002")
	wantBrief(t, r.arrive("c2", "general", 0), "offer c2 1002")
	wantBrief(t, r.do(r.d.NotAnswered(r.ctx, "c2", "1002", Unreachable)))
	if s := r.status("1002"); r.state("1002") != LoggedOut || s.Reason != ReasonUnreachable {
		t.Fatalf("after its phone was silent: %s %q", r.state("1002"), s.Reason)
	}
}

func TestServiceLevelMissed(t *testing.T) {
	r := newRig(t, oneQueue(general()), agent("1001", "general", 5))
	r.arrive("c1", "general", 0)
	r.clk.Add(16 * time.Second)
	r.ready("1001")
	out := r.do(r.d.Answered(r.ctx, "c1", "1001"))
	if out[0].Result.WithinServiceLevel {
		t.Fatal("answered after 16 s counted within a 15 s service level")
	}
}

func TestNoAnswerGoesToNextSeatThenNotReady(t *testing.T) {
	cfg := oneQueue(general())
	cfg.MaxMisses = 2
	r := newRig(t, cfg, agent("1001", "general", 5), agent("1002", "general", 5))
	r.ready("1001", "1002")
	wantBrief(t, r.arrive("c1", "general", 0), "offer c1 1001")
	wantBrief(t, r.arrive("c2", "general", 0), "offer c2 1002")
	wantBrief(t, r.arrive("c3", "general", 0))
	// 1001 rings out: c1 goes back ahead of c3 and 1001 (ready again, one
	// miss) is not offered c1 again but takes c3.
	wantBrief(t, r.do(r.d.NotAnswered(r.ctx, "c1", "1001", NoAnswer)), "offer c3 1001")
	if s := r.status("1001"); s.Misses != 1 {
		t.Fatalf("misses %d", s.Misses)
	}
	// 1001 misses again: not ready (missed); c1 and c3 wait, c1 first.
	wantBrief(t, r.do(r.d.NotAnswered(r.ctx, "c3", "1001", Busy)))
	if s := r.status("1001"); r.state("1001") != NotReady || s.Reason != ReasonMissed {
		t.Fatalf("after two misses: %+v", s)
	}
	if got := r.d.Queues()[0].Calls; got[0].CallID != "c1" || got[1].CallID != "c3" {
		t.Fatalf("queue order %+v", got)
	}
	r.do(r.d.Answered(r.ctx, "c2", "1002"))
	out := r.do(r.d.CallEnded(r.ctx, "c2", "1002"))
	wantBrief(t, out)
	r.clk.Add(30 * time.Second)
	out = r.do(r.d.Tick(r.ctx))
	wantBrief(t, out, "offer c1 1002")
}

func TestUnreachableSeatIsLoggedOut(t *testing.T) {
	r := newRig(t, oneQueue(general()), agent("1001", "general", 5))
	r.ready("1001")
	r.arrive("c1", "general", 0)
	wantBrief(t, r.do(r.d.NotAnswered(r.ctx, "c1", "1001", Unreachable)))
	if r.state("1001") != LoggedOut {
		t.Fatalf("state %s", r.state("1001"))
	}
}

func TestCallerLeavesWhileRinging(t *testing.T) {
	cfg := oneQueue(queue.Config{Name: "general", Strategy: queue.RingAll})
	r := newRig(t, cfg, agent("1001", "general", 5), agent("1002", "general", 5))
	r.ready("1001", "1002")
	wantBrief(t, r.arrive("c1", "general", 0), "offer c1 1001", "offer c1 1002")
	r.clk.Add(3 * time.Second)
	out := r.do(r.d.Leave(r.ctx, "c1"))
	wantBrief(t, out, "cancel c1 1001", "cancel c1 1002", "finished c1 abandoned")
	if res := out[2].Result; res.Wait != 3*time.Second {
		t.Fatalf("abandoned wait %s", res.Wait)
	}
	for _, ext := range []string{"1001", "1002"} {
		if s := r.status(ext); state(s) != Ready || s.Misses != 0 {
			t.Fatalf("seat %s after the caller left: %+v", ext, s)
		}
	}
	if _, err := r.d.Leave(r.ctx, "c1"); !errors.Is(err, ErrUnknownCall) {
		t.Fatalf("second leave: %v", err)
	}
}

func TestRingAllFirstAnswerWins(t *testing.T) {
	cfg := oneQueue(queue.Config{Name: "general", Strategy: queue.RingAll})
	r := newRig(t, cfg, agent("1001", "general", 5), agent("1002", "general", 5), agent("1003", "general", 5))
	r.ready("1001", "1002", "1003")
	r.arrive("c1", "general", 0)
	wantBrief(t, r.do(r.d.Answered(r.ctx, "c1", "1002")), "cancel c1 1001", "cancel c1 1003", "finished c1 answered")
	if _, err := r.d.Answered(r.ctx, "c1", "1001"); !errors.Is(err, ErrUnknownCall) {
		t.Fatalf("late answer: %v", err)
	}
}

func TestPriorityThenArrival(t *testing.T) {
	r := newRig(t, oneQueue(general()), agent("1001", "general", 5))
	r.arrive("c1", "general", 0)
	r.clk.Add(time.Second)
	r.arrive("c2", "general", 5)
	r.clk.Add(time.Second)
	r.arrive("c3", "general", 0)
	r.clk.Add(time.Second)
	r.arrive("c4", "general", 5)
	var order []string
	r.ready("1001")
	for range 4 {
		cur := r.status("1001").CallID
		order = append(order, cur)
		r.do(r.d.Answered(r.ctx, cur, "1001"))
		r.do(r.d.CallEnded(r.ctx, cur, "1001"))
		r.clk.Add(30 * time.Second)
		r.do(r.d.Tick(r.ctx))
	}
	if !slices.Equal(order, []string{"c2", "c4", "c1", "c3"}) {
		t.Fatalf("served %v", order)
	}
}

func TestQueueFullOverflows(t *testing.T) {
	tests := []struct {
		name string
		dest queue.Destination
		want []string
	}{
		{"to a department", queue.Destination{Kind: queue.DestTarget, Target: "sip:12333@127.0.0.1:5092"}, []string{"overflow c2 targetsip:12333@127.0.0.1:5092", "finished c2 overflow"}},
		{"to a message", queue.Destination{Kind: queue.DestMessage, Message: "busy.wav"}, []string{"overflow c2 message", "finished c2 overflow"}},
		{"refused busy", queue.Destination{}, []string{"overflow c2 ", "finished c2 overflow"}},
		{"to another queue", queue.Destination{Kind: queue.DestQueue, Queue: "spare"}, []string{"overflow c2 queuespare"}},
		// kept places count in max_length: a full queue has no room for one
		{"to callback", queue.Destination{Kind: queue.DestCallback}, []string{"overflow c2 ", "finished c2 overflow"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := queue.Config{Name: "general", MaxLength: 1, OnFull: tt.dest, Callback: true}
			r := newRig(t, Config{Queues: []queue.Config{q, {Name: "spare"}}}, agent("1001", "general", 5))
			r.arrive("c1", "general", 0)
			wantBrief(t, r.arrive("c2", "general", 0), tt.want...)
		})
	}
}

func TestMaxWaitOverflowAndAnnouncements(t *testing.T) {
	q := queue.Config{Name: "general", MaxWait: 90 * time.Second, OnMaxWait: queue.Destination{Kind: queue.DestQueue, Queue: "spare"}, AnnounceEvery: 30 * time.Second, DefaultHandle: time.Minute}
	spare := queue.Config{Name: "spare", Skill: "spare"}
	r := newRig(t, Config{Queues: []queue.Config{q, spare}}, agent("1001", "general", 5), agent("1002", "spare", 5))
	r.ready("1001")
	r.arrive("c0", "general", 0)
	r.do(r.d.Answered(r.ctx, "c0", "1001"))
	wantBrief(t, r.arrive("c1", "general", 0), "announce c1 1 1m0s")
	r.clk.Add(10 * time.Second)
	wantBrief(t, r.arrive("c2", "general", 0), "announce c2 2 2m0s")
	r.clk.Add(20 * time.Second)
	wantBrief(t, r.do(r.d.Tick(r.ctx)), "announce c1 1 1m0s")
	r.clk.Add(60 * time.Second)
	r.ready("1002")
	wantBrief(t, r.do(r.d.Tick(r.ctx)), "overflow c1 queuespare", "offer c1 1002", "announce c2 1 1m0s")
}

func TestCallbackKeepsPlace(t *testing.T) {
	q := queue.Config{Name: "general", Callback: true, WrapUp: time.Minute}
	cfg := oneQueue(q)
	cfg.CallbackLead = 10 * time.Second
	r := newRig(t, cfg, agent("1001", "general", 5))
	r.ready("1001")
	r.arrive("c0", "general", 0)
	r.do(r.d.Answered(r.ctx, "c0", "1001"))
	r.arrive("c1", "general", 0)
	r.arrive("c2", "general", 0)
	wantBrief(t, r.do(r.d.RequestCallback(r.ctx, "c1")))
	r.do(r.d.CallEnded(r.ctx, "c0", "1001"))
	// The seat is in wrap-up; 10 s before its end it is reserved for the
	// callback, which is ahead of c2.
	r.clk.Add(49 * time.Second)
	wantBrief(t, r.do(r.d.Tick(r.ctx)))
	r.clk.Add(time.Second)
	out := r.do(r.d.Tick(r.ctx))
	wantBrief(t, out, "callback c1 1001")
	if out[0].Caller != "138c1" {
		t.Fatalf("callback number %q", out[0].Caller)
	}
	// The seat misses the callback: the next caller gets it, the callback
	// keeps its place and comes back to the seat at the end of that call.
	wantBrief(t, r.do(r.d.NotAnswered(r.ctx, "c1", "1001", NoAnswer)), "offer c2 1001")
	r.do(r.d.Answered(r.ctx, "c2", "1001"))
	r.do(r.d.CallEnded(r.ctx, "c2", "1001"))
	r.clk.Add(50 * time.Second)
	out = r.do(r.d.Tick(r.ctx))
	wantBrief(t, out, "callback c1 1001")
	out = r.do(r.d.Answered(r.ctx, "c1", "1001"))
	wantBrief(t, out, "finished c1 answered")
	if !out[0].Result.Callback {
		t.Fatal("result does not say callback")
	}
}

func TestCallbackNotReached(t *testing.T) {
	r := newRig(t, oneQueue(queue.Config{Name: "general", Callback: true}), agent("1001", "general", 5))
	r.arrive("c1", "general", 0)
	r.do(r.d.RequestCallback(r.ctx, "c1"))
	r.ready("1001")
	wantBrief(t, r.do(r.d.Leave(r.ctx, "c1")), "cancel c1 1001", "finished c1 callback_failed")
	if r.state("1001") != Ready {
		t.Fatalf("seat %s", r.state("1001"))
	}
}

// TestCallbackRetried: a caller who did not answer their callback keeps
// their place, but no seat is reserved for them until the retry is due;
// meanwhile the seat serves the callers behind them.
func TestCallbackRetried(t *testing.T) {
	r := newRig(t, oneQueue(queue.Config{Name: "general", Callback: true}), agent("1001", "general", 5))
	r.arrive("c1", "general", 0)
	r.do(r.d.RequestCallback(r.ctx, "c1"))
	r.ready("1001")
	wantBrief(t, r.do(r.d.RetryCallback(r.ctx, "c1", 2*time.Minute)), "cancel c1 1001")
	if r.state("1001") != Ready {
		t.Fatalf("seat %s", r.state("1001"))
	}
	wantBrief(t, r.arrive("c2", "general", 0), "offer c2 1001")
	r.do(r.d.Answered(r.ctx, "c2", "1001"))
	wantBrief(t, r.do(r.d.CallEnded(r.ctx, "c2", "1001")))
	r.clk.Add(time.Minute)
	wantBrief(t, r.do(r.d.Tick(r.ctx)))
	if qs := r.d.Queues(); qs[0].Waiting != 1 || !qs[0].Calls[0].Callback {
		t.Fatalf("c1's place: %+v", qs[0])
	}
	r.clk.Add(time.Minute)
	wantBrief(t, r.do(r.d.Tick(r.ctx)), "callback c1 1001")
	if _, err := r.d.RetryCallback(r.ctx, "c2", time.Minute); !errors.Is(err, ErrUnknownCall) {
		t.Fatalf("retry of an answered call: %v", err)
	}
	wantBrief(t, r.do(r.d.Leave(r.ctx, "c1")), "cancel c1 1001", "finished c1 callback_failed")
}

func TestCallbackRefused(t *testing.T) {
	r := newRig(t, oneQueue(general()), agent("1001", "general", 5))
	r.arrive("c1", "general", 0)
	if _, err := r.d.RequestCallback(r.ctx, "c1"); !errors.Is(err, ErrNoCallback) {
		t.Fatalf("err %v", err)
	}
}

func TestPendingNotReadyAfterCall(t *testing.T) {
	r := newRig(t, oneQueue(general()), agent("1001", "general", 5))
	r.ready("1001")
	r.arrive("c1", "general", 0)
	r.do(r.d.Answered(r.ctx, "c1", "1001"))
	s, _, err := r.d.Command(r.ctx, "1001", Command{Kind: CmdNotReady, Reason: ReasonMeal})
	if err != nil || state(s) != OnCall {
		t.Fatalf("command on a call: %v %s", err, s.State)
	}
	r.do(r.d.CallEnded(r.ctx, "c1", "1001"))
	r.clk.Add(30 * time.Second)
	r.do(r.d.Tick(r.ctx))
	if s := r.status("1001"); state(s) != NotReady || s.Reason != ReasonMeal {
		t.Fatalf("after wrap-up %+v", s)
	}
}

func TestRegistrationRules(t *testing.T) {
	cfg := oneQueue(general())
	cfg.AutoLogin = true
	r := newRig(t, cfg, agent("1001", "general", 5), agent("1002", "general", 5))
	r.arrive("c1", "general", 0)
	out := r.do(r.d.Register(r.ctx, "1001", "sip:1001@127.0.0.1:5070", t0.Add(time.Minute)))
	wantBrief(t, out, "offer c1 1001")
	r.do(r.d.NotAnswered(r.ctx, "c1", "1001", NoAnswer))
	r.do(r.d.Register(r.ctx, "1002", "sip:1002@127.0.0.1:5070", t0.Add(time.Hour)))
	r.do(r.d.Answered(r.ctx, "c1", "1002"))
	if err := r.d.Unregister(r.ctx, "1002"); err != nil {
		t.Fatal(err)
	}
	if r.state("1002") != OnCall {
		t.Fatal("unregistering dropped a seat's call")
	}
	r.clk.Add(time.Minute)
	r.do(r.d.Tick(r.ctx))
	if r.state("1001") != LoggedOut {
		t.Fatalf("expired registration: %s", r.state("1001"))
	}
	r.do(r.d.CallEnded(r.ctx, "c1", "1002"))
	r.clk.Add(30 * time.Second)
	r.do(r.d.Tick(r.ctx))
	if r.state("1002") != LoggedOut {
		t.Fatalf("unregistered seat after its call: %s", r.state("1002"))
	}
}

func TestStaleOfferOfAnotherNodeIsFreed(t *testing.T) {
	r := newRig(t, oneQueue(general()), agent("1001", "general", 5))
	r.ready("1001")
	s := r.status("1001")
	if _, err := r.st.SwapStatus(r.ctx, "1001", s.Version, claim(s, "x9", "general", "n2", t0)); err != nil {
		t.Fatal(err)
	}
	r.clk.Add(DefaultStaleOffer - time.Second)
	r.do(r.d.Tick(r.ctx))
	if r.state("1001") != Ringing {
		t.Fatal("freed too early")
	}
	r.clk.Add(time.Second)
	r.do(r.d.Tick(r.ctx))
	if r.state("1001") != Ready {
		t.Fatalf("stale offer kept: %s", r.state("1001"))
	}
}

// flaky is a memory store whose claims (after the first okClaims) or
// entry deletes can be made to fail as an unreachable Redis would.
type flaky struct {
	*store.Memory
	failClaim, failDelete bool
	okClaims              int
}

func (f *flaky) SwapStatus(ctx context.Context, ext string, version int64, s store.Status) (int64, error) {
	if err := f.claimFails(); err != nil {
		return 0, err
	}
	return f.Memory.SwapStatus(ctx, ext, version, s)
}

func (f *flaky) Claim(ctx context.Context, ext string, version int64, s store.Status, queue, callID string) (int64, error) {
	if err := f.claimFails(); err != nil {
		return 0, err
	}
	return f.Memory.Claim(ctx, ext, version, s, queue, callID)
}

func (f *flaky) claimFails() error {
	if !f.failClaim {
		return nil
	}
	if f.okClaims > 0 {
		f.okClaims--
		return nil
	}
	return store.ErrUnavailable
}

func (f *flaky) DeleteEntry(ctx context.Context, queue, callID string) error {
	if f.failDelete {
		return store.ErrUnavailable
	}
	return f.Memory.DeleteEntry(ctx, queue, callID)
}

// TestStoreFailsAfterAClaim: when the store fails once a seat is already
// claimed for a call, the call is still offered to that seat (and the error
// reported), rather than left out of its queue with no offer.
func TestStoreFailsAfterAClaim(t *testing.T) {
	ringAll := general()
	ringAll.Strategy = RingAllStrategy
	tests := []struct {
		name  string
		q     queue.Config
		plain bool // a store without store.Seats
		fail  func(*flaky)
	}{
		// The call waits (its entry in the store) until 1002 is ready.
		{"entry delete fails", general(), true, func(f *flaky) { f.failDelete = true }},
		{"second ring-all claim fails", ringAll, false, func(f *flaky) { f.failClaim, f.okClaims = true, 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &flaky{Memory: store.NewMemory()}
			var st store.Store = f
			if tt.plain {
				st = struct{ store.Store }{f}
			}
			r := newRigStore(t, st, oneQueue(tt.q), agent("1001", "general", 5), agent("1002", "general", 5))
			var out []Decision
			var err error
			if tt.plain {
				r.ready("1001")
				r.arrive("c0", "general", 0)
				r.arrive("c1", "general", 0)
				tt.fail(f)
				_, _ = r.d.Register(r.ctx, "1002", "sip:1002@127.0.0.1", r.clk.Now().Add(time.Hour))
				_, out, err = r.d.Command(r.ctx, "1002", Command{Kind: CmdLogin})
			} else {
				r.ready("1001", "1002")
				tt.fail(f)
				out, err = r.d.Arrive(r.ctx, Arrival{CallID: "c1", Queue: "general"})
			}
			if !errors.Is(err, store.ErrUnavailable) || len(out) != 1 || out[0].Kind != Offer || out[0].CallID != "c1" {
				t.Fatalf("offer: %v %v", brief(out), err)
			}
			if _, waiting := r.d.queues["general"].Get("c1"); waiting {
				t.Fatal("c1 offered and still queued")
			}
			f.failClaim, f.failDelete = false, false
			out = r.do(r.d.Answered(r.ctx, "c1", out[0].Agent))
			if len(out) != 1 || out[0].Kind != Finished {
				t.Fatalf("answered: %v", brief(out))
			}
		})
	}
}

func TestErrors(t *testing.T) {
	r := newRig(t, oneQueue(general()), agent("1001", "general", 5))
	if _, err := r.d.Arrive(r.ctx, Arrival{CallID: "c1", Queue: "nope"}); !errors.Is(err, ErrUnknownQueue) {
		t.Fatalf("unknown queue: %v", err)
	}
	r.arrive("c1", "general", 0)
	if _, err := r.d.Arrive(r.ctx, Arrival{CallID: "c1", Queue: "general"}); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := r.d.Answered(r.ctx, "c1", "1001"); !errors.Is(err, ErrNotOffered) {
		t.Fatalf("answer without offer: %v", err)
	}
	if _, _, err := r.d.Command(r.ctx, "9999", Command{Kind: CmdLogin}); err == nil {
		t.Fatal("unknown agent accepted")
	}
	if _, err := New(Config{}, Options{}); !errors.Is(err, ErrConfig) {
		t.Fatalf("no store: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no queues", Config{}, "no queue configured"},
		{"duplicate feature codes", Config{Features: FeatureCodes{Login: "*1", Logout: "*1", NotReady: "*3", Ready: "*4"}, Queues: []queue.Config{{Name: "a"}}}, `feature codes login and logout are both "*1"`},
		{"bad strategy", oneQueue(queue.Config{Name: "a", Strategy: "random"}), `unknown strategy "random"`},
		{"overflow loop", Config{Queues: []queue.Config{
			{Name: "a", MaxLength: 1, OnFull: queue.Destination{Kind: queue.DestQueue, Queue: "b"}},
			{Name: "b", MaxWait: time.Minute, OnMaxWait: queue.Destination{Kind: queue.DestQueue, Queue: "a"}},
		}}, "loop back"},
		{"unknown overflow queue", oneQueue(queue.Config{Name: "a", MaxLength: 1, OnFull: queue.Destination{Kind: queue.DestQueue, Queue: "zz"}}), `unknown queue "zz"`},
		{"callback overflow without callback", oneQueue(queue.Config{Name: "a", MaxLength: 1, OnFull: queue.Destination{Kind: queue.DestCallback}}), "callback is off"},
		{"escalation must grow", oneQueue(queue.Config{Name: "a", Escalation: []queue.Step{{After: time.Minute}, {After: time.Second}}}), "must grow"},
		{"level out of range", oneQueue(queue.Config{Name: "a", MinLevel: 11}), "not in 1..10"},
		{"target without target", oneQueue(queue.Config{Name: "a", MaxWait: time.Minute, OnMaxWait: queue.Destination{Kind: queue.DestTarget}}), "needs a target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := tt.cfg.WithDefaults().Validate()
			joined := errors.Join(errs...)
			if joined == nil || !strings.Contains(joined.Error(), tt.want) {
				t.Fatalf("errors %v, want %q", joined, tt.want)
			}
		})
	}
	if errs := oneQueue(general()).WithDefaults().Validate(); len(errs) > 0 {
		t.Fatalf("good config refused: %v", errs)
	}
	if errs := ValidateAgents([]Agent{agent("1001", "general", 11), agent("1001")}); len(errs) != 2 {
		t.Fatalf("agent errors %v", errs)
	}
}

// TestDayFollowsTheClock: the cached day name changes at local midnight,
// across a DST change, and when the clock goes back.
func TestDayFollowsTheClock(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip(err)
	}
	r := newRig(t, oneQueue(general()))
	r.d.loc = paris
	tests := []struct {
		at   time.Time
		want string
	}{
		{time.Date(2025, 3, 29, 12, 0, 0, 0, paris), "2025-03-29"},
		{time.Date(2025, 3, 29, 23, 59, 59, 0, paris), "2025-03-29"},
		{time.Date(2025, 3, 30, 0, 0, 0, 0, paris), "2025-03-30"}, // the night clocks go forward
		{time.Date(2025, 3, 30, 23, 59, 0, 0, paris), "2025-03-30"},
		{time.Date(2025, 3, 30, 22, 30, 0, 0, time.UTC), "2025-03-31"},
		{time.Date(2025, 3, 29, 8, 0, 0, 0, paris), "2025-03-29"}, // the clock went back
	}
	for _, tt := range tests {
		if got := r.d.dayLocked(tt.at); got != tt.want {
			t.Errorf("%s: day %s, want %s", tt.at, got, tt.want)
		}
	}
}

// TestDecisionsStayTheCallers: result slices share blocks (resultLocked),
// yet one returned earlier never changes, even when its caller appends to
// it, and callers on other goroutines may read theirs while the dispatcher
// works on (run with -race).
func TestDecisionsStayTheCallers(t *testing.T) {
	var seats []Agent
	for i := range 4 {
		seats = append(seats, agent(fmt.Sprint(1001+i), "general", 5))
	}
	r := newRig(t, oneQueue(queue.Config{Name: "general"}), seats...)
	r.ready("1001", "1002", "1003", "1004")
	type kept struct{ got, want []Decision }
	var mu sync.Mutex
	var all []kept
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 300 { // more than decisionBlock results in all
				id := fmt.Sprintf("g%d-%d", g, i)
				out, err := r.d.Arrive(r.ctx, Arrival{CallID: id, Queue: "general"})
				if err != nil {
					t.Error(err)
					return
				}
				for _, d := range out {
					if d.Kind != Offer {
						continue
					}
					more, err := r.d.Answered(r.ctx, d.CallID, d.Agent)
					if err == nil {
						more, err = r.d.CallEnded(r.ctx, d.CallID, d.Agent)
					}
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					all = append(all, kept{more, slices.Clone(more)})
					mu.Unlock()
					_ = append(more, Decision{Kind: Cancel, CallID: "scribble"})
				}
				mu.Lock()
				all = append(all, kept{out, slices.Clone(out)})
				mu.Unlock()
				_ = append(out, Decision{Kind: Cancel, CallID: "scribble"})
			}
		})
	}
	wg.Wait()
	for _, k := range all {
		if !slices.Equal(brief(k.got), brief(k.want)) {
			t.Fatalf("a returned result changed: %v, was %v", brief(k.got), brief(k.want))
		}
	}
}

// TestBusyElsewhereSkipped: a seat on an internal call (Options.Busy) is not
// offered queue calls; once it is free again, Dispatch offers it the
// waiting call. OnQueueCall tells an internal caller the seat is taken.
func TestBusyElsewhereSkipped(t *testing.T) {
	r := newRig(t, oneQueue(general()), agent("1001", "general", 5), agent("1002", "general", 5))
	internal := map[string]bool{"1001": true}
	r.d.busy = func(ext string) bool { return internal[ext] }
	r.ready("1001", "1002")
	wantBrief(t, r.arrive("c1", "general", 0), "offer c1 1002")
	wantBrief(t, r.arrive("c2", "general", 0))
	if on, err := r.d.OnQueueCall(r.ctx, "1002"); err != nil || !on {
		t.Fatalf("1002 ringing for c1: on queue call %v, %v", on, err)
	}
	if on, err := r.d.OnQueueCall(r.ctx, "1001"); err != nil || on {
		t.Fatalf("1001 on no queue call: %v, %v", on, err)
	}
	wantBrief(t, r.do(r.d.Dispatch(r.ctx)))
	internal["1001"] = false
	wantBrief(t, r.do(r.d.Dispatch(r.ctx)), "offer c2 1001")
}

// TestConcurrentAnswersAndEnds: Answered and CallEnded swap their seat
// outside the dispatcher's lock. Run from many goroutines at once (as the
// engine's call goroutines do) while waiting callers leave, every seat ends
// where it should: the five callers still waiting hold one ringing seat
// each and every other seat is ready.
func TestConcurrentAnswersAndEnds(t *testing.T) {
	const seats = 20
	var agents []Agent
	var exts []string
	for i := range seats {
		ext := fmt.Sprint(3000 + i)
		agents = append(agents, agent(ext, "general", 5))
		exts = append(exts, ext)
	}
	r := newRig(t, oneQueue(queue.Config{Name: "general"}), agents...)
	r.ready(exts...)
	offers := map[string]string{}
	for i := range seats {
		for _, d := range r.arrive(fmt.Sprint("c", i), "general", 0) {
			offers[d.CallID] = d.Agent
		}
	}
	for i := range 10 {
		wantBrief(t, r.arrive(fmt.Sprint("w", i), "general", 0))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var later []Decision
	keep := func(ds []Decision, err error) {
		if err != nil && !errors.Is(err, ErrUnknownCall) {
			t.Error(err)
		}
		mu.Lock()
		later = append(later, ds...)
		mu.Unlock()
	}
	for call, seat := range offers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keep(r.d.Answered(r.ctx, call, seat))
			keep(r.d.CallEnded(r.ctx, call, seat))
		}()
	}
	for i := 0; i < 10; i += 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keep(r.d.Leave(r.ctx, fmt.Sprint("w", i)))
		}()
	}
	wg.Wait()
	// The goroutines' decisions interleave in any order; the store says
	// where each seat is.
	waiting := map[string]bool{}
	for _, ext := range exts {
		s, err := r.st.Status(r.ctx, ext)
		if err != nil {
			t.Fatal(err)
		}
		switch st := state(s); {
		case st == Ringing && strings.HasPrefix(s.CallID, "w") && s.CallID[1]%2 == 1 && !waiting[s.CallID]:
			waiting[s.CallID] = true
		case st != Ready:
			t.Errorf("seat %s %s for %q", ext, st, s.CallID)
		}
	}
	if len(waiting) != 5 {
		t.Fatalf("%d callers left waiting hold a seat, want 5: %v (decisions %v)", len(waiting), waiting, brief(later))
	}
}

// gated is a memory store whose next claim waits, once armed, until the
// test lets it go (a Redis round trip that takes its time).
type gated struct {
	*store.Memory
	armed   atomic.Bool
	entered chan string   // the seat of the claim that waits
	release chan struct{} // closed to let it go
}

func (g *gated) Claim(ctx context.Context, ext string, version int64, s store.Status, queue, callID string) (int64, error) {
	if g.armed.CompareAndSwap(true, false) {
		g.entered <- ext
		<-g.release
	}
	return g.Memory.Claim(ctx, ext, version, s, queue, callID)
}

// TestClaimOutsideTheLock: a seat is claimed without the dispatcher's lock
// held. While one call's claim is under way, other calls are served (not by
// the seat being claimed), and the caller may hang up: the seat it won
// meanwhile is freed again and offered to the next caller.
func TestClaimOutsideTheLock(t *testing.T) {
	g := &gated{Memory: store.NewMemory(), entered: make(chan string, 1), release: make(chan struct{})}
	r := newRigStore(t, g, oneQueue(general()), agent("1001", "general", 5), agent("1002", "general", 5))
	r.ready("1001", "1002")
	g.armed.Store(true)
	type result struct {
		out []Decision
		err error
	}
	first := make(chan result, 1)
	go func() {
		out, err := r.d.Arrive(r.ctx, Arrival{CallID: "c1", Queue: "general"})
		first <- result{out, err}
	}()
	claimed := <-g.entered
	other := map[string]string{"1001": "1002", "1002": "1001"}[claimed]
	wantBrief(t, r.arrive("c2", "general", 0), "offer c2 "+other)
	wantBrief(t, r.arrive("c3", "general", 0))
	if qs := r.d.Queues(); qs[0].Waiting != 1 || qs[0].Offered != 2 {
		t.Fatalf("while c1's seat is claimed: %+v", qs[0])
	}
	wantBrief(t, r.do(r.d.Leave(r.ctx, "c1")), "finished c1 abandoned")
	close(g.release)
	res := <-first
	if res.err != nil {
		t.Fatal(res.err)
	}
	wantBrief(t, res.out, "offer c3 "+claimed)
	if s, _ := r.st.Status(r.ctx, claimed); s.CallID != "c3" || state(s) != Ringing {
		t.Fatalf("seat %s after c1 left: %+v", claimed, s)
	}
	if es, _ := r.st.Entries(r.ctx, "general"); len(es) != 0 {
		t.Fatalf("entries left: %+v", es)
	}
}

// TestReloadNewQueueSkill: a queue added by a reload, needing a skill no
// queue needed before, is served by the seats with that skill (the view's
// table of skills follows the configuration), and a profile reloaded with a
// new skill is offered its calls.
func TestReloadNewQueueSkill(t *testing.T) {
	r := newRig(t, oneQueue(general()), agent("1001", "general", 5), agent("1002", "general", 5, "environment", 3))
	r.ready("1001", "1002")
	cfg := oneQueue(general())
	cfg.Queues = append(cfg.Queues, queue.Config{Name: "environment"})
	if err := r.d.Configure(cfg); err != nil {
		t.Fatal(err)
	}
	wantBrief(t, r.arrive("c1", "environment", 0), "offer c1 1002")
	wantBrief(t, r.arrive("c2", "environment", 0))
	if err := r.d.SetAgents(r.ctx, []Agent{agent("1001", "general", 5, "environment", 7), agent("1002", "general", 5, "environment", 3)}); err != nil {
		t.Fatal(err)
	}
	wantBrief(t, r.do(r.d.Dispatch(r.ctx)), "offer c2 1001")
}
