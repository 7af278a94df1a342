package acd

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/queue"
	"github.com/hotline-cc/hotline/store"
)

// sim is a model engine driving a dispatcher with random events and
// checking invariants after each.
type sim struct {
	*rig
	rnd      *rand.Rand
	agents   []string
	queues   []string
	next     int
	live     map[string]*simCall // calls the ACD has not finished
	outcomes map[string]int      // call -> Finished count
	bridged  map[string]string   // call -> seat, talking (after Finished answered)
	log      []string
	prefix   string         // call ids
	peers    []*sim         // other nodes sharing the store
	kinds    map[string]int // decisions and outcomes seen, for the log
}

type simCall struct {
	ringing  []string
	rangAt   map[string]time.Time // seat -> when it started ringing
	callback bool                 // the caller hung up and waits for a callback
}

func newSim(t testing.TB, st store.Store, seed uint64, nAgents int) *sim {
	strategies := []queue.Strategy{queue.LongestIdle, queue.FewestCalls, queue.RoundRobin, queue.SkillLevel, queue.RingAll}
	skills := []string{"general", "social", "market"}
	cfg := Config{MaxMisses: 2}
	rnd := rand.New(rand.NewPCG(seed, 1))
	for i, sk := range skills {
		q := queue.Config{
			Name: sk, Strategy: strategies[(int(seed)+i)%len(strategies)], WrapUp: time.Duration(rnd.IntN(3)) * 5 * time.Second,
			MaxLength: 15, OnFull: queue.Destination{Kind: queue.DestMessage, Message: "busy.wav"},
			MaxWait: 3 * time.Minute, Callback: true, AnnounceEvery: 45 * time.Second,
			Escalation: []queue.Step{{After: 40 * time.Second, Skills: []string{skills[(i+1)%3]}}},
		}
		if i == 0 {
			q.OnMaxWait = queue.Destination{Kind: queue.DestCallback}
		} else {
			q.OnMaxWait = queue.Destination{Kind: queue.DestQueue, Queue: "general"}
			q.OnFull = queue.Destination{Kind: queue.DestCallback}
		}
		cfg.Queues = append(cfg.Queues, q)
	}
	var agents []Agent
	var exts []string
	for i := range nAgents {
		ext := fmt.Sprint(1001 + i)
		a := agent(ext)
		for _, sk := range skills {
			if rnd.IntN(2) == 0 {
				a.Skills[sk] = 1 + rnd.IntN(10)
			}
		}
		agents = append(agents, a)
		exts = append(exts, ext)
	}
	s := &sim{
		rig: newRigStore(t, st, cfg, agents...), rnd: rnd, agents: exts, queues: skills,
		kinds: map[string]int{}, live: map[string]*simCall{}, outcomes: map[string]int{}, bridged: map[string]string{},
	}
	for _, ext := range exts {
		if rnd.IntN(4) > 0 {
			s.ready(ext)
		}
	}
	return s
}

// apply carries out decisions as an engine would.
func (s *sim) apply(out []Decision, err error) {
	s.t.Helper()
	if err != nil {
		s.fail("unexpected error: %v", err)
	}
	for _, d := range out {
		s.log = append(s.log, fmt.Sprintf("  -> %s %s %s", d.Kind, d.CallID, d.Agent))
		c := s.live[d.CallID]
		s.kinds[d.Kind.String()]++
		if d.Kind == Finished {
			s.kinds[string(d.Result.Outcome)]++
		}
		switch d.Kind {
		case Offer, Callback:
			if c == nil || slices.Contains(c.ringing, d.Agent) {
				s.fail("offer of %s to %s for a call not live or already ringing it", d.CallID, d.Agent)
			}
			if (d.Kind == Callback) != c.callback {
				s.fail("%s for %s whose callback is %v", d.Kind, d.CallID, c.callback)
			}
			c.ringing = append(c.ringing, d.Agent)
			c.rangAt[d.Agent] = s.clk.Now()
		case Cancel:
			i := slices.Index(c.ringing, d.Agent)
			if i < 0 {
				s.fail("cancel of %s at %s that does not ring", d.CallID, d.Agent)
			}
			c.ringing = slices.Delete(c.ringing, i, i+1)
		case Overflow:
			if d.Dest.Kind == queue.DestCallback {
				c.callback = true
			}
		case Finished:
			s.outcomes[d.CallID]++
			if d.Result.Outcome == Answered {
				s.bridged[d.CallID] = d.Agent
			}
			delete(s.live, d.CallID)
		}
	}
}

func (s *sim) fail(format string, a ...any) {
	s.t.Helper()
	tail := s.log[max(0, len(s.log)-40):]
	s.t.Fatalf(format+"\nlast events:\n%s", append(a, joinLines(tail))...)
}

func joinLines(ls []string) string {
	out := ""
	for _, l := range ls {
		out += l + "\n"
	}
	return out
}

// pickCall returns a random live call for which ok holds.
func (s *sim) pickCall(ok func(*simCall) bool) (string, *simCall) {
	var ids []string
	for id, c := range s.live {
		if ok(c) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return "", nil
	}
	slices.Sort(ids)
	id := ids[s.rnd.IntN(len(ids))]
	return id, s.live[id]
}

func (s *sim) step() {
	ctx := s.ctx
	switch n := s.rnd.IntN(100); {
	case n < 15:
		s.next++
		id := fmt.Sprintf("%sc%d", s.prefix, s.next)
		s.live[id] = &simCall{rangAt: map[string]time.Time{}}
		s.log = append(s.log, "arrive "+id)
		s.apply(s.d.Arrive(ctx, Arrival{CallID: id, Queue: s.queues[s.rnd.IntN(3)], Priority: s.rnd.IntN(3)}))
	case n < 20:
		if id, c := s.pickCall(func(c *simCall) bool { return !c.callback || len(c.ringing) > 0 }); id != "" {
			if c.callback && s.rnd.IntN(2) == 0 { // the caller missed the callback: again later
				after := time.Duration(s.rnd.IntN(20)) * time.Second
				s.log = append(s.log, fmt.Sprintf("retry %s after %v", id, after))
				s.apply(s.d.RetryCallback(ctx, id, after))
				return
			}
			s.log = append(s.log, "leave "+id)
			s.apply(s.d.Leave(ctx, id))
		}
	case n < 40:
		if id, c := s.pickCall(func(c *simCall) bool { return len(c.ringing) > 0 }); id != "" {
			ext := c.ringing[s.rnd.IntN(len(c.ringing))]
			s.log = append(s.log, "answer "+id+" "+ext)
			s.apply(s.d.Answered(ctx, id, ext))
		}
	case n < 48:
		if id, c := s.pickCall(func(c *simCall) bool { return len(c.ringing) > 0 }); id != "" {
			ext := c.ringing[s.rnd.IntN(len(c.ringing))]
			why := Failure(1 + s.rnd.IntN(3))
			s.log = append(s.log, fmt.Sprintf("no answer %s %s %d", id, ext, why))
			i := slices.Index(c.ringing, ext)
			c.ringing = slices.Delete(c.ringing, i, i+1)
			s.apply(s.d.NotAnswered(ctx, id, ext, why))
		}
	case n < 63:
		if len(s.bridged) > 0 {
			ids := make([]string, 0, len(s.bridged))
			for id := range s.bridged {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			id := ids[s.rnd.IntN(len(ids))]
			s.log = append(s.log, "end "+id)
			ext := s.bridged[id]
			delete(s.bridged, id)
			s.apply(s.d.CallEnded(ctx, id, ext))
		}
	case n < 70:
		ext := s.agents[s.rnd.IntN(len(s.agents))]
		cmds := []Command{{Kind: CmdLogin}, {Kind: CmdLogout}, {Kind: CmdReady}, {Kind: CmdReady}, {Kind: CmdReady}, {Kind: CmdNotReady, Reason: ReasonBreak}}
		cmd := cmds[s.rnd.IntN(len(cmds))]
		s.log = append(s.log, fmt.Sprintf("command %s %s", ext, cmd.Kind))
		_, out, err := s.d.Command(ctx, ext, cmd)
		if err != nil && !errors.Is(err, ErrLoggedOut) {
			s.fail("command: %v", err)
		}
		s.apply(out, nil)
	case n < 75:
		ext := s.agents[s.rnd.IntN(len(s.agents))]
		if s.rnd.IntN(6) == 0 {
			s.log = append(s.log, "unregister "+ext)
			if err := s.d.Unregister(ctx, ext); err != nil {
				s.fail("unregister: %v", err)
			}
		} else {
			s.log = append(s.log, "register "+ext)
			s.apply(s.d.Register(ctx, ext, "sip:"+ext+"@127.0.0.1", s.clk.Now().Add(time.Duration(5+s.rnd.IntN(30))*time.Minute)))
		}
	case n < 78:
		if id, _ := s.pickCall(func(c *simCall) bool { return !c.callback && len(c.ringing) == 0 }); id != "" {
			s.log = append(s.log, "callback "+id)
			s.live[id].callback = true
			s.apply(s.d.RequestCallback(ctx, id))
		}
	default:
		s.clk.Add(time.Duration(1+s.rnd.IntN(8)) * time.Second)
		s.ringOut()
		s.log = append(s.log, "tick "+s.clk.Now().Format(time.TimeOnly))
		s.apply(s.d.Tick(ctx))
	}
	s.check()
}

// ringOut reports seats that rang for 30 s as not answering, as the
// engine's ring timeout would.
func (s *sim) ringOut() {
	ids := make([]string, 0, len(s.live))
	for id := range s.live {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		c, ok := s.live[id]
		if !ok {
			continue
		}
		for _, ext := range slices.Clone(c.ringing) {
			if s.clk.Now().Sub(c.rangAt[ext]) >= 30*time.Second && slices.Contains(c.ringing, ext) {
				s.log = append(s.log, "ring out "+id+" "+ext)
				i := slices.Index(c.ringing, ext)
				c.ringing = slices.Delete(c.ringing, i, i+1)
				s.apply(s.d.NotAnswered(s.ctx, id, ext, NoAnswer))
			}
		}
	}
}

// check verifies the invariants against the dispatcher and the store.
func (s *sim) check() {
	s.t.Helper()
	holder := map[string]string{} // seat -> call, from the model
	hold := func(ext, id string) {
		if other, ok := holder[ext]; ok {
			s.fail("seat %s holds %s and %s", ext, other, id)
		}
		holder[ext] = id
	}
	for _, node := range append([]*sim{s}, s.peers...) {
		for id, c := range node.live {
			for _, ext := range c.ringing {
				hold(ext, id)
			}
		}
		for id, ext := range node.bridged {
			hold(ext, id)
		}
	}
	recs, err := s.st.Agents(s.ctx, nil)
	if err != nil {
		s.fail("agents: %v", err)
	}
	for _, r := range recs {
		id, held := holder[r.Agent.Ext]
		st := state(r.Status)
		if held != (st == Ringing || st == OnCall) || (held && r.Status.CallID != id) {
			s.fail("seat %s is %s with %q in the store, the engine has %q", r.Agent.Ext, st, r.Status.CallID, id)
		}
	}
	seen := map[string]int{}
	for _, name := range s.d.names {
		calls := s.d.queues[name].Calls()
		for i, c := range calls {
			seen[c.ID]++
			if i > 0 && queue.Before(c, calls[i-1]) {
				s.fail("queue %s out of order at %d: %s before %s", name, i, calls[i-1].ID, c.ID)
			}
		}
		s.checkEntries(name, calls)
	}
	for id, c := range s.live {
		want := 1
		if len(c.ringing) > 0 {
			want = 0
		}
		if seen[id] != want {
			s.fail("call %s (ringing %v) is queued %d times", id, c.ringing, seen[id])
		}
		if _, ok := s.d.calls[id]; !ok {
			s.fail("live call %s lost by the dispatcher", id)
		}
		delete(seen, id)
	}
	for id := range seen {
		s.fail("finished call %s still queued", id)
	}
	if len(s.d.calls) != len(s.live) {
		s.fail("dispatcher holds %d calls, engine %d", len(s.d.calls), len(s.live))
	}
	for id, n := range s.outcomes {
		if n != 1 {
			s.fail("call %s has %d outcomes", id, n)
		}
	}
}

// checkEntries: the store mirrors this node's queue exactly.
func (s *sim) checkEntries(name string, calls []*queue.Call) {
	s.t.Helper()
	es, err := s.st.Entries(s.ctx, name)
	if err != nil {
		s.fail("entries of %s: %v", name, err)
	}
	var stored, queued []string
	for _, e := range es {
		if e.Node == s.d.node {
			stored = append(stored, e.CallID)
		}
	}
	for _, c := range calls {
		queued = append(queued, c.ID)
	}
	slices.Sort(stored)
	slices.Sort(queued)
	if !slices.Equal(stored, queued) {
		s.fail("queue %s holds %v, the store %v", name, queued, stored)
	}
}

// drain ends every call so that each must finish with exactly one outcome.
func (s *sim) drain() {
	for _, ext := range s.agents {
		s.apply(s.d.Register(s.ctx, ext, "sip:"+ext+"@127.0.0.1", s.clk.Now().Add(time.Hour)))
	}
	for range 10000 {
		if len(s.live) == 0 {
			break
		}
		if id, c := s.pickCall(func(c *simCall) bool { return len(c.ringing) > 0 }); id != "" {
			s.apply(s.d.Answered(s.ctx, id, c.ringing[0]))
		} else if id, _ := s.pickCall(func(*simCall) bool { return true }); id != "" {
			s.apply(s.d.Leave(s.ctx, id))
		}
		s.check()
	}
	for id := 1; id <= s.next; id++ {
		if n := s.outcomes[fmt.Sprintf("%sc%d", s.prefix, id)]; n != 1 {
			s.fail("call %sc%d ended with %d outcomes", s.prefix, id, n)
		}
	}
}

func TestRandomInvariants(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			s := newSim(t, store.NewMemory(), seed, 12)
			for range 5000 {
				s.step()
			}
			s.drain()
			t.Logf("%d calls, outcomes %v", s.next, s.kinds)
		})
	}
}

// TestRandomInvariantsPlainStore runs it on a store without store.Seats
// (the dispatcher's fallback: read every seat, claim, then delete the entry).
func TestRandomInvariantsPlainStore(t *testing.T) {
	s := newSim(t, struct{ store.Store }{store.NewMemory()}, 3, 12)
	if s.d.seats != nil {
		t.Fatal("the wrapped store still offers Seats")
	}
	for range 3000 {
		s.step()
	}
	s.drain()
}
