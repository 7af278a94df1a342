package call

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/media"
	"github.com/hotline-cc/hotline/records"
	"github.com/hotline-cc/hotline/sip"
	"github.com/hotline-cc/hotline/store"
)

// fakeLeg is a caller's inbound leg without SIP: it records the hang-up.
type fakeLeg struct {
	caller, dialled string
	origin          sip.Origin
	se              time.Duration
	uasRefresh      bool  // EngineRefreshes
	refreshErr      error // what Refresh returns

	mu     sync.Mutex
	hungUp int // the final code, 0 until Hangup
}

func (l *fakeLeg) CallID() string                { return "fake-" + l.caller }
func (l *fakeLeg) Tags() (string, string)        { return "from-" + l.caller, "to-" + l.caller }
func (l *fakeLeg) Caller() string                { return l.caller }
func (l *fakeLeg) CallerName() string            { return "" }
func (l *fakeLeg) Dialled() string               { return l.dialled }
func (l *fakeLeg) Source() netip.AddrPort        { return netip.AddrPort{} }
func (l *fakeLeg) Origin() sip.Origin            { return l.origin }
func (l *fakeLeg) SetEvents(func(sip.Event))     {}
func (l *fakeLeg) HasOffer() bool                { return false }
func (l *fakeLeg) Offer() (sip.MediaDesc, error) { return sip.MediaDesc{}, nil }
func (l *fakeLeg) Answer([]byte) error           { return nil }
func (l *fakeLeg) AckSDP() []byte                { return nil }
func (l *fakeLeg) Answered() bool                { return true }
func (l *fakeLeg) Ringing() error                { return nil }
func (l *fakeLeg) Context() context.Context      { return context.Background() }
func (l *fakeLeg) SessionExpires() time.Duration { return l.se }
func (l *fakeLeg) EngineRefreshes() bool         { return l.uasRefresh }
func (l *fakeLeg) Refresh(context.Context) error { return l.refreshErr }
func (l *fakeLeg) Hangup(_ context.Context, code int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hungUp = code
	return nil
}

// panickyLeg is a fakeLeg whose Origin (asked first by admission) or
// Ringing (a seat-to-seat call's 180) panics: a fault in a step of the call.
type panickyLeg struct {
	fakeLeg
	inOrigin bool
}

func (l *panickyLeg) Origin() sip.Origin {
	if l.inOrigin {
		panic("test: fault in admission")
	}
	return l.fakeLeg.Origin()
}

func (l *panickyLeg) Ringing() error { panic("test: fault relaying 180") }

func (l *fakeLeg) code() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hungUp
}

// recorder keeps the records written.
type recorder struct {
	mu   sync.Mutex
	recs []records.Record
	got  chan struct{}
}

func (r *recorder) Write(rec *records.Record) error {
	r.mu.Lock()
	r.recs = append(r.recs, *rec)
	r.mu.Unlock()
	r.got <- struct{}{}
	return nil
}

// wait returns the next record written, failing after a while.
func (r *recorder) wait(t *testing.T) records.Record {
	t.Helper()
	select {
	case <-r.got:
	case <-time.After(10 * time.Second):
		t.Fatal("no call record written")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.recs[len(r.recs)-1]
}

// testEngine is an Engine with just what a Call's loop and end need (no
// media, no ACD call is made unless the call is in it), its records kept.
func testEngine(t *testing.T, cfg *config.Config) (*Engine, *recorder) {
	t.Helper()
	rec := &recorder{got: make(chan struct{}, 16)}
	e := &Engine{
		opts:  Options{Now: time.Now, Location: time.UTC, Records: rec},
		log:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		seats: newSeatPool(), calls: make(map[string]live),
		callbacks: make(map[string]*callback), pending: make(map[string]pendingCallback),
	}
	if cfg == nil {
		cfg = &config.Config{Centre: "test", Skills: []string{"general"}}
	}
	d, err := acd.New(acdConfigFrom(cfg), acd.Options{
		Store: store.NewMemory(), Now: time.Now, Location: time.UTC, Logger: e.log, Node: "test", Busy: e.seats.held,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.acd = d
	e.cfg.Store(cfg)
	e.prompts.Store(&promptSet{byPath: map[string]*media.Prompt{}})
	return e, rec
}

func (l *panickyLeg) Answered() bool { return false }
