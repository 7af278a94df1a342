package acd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/queue"
	"github.com/hotline-cc/hotline/store"
)

// Options wires a Dispatcher.
type Options struct {
	Store    store.Store      // required: store.NewMemory() for one node
	Now      func() time.Time // default time.Now
	Location *time.Location   // for "calls today"; default time.Local
	Logger   *slog.Logger     // default slog.Default()
	Node     string           // this engine node's name (Redis: unique per node)
	// Boot names this process's incarnation of Node (random per start;
	// default: one is made up). See recover.go.
	Boot string
	// Holds reports whether this node still has call callID (a queue call
	// or callback bridged to a seat): a seat on a call it no longer has is
	// freed. Called under the dispatcher's lock; must not call back into
	// it. nil: such seats are left alone.
	Holds func(callID string) bool
	// Busy reports seats busy outside the ACD (an internal seat-to-seat
	// call on this node): they are not offered calls meanwhile. Called
	// under the dispatcher's lock; must not call back into it. nil: none.
	Busy func(ext string) bool
	// OnState hears of every change of a seat's state or reason that this
	// node makes or reads (s is the new status). Called with the
	// dispatcher's locks possibly held: it must be quick and must not call
	// back into the dispatcher. nil: none.
	OnState func(ext string, s store.Status)
}

// Dispatcher decides which waiting call goes to which seat, and when. It is
// the mutex-protected facade the engine's call goroutines call directly:
// every method applies one event under its lock and returns the decisions
// the engine must carry out (for this call and for others). Methods block
// only on the store (memory: never; Redis: one or a few round trips); the
// hot ones (a seat claimed for a call, a seat answering or ending its
// call) make their round trips with the lock let go (claim.go).
//
// It keeps this node's calls (waiting, offered) in memory and the seats in
// the store; with a shared store several nodes dispatch their own calls to
// the same seats, each seat claimed by compare-and-swap. A seat freed by
// another node is seen by this node's calls on the next event or Tick.
type Dispatcher struct {
	mu    sync.Mutex
	cfg   Config
	st    store.Store
	seats store.Seats // st, when it offers the one-round-trip hot path; else nil
	busy  func(ext string) bool
	// onState: Options.OnState
	onState func(ext string, s store.Status)
	now     func() time.Time
	loc     *time.Location
	log     *slog.Logger
	node    string
	queues  map[string]*queue.Queue
	open    map[string]bool // queues that take new arrivals (in the config)
	names   []string        // queue names, sorted
	qs      []*queue.Queue  // the queues in names order
	calls   map[string]*callState
	rr      map[string]string // queue -> extension round robin offered last
	// known is the last status this node read or wrote per seat (see
	// swap), under knownMu: Answered and CallEnded swap outside mu.
	knownMu sync.Mutex
	known   map[string]store.Status
	// wraps is each queue's wrap-up, replaced (never changed) by Configure,
	// so that CallEnded can read it outside mu.
	wraps map[string]time.Duration
	block []Decision // the rest of resultLocked's current block
	today struct {   // dayLocked's cache
		from, to time.Time
		name     string
	}

	view view     // the seats
	pres presence // the engine nodes, for crash recovery (recover.go)
	// claiming holds the seats of this node's plans being claimed (see
	// claim.go); plans are the spent ones, reused.
	claiming map[string]bool
	plans    []*plan

	// scratch of planLocked and settleLocked, reused from one dispatch to the next
	free   []freeSeat       // the seats free at its start
	heads  []int            // its place in each queue
	nobody map[needKey]bool // needs no free seat meets
	cands  []candidate      // the seats that may take one call
	colBuf []int            // the view's columns of one need
	got    []*reservation   // the seats won for one call (settleLocked)
	outs   []Decision       // the decisions, before resultLocked (settleLocked)
}

// needKey identifies calls that need the same seats: same queue, same
// escalation step, callback or not.
type needKey struct {
	q        *queue.Queue
	step     int
	callback bool
}

// callState is what the dispatcher knows of one of this node's calls.
type callState struct {
	id, caller, queue string
	priority          int
	arrived           time.Time // arrival at the ACD
	joined            time.Time // arrival in the current queue
	offeredAt         time.Time
	callback          bool
	noCallback        bool                 // the caller cannot be called back (Arrival.NoCallback)
	kept              time.Time            // when its place was kept for a callback
	ringing           []string             // seats reserved for it now
	tried             map[string]time.Time // seat -> when it missed this call
	rung, missed      []string
	ring1, rung1      [1]string // first backing of ringing and rung (see offeredLocked)
	claiming          bool      // out of its queue while seats are claimed for it
	stored            bool      // its entry is in the store's mirror of the queue
}

// New returns a dispatcher over cfg (WithDefaults applied here, then
// Validate; every problem is returned joined).
func New(cfg Config, o Options) (*Dispatcher, error) {
	if o.Store == nil {
		return nil, fmt.Errorf("%w: no store", ErrConfig)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	d := &Dispatcher{
		st: o.Store, now: o.Now, loc: o.Location, log: o.Logger, node: o.Node, busy: o.Busy, onState: o.OnState,
		queues: map[string]*queue.Queue{}, calls: map[string]*callState{}, rr: map[string]string{},
		nobody: map[needKey]bool{}, known: map[string]store.Status{}, claiming: map[string]bool{},
	}
	d.seats, _ = o.Store.(store.Seats)
	d.pres.nodes, _ = o.Store.(store.Nodes)
	d.pres.boot, d.pres.holds = o.Boot, o.Holds
	if d.pres.boot == "" {
		d.pres.boot = newBoot()
	}
	if err := d.Configure(cfg); err != nil {
		return nil, err
	}
	return d, nil
}

// Configure applies a new configuration (a reload). Calls keep waiting: a
// queue that left the configuration takes no new calls but serves those it
// holds; a queue's new settings apply from now on.
func (d *Dispatcher) Configure(cfg Config) error {
	cfg = cfg.WithDefaults()
	if errs := cfg.Validate(); len(errs) > 0 {
		return errors.Join(errs...)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cfg = cfg
	d.open = map[string]bool{}
	for _, qc := range cfg.Queues {
		d.open[qc.Name] = true
		if q, ok := d.queues[qc.Name]; ok {
			q.SetConfig(qc)
			continue
		}
		d.queues[qc.Name] = queue.New(qc)
	}
	d.names = d.names[:0]
	for name := range d.queues {
		d.names = append(d.names, name)
	}
	slices.Sort(d.names)
	d.qs = d.qs[:0]
	wraps := make(map[string]time.Duration, len(d.names))
	for _, name := range d.names {
		d.qs = append(d.qs, d.queues[name])
		wraps[name] = d.queues[name].Config().WrapUp
	}
	d.wraps = wraps
	skills := map[string]int{}
	for _, q := range d.qs {
		for step := range q.Steps() {
			for _, sk := range q.StepNeed(step).Skills {
				if _, ok := skills[sk]; !ok {
					skills[sk] = len(skills)
				}
			}
		}
	}
	d.view.setSkills(skills)
	return nil
}

// SetAgents makes the store's seat profiles those of agents (a load or a
// reload): new seats start logged out, seats no longer configured are
// removed once idle. Statuses of existing seats are kept.
func (d *Dispatcher) SetAgents(ctx context.Context, agents []Agent) error {
	if errs := ValidateAgents(agents); len(errs) > 0 {
		return errors.Join(errs...)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	keep := make(map[string]bool, len(agents))
	for _, a := range agents {
		keep[a.Ext] = true
		if err := d.st.PutAgent(ctx, a); err != nil {
			return fmt.Errorf("agent %s: %w", a.Ext, err)
		}
	}
	d.knownMu.Lock()
	clear(d.known)
	d.knownMu.Unlock()
	recs, err := d.st.Agents(ctx, nil)
	if err != nil {
		return err
	}
	for _, r := range recs {
		st := state(r.Status)
		if !keep[r.Agent.Ext] && st != Ringing && st != OnCall {
			if err := d.st.DeleteAgent(ctx, r.Agent.Ext); err != nil {
				return fmt.Errorf("agent %s: %w", r.Agent.Ext, err)
			}
		}
	}
	return nil
}

// dayLocked is now's date (YYYY-MM-DD) in the dispatcher's location, for
// "calls today"; formatted once per day, not on every dispatch.
func (d *Dispatcher) dayLocked(now time.Time) string {
	if now.Before(d.today.from) || !now.Before(d.today.to) {
		y, m, dd := now.In(d.loc).Date()
		from := time.Date(y, m, dd, 0, 0, 0, 0, d.loc)
		d.today.from, d.today.to = from, from.AddDate(0, 0, 1)
		d.today.name = from.Format(time.DateOnly)
	}
	return d.today.name
}

// swap applies f to ext's current status and stores it, retrying when
// another node changed the status in between. f returns false to leave the
// status alone; it may run more than once.
//
// It first tries the status this node last saw (d.known): when f changes
// it and the swap on its version wins, no one wrote in between, so it was
// the current status and the read is saved. Any other outcome (f declines
// or fails, the version moved, the seat is gone) is decided again on a
// fresh read: a cached status never decides anything by itself.
//
// swap does not need mu (Answered and CallEnded call it without): its
// round trips then hold no lock that other calls wait on.
func (d *Dispatcher) swap(ctx context.Context, ext string, f func(store.Status) (store.Status, bool, error)) (store.Status, error) {
	if cur, ok := d.knownStatus(ext); ok {
		if next, change, err := f(cur); err == nil && change {
			v, err := d.st.SwapStatus(ctx, ext, cur.Version, next)
			if err == nil {
				next.Version = v
				d.noteStatus(ext, next)
				return next, nil
			}
			d.forgetStatus(ext)
			if !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
				return cur, err
			}
		}
	}
	for range 5 {
		cur, err := d.st.Status(ctx, ext)
		if err != nil {
			return cur, fmt.Errorf("agent %s: %w", ext, err)
		}
		d.noteStatus(ext, cur) // what it was: the change below is told (OnState) against it
		next, change, err := f(cur)
		if err != nil || !change {
			d.noteStatus(ext, cur)
			return cur, err
		}
		v, err := d.st.SwapStatus(ctx, ext, cur.Version, next)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return cur, err
		}
		next.Version = v
		d.noteStatus(ext, next)
		return next, nil
	}
	return store.Status{}, fmt.Errorf("agent %s: %w", ext, store.ErrConflict)
}

func (d *Dispatcher) knownStatus(ext string) (store.Status, bool) {
	d.knownMu.Lock()
	defer d.knownMu.Unlock()
	s, ok := d.known[ext]
	return s, ok
}

// noteStatus remembers s unless a newer status of ext is known already (a
// concurrent swap of the same seat).
func (d *Dispatcher) noteStatus(ext string, s store.Status) {
	d.knownMu.Lock()
	cur, ok := d.known[ext]
	newer := !ok || cur.Version <= s.Version
	if newer {
		d.known[ext] = s
	}
	d.knownMu.Unlock()
	if newer && ok && d.onState != nil && (cur.State != s.State || cur.Reason != s.Reason) {
		d.onState(ext, s)
	}
}

func (d *Dispatcher) forgetStatus(ext string) {
	d.knownMu.Lock()
	delete(d.known, ext)
	d.knownMu.Unlock()
}

// holds reports whether ext's status still holds callID (ringing or on it).
func holds(s store.Status, callID string) bool {
	st := state(s)
	return (st == Ringing || st == OnCall) && s.CallID == callID
}

// entry is the store mirror of a queued call.
func (d *Dispatcher) entry(q string, c queue.Call) store.Entry {
	return store.Entry{
		CallID: c.ID, Queue: q, Caller: c.Caller, Priority: c.Priority,
		Arrived: c.Arrived, Node: d.node, Boot: d.pres.boot, Callback: c.Callback,
	}
}

// enqueueLocked adds c (the call cs) to q in the local queue and the
// store mirror.
func (d *Dispatcher) enqueueLocked(ctx context.Context, cs *callState, q *queue.Queue, c queue.Call, force bool) error {
	if err := q.Add(c, force); err != nil {
		return err
	}
	if err := d.st.PutEntry(ctx, d.entry(q.Config().Name, c)); err != nil {
		q.Remove(c.ID)
		return err
	}
	cs.stored = true
	return nil
}

// dequeueLocked takes a call out of its queue and the store mirror (also
// when it is out of its queue being claimed).
func (d *Dispatcher) dequeueLocked(ctx context.Context, cs *callState) (queue.Call, bool, error) {
	q := d.queues[cs.queue]
	c, ok := q.Remove(cs.id)
	if !cs.stored {
		return c, ok, nil
	}
	cs.stored = false
	return c, ok, d.st.DeleteEntry(ctx, cs.queue, cs.id)
}

// finish forgets a call and returns its Finished decision.
func (d *Dispatcher) finish(cs *callState, o Outcome, dest queue.Destination, agent string, now time.Time) Decision {
	delete(d.calls, cs.id)
	qc := d.queues[cs.queue].Config()
	r := &Result{
		CallID: cs.id, Queue: cs.queue, Skill: qc.Skill, Outcome: o, Dest: dest, Agent: agent,
		Arrived: cs.arrived, OfferedAt: cs.offeredAt, Wait: now.Sub(cs.arrived),
		Callback: cs.callback, Rung: cs.rung, Missed: cs.missed,
	}
	if o == Answered {
		r.AnsweredAt = now
		r.WithinServiceLevel = r.Wait <= qc.ServiceLevel
	}
	return Decision{Kind: Finished, CallID: cs.id, Queue: cs.queue, Agent: agent, Result: r}
}
