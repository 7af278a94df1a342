// Package call is hotline's orchestrator: one Call per caller, owned by one
// goroutine that receives every event about the call (SIP leg events, media
// events, seat offers) in its inbox and alone changes the call's state. It is
// the only package that imports both sip and media.
//
// Lock order: Engine.mu may take a call's snapshot lock inside it (routing
// an overflow to callback reads the caller's place); snapshot locks and
// seatPool.mu are leaves. The ACD dispatcher locks inside its own methods,
// which are never called under any of these (the dispatcher takes
// seatPool.mu under its own, through acd.Options.Busy). A Call's fields are
// owned by its goroutine and take no lock.
package call

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/ivr"
	"github.com/hotline-cc/hotline/media"
	"github.com/hotline-cc/hotline/records"
	"github.com/hotline-cc/hotline/sip"
	"github.com/hotline-cc/hotline/store"
)

// Metrics is what the engine reports; supervisor.Metrics implements it.
type Metrics interface {
	CallStarted(line string)
	CallEnded(reason string, d time.Duration)
	SetActiveCalls(n int)
	Transfer(entry, result string, ring time.Duration, answered bool)
}

// Recorder stores call records; records.Writer implements it.
type Recorder interface {
	Write(r *records.Record) error
}

// Journal is what a Recorder may do besides: journal a call's progress
// (records.EventCallStarted, EventCallAnswered) before the call acts on
// it, so that a node killed with calls live still gives each its record
// (cmd's journaled sink does, over records.Journal).
type Journal interface {
	Event(typ string, r *records.Record) error
}

// Publisher is what a Recorder may do besides: put events that are not a
// call's (records.EventAgentState) in the same log.
type Publisher interface {
	Publish(typ string, data any) error
}

// Registrations tells where seats' phones are; sip.Registrar implements it.
type Registrations interface {
	Lookup(ext string) (sip.Registration, bool)
}

// Options wires an Engine.
type Options struct {
	Config   *config.Config
	Media    *media.Manager
	Seats    Registrations
	Records  Recorder
	Metrics  Metrics
	Logger   *slog.Logger
	Now      func() time.Time
	Location *time.Location
	// Store holds agents, states, registrations and queue entries, shared
	// between engine nodes when it is Redis; nil means one node's memory.
	// Its owner (cmd) builds it from the config's store section and closes
	// it after Drain. With the memory store and a data_dir, kept callback
	// places are kept in a file there.
	Store store.Store
	// Node names this engine node in the shared store (default: the
	// config's store.node).
	Node string
	// TrunkUp reports whether a trunk answers its OPTIONS pings; callbacks
	// and outbound calls go through a trunk that is up when one is. nil:
	// every trunk is up.
	TrunkUp func(trunk string) bool
}

// confirmPrompt is the prompt a seat hears after a feature code, when the
// prompt folder has it.
const confirmPrompt = "goodbye.wav"

// xferFailedPrompt is the tone an agent hears when the department of a
// consult or a conference did not answer (no answer, busy, an error).
const xferFailedPrompt = "transfer-failed.wav"

// ErrDraining: the engine takes no new calls.
var ErrDraining = errors.New("call: engine is draining")

// Engine admits calls and keeps the table of live ones. It implements
// sip.Handler.
type Engine struct {
	opts    Options
	cfg     atomic.Pointer[config.Config]
	log     *slog.Logger
	dialer  Dialer
	prompts atomic.Pointer[promptSet]
	seats   *seatPool
	acd     *acd.Dispatcher

	draining atomic.Bool
	mu       sync.Mutex
	calls    map[string]live // by their record's call id
	// callbacks are the queue callbacks running, pending the places the
	// ACD keeps for callers who asked for one; both by the asking call's id.
	callbacks map[string]*callback
	pending   map[string]pendingCallback
	// kept stores the kept places (kept.go): the store's, or with the
	// memory store a file in the data folder; nil when there is none.
	// persistent when they outlive the process (Redis, the file).
	kept       store.Callbacks
	persistent bool
	idle       chan struct{} // closed and replaced when the table empties
	wg         sync.WaitGroup
}

// live is a call in the engine's table: a caller's Call or a callback.
type live interface {
	post(ev any) bool
	tryPost(ev any) bool
	info() CallInfo
}

// promptSet is what one config generation plays, decoded once at load: the
// IVR plan and every prompt it may play, by path in the config's FS.
type promptSet struct {
	plan    *ivr.Plan
	hold    *media.Prompt
	confirm *media.Prompt // played to a seat after a feature code (nil: none)
	// xferFailed: the agent hears it when a transfer was not answered, was
	// busy or failed (nil: none).
	xferFailed *media.Prompt
	// survey, surveyThanks: the survey's question and thanks (nil when no
	// queue asks for one)
	survey, surveyThanks *media.Prompt
	// position announcement: "there are" + digits + "callers ahead of you"
	// (nil when the prompt folder lacks them: no announcement).
	ahead, waiting *media.Prompt
	digits         [10]*media.Prompt
	// estimated wait: "about" + digits + "minutes" (nil: not announced)
	waitAbout, minutes *media.Prompt
	callback           *callbackPrompts // nil when no queue offers callbacks
	byPath             map[string]*media.Prompt

	// outbound: the whispers of outbound calls by purpose (outbound.go)
	outbound map[string]*media.Prompt
}

// NewEngine loads the prompts of cfg and returns an engine ready for Start.
func NewEngine(o Options) (*Engine, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	var kept store.Callbacks
	if o.Store == nil {
		o.Store = store.NewMemory()
	}
	if o.Node == "" {
		o.Node = o.Config.Store.Node
	}
	if _, memory := o.Store.(*store.Memory); memory && o.Config.DataDir != "" {
		kept = store.NewCallbackFile(filepath.Join(o.Config.DataDir, callbackFile))
	}
	e := &Engine{opts: o, log: o.Logger, calls: make(map[string]live),
		callbacks: make(map[string]*callback), pending: make(map[string]pendingCallback)}
	e.kept, _ = o.Store.(store.Callbacks)
	_, e.persistent = o.Store.(*store.Redis)
	if kept != nil {
		e.kept, e.persistent = kept, true
	}
	e.seats = newSeatPool()
	d, err := acd.New(acdConfigFrom(o.Config), acd.Options{
		Store: o.Store, Now: o.Now, Location: o.Location, Logger: o.Logger.With("part", "acd"), Node: o.Node,
		Busy: e.seats.held, Holds: e.holds, OnState: e.agentStateEvent(),
	})
	if err != nil {
		return nil, err
	}
	e.acd = d
	if err := e.Reload(o.Config); err != nil {
		return nil, err
	}
	return e, nil
}

// Start gives the engine its way to dial out; call it before serving SIP.
func (e *Engine) Start(d Dialer) { e.dialer = d }

// Reload switches to a new config for new calls; calls already running keep
// the prompts and settings they started with.
func (e *Engine) Reload(cfg *config.Config) error {
	ps, err := loadPrompts(cfg)
	if err != nil {
		return err
	}
	if err := e.configureACD(cfg); err != nil {
		return err
	}
	e.cfg.Store(cfg)
	e.prompts.Store(ps)
	return nil
}

func loadPrompts(cfg *config.Config) (*promptSet, error) {
	ps := &promptSet{plan: ivr.NewPlan(cfg), byPath: make(map[string]*media.Prompt)}
	var err error
	if ps.hold, err = media.LoadPrompt(cfg.FS, cfg.Prompts.HoldMusic); err != nil {
		return nil, fmt.Errorf("call: hold music: %w", err)
	}
	optional := func(name string) *media.Prompt {
		p, err := media.LoadPrompt(cfg.FS, name)
		if err != nil {
			return nil
		}
		return p
	}
	ps.confirm = optional(confirmPrompt)
	ps.outbound = outboundPrompts(cfg)
	ps.xferFailed = optional(xferFailedPrompt)
	if slices.ContainsFunc(cfg.Queues, func(q config.Queue) bool { return q.Survey }) {
		ps.survey, ps.surveyThanks = optional(config.SurveyPrompts[0]), optional(config.SurveyPrompts[1])
	}
	ps.ahead, ps.waiting = optional("position-ahead.wav"), optional("position-waiting.wav")
	ps.waitAbout, ps.minutes = optional("wait-about.wav"), optional("wait-minutes.wav")
	for i := range ps.digits {
		ps.digits[i] = optional(fmt.Sprintf("digit-%d.wav", i))
	}
	if slices.ContainsFunc(cfg.Queues, func(q config.Queue) bool { return q.Callback }) {
		cp := make([]*media.Prompt, len(config.CallbackPrompts))
		for i, name := range config.CallbackPrompts {
			if cp[i], err = media.LoadPrompt(cfg.FS, name); err != nil {
				return nil, fmt.Errorf("call: callback prompt: %w", err)
			}
		}
		ps.callback = &callbackPrompts{offer: cp[0], confirm: cp[1], hello: cp[2], whisper: cp[3]}
	}
	paths := ps.plan.Prompts()
	for _, q := range cfg.Queues {
		for _, d := range []config.Destination{q.OnMaxWait, q.OnFull} {
			if d.Message != "" {
				paths = append(paths, d.Message)
			}
		}
	}
	for _, path := range paths {
		p, err := media.LoadPrompt(cfg.FS, path)
		if err != nil {
			return nil, fmt.Errorf("call: prompt %s: %w", path, err)
		}
		ps.byPath[path] = p
	}
	return ps, nil
}

// HandleInvite implements sip.Handler: it creates the Call and its goroutine.
func (e *Engine) HandleInvite(leg *sip.InboundLeg) {
	if e.draining.Load() {
		go leg.Reject(503, "Service Unavailable")
		return
	}
	c := newCall(e, leg)
	e.mu.Lock()
	e.calls[c.id] = c
	n := len(e.calls)
	e.mu.Unlock()
	if e.opts.Metrics != nil {
		e.opts.Metrics.SetActiveCalls(n)
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		c.run()
		e.remove(c.id, "")
	}()
}

// Admission refusals Admit reports (the reason label of the SIP edge's 503).
const AdmitMaxWaiting = "max_waiting"

// Admit tells the SIP edge whether a new carrier call may come in, before
// it sends anything back: false with a reason while the callers waiting in
// this node's queues have reached limits.max_waiting (0: no limit); the edge
// answers 503 with Retry-After. Each queue's own bound (max_length) is the
// queue's business: a call over it meets the queue's on_full. Any
// goroutine; it never blocks on the network.
func (e *Engine) Admit() (reason string, ok bool) {
	if max := e.config().Limits.MaxWaiting; max > 0 && e.acd.Waiting() >= max {
		return AdmitMaxWaiting, false
	}
	return "", true
}

// remove takes a call out of the table (and a callback out of the running
// ones: acdID, the asking call's id).
func (e *Engine) remove(id, acdID string) {
	e.mu.Lock()
	delete(e.calls, id)
	if cb := e.callbacks[acdID]; cb != nil && cb.id == id {
		delete(e.callbacks, acdID) // not a later attempt's
	}
	n := len(e.calls)
	if n == 0 && e.idle != nil {
		close(e.idle)
		e.idle = nil
	}
	e.mu.Unlock()
	if e.opts.Metrics != nil {
		e.opts.Metrics.SetActiveCalls(n)
	}
}

// Active is the number of live calls.
func (e *Engine) Active() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.calls)
}

// Draining reports whether Drain has been called.
func (e *Engine) Draining() bool { return e.draining.Load() }

// Drain stops new calls, lets live ones finish for up to grace, then ends
// the rest with reason shutdown and waits for them. It returns how many calls
// had to be cut.
func (e *Engine) Drain(ctx context.Context, grace time.Duration) int {
	e.draining.Store(true)
	e.mu.Lock()
	var idle chan struct{}
	if len(e.calls) > 0 {
		if e.idle == nil {
			e.idle = make(chan struct{})
		}
		idle = e.idle
	}
	e.mu.Unlock()
	cut := 0
	if idle != nil {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-idle:
		case <-t.C:
		case <-ctx.Done():
		}
		e.mu.Lock()
		for _, c := range e.calls {
			go c.post(evShutdown{})
			cut++
		}
		e.mu.Unlock()
	}
	e.wg.Wait()
	e.mu.Lock()
	kept := slices.Collect(maps.Values(e.pending))
	clear(e.pending)
	e.mu.Unlock()
	for _, p := range kept {
		if e.persistent {
			// The store keeps it: the next start calls the caller back.
			e.log.Info("queue callback kept for the next start", "callback_of", p.acdID)
			continue
		}
		// The place was kept in this process: it ends with it, on record.
		e.log.Warn("queue callback given up at shutdown", "callback_of", p.acdID)
		newCallback(e, p).end(endShutdown)
	}
	return cut
}

func (e *Engine) config() *config.Config { return e.cfg.Load() }

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// CallInfo is one row of the calls snapshot.
type CallInfo struct {
	ID        string    `json:"id"`
	Caller    string    `json:"caller"`
	Dialled   string    `json:"dialled"`
	State     string    `json:"state"`
	Agent     string    `json:"agent,omitempty"`
	StartedAt time.Time `json:"started_at"`
}

// Calls is a snapshot of the live calls, oldest first.
func (e *Engine) Calls() any {
	e.mu.Lock()
	out := make([]CallInfo, 0, len(e.calls))
	for _, c := range e.calls {
		out = append(out, c.info())
	}
	e.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].StartedAt.Before(out[j].StartedAt) })
	return out
}

// Agents is a snapshot of the agents: ACD state, registration, internal
// calls.
func (e *Engine) Agents() any {
	ctx, cancel := context.WithTimeout(context.Background(), acdTimeout)
	defer cancel()
	agents, err := e.acd.Agents(ctx)
	if err != nil {
		return map[string]string{"error": err.Error()}
	}
	return agents
}

// Queues is a snapshot of the ACD's queues.
func (e *Engine) Queues() any { return e.acd.Queues() }

// QueueInfo is this node's queues with their waiting calls.
func (e *Engine) QueueInfo() []acd.QueueInfo { return e.acd.Queues() }

// AgentInfo is every seat as the store has it.
func (e *Engine) AgentInfo(ctx context.Context) ([]acd.AgentInfo, error) { return e.acd.Agents(ctx) }

// agentStateEvent publishes each change of a seat's state as an
// agent.state event, when the records sink keeps an event log.
func (e *Engine) agentStateEvent() func(string, store.Status) {
	p, ok := e.opts.Records.(Publisher)
	if !ok {
		return nil
	}
	return func(ext string, s store.Status) {
		err := p.Publish(records.EventAgentState, records.AgentState{
			Agent: ext, State: s.State, Reason: s.Reason, Since: s.Since, CallID: s.CallID, Queue: s.Queue,
		})
		if err != nil {
			e.log.Error("journal: an agent's state not published", "agent", ext, "error", err)
		}
	}
}
