package call

import (
	"context"
	"errors"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/media"
	"github.com/hotline-cc/hotline/sip"
)

// fakeDialog is a dialled party without SIP: the test makes it ring,
// answer, refuse or hang up. With stuck, its WaitAnswer ignores
// cancellation, as sipgo's does while a CANCEL goes unanswered.
type fakeDialog struct {
	target   string
	offer    []byte
	answer   []byte
	ringing  chan int   // provisional codes to report
	outcome  chan error // what WaitAnswer returns
	stuck    bool
	events   atomic.Pointer[func(sip.Event)]
	hungUp   atomic.Int32
	answered atomic.Bool
}

func newFakeDialog(target string) *fakeDialog {
	return &fakeDialog{target: target, ringing: make(chan int, 4), outcome: make(chan error, 1)}
}

func (d *fakeDialog) CallID() string               { return "fake-dialog-" + d.target }
func (d *fakeDialog) SetEvents(f func(sip.Event))  { d.events.Store(&f) }
func (d *fakeDialog) AnswerSDP() []byte            { return d.answer }
func (d *fakeDialog) Hangup(context.Context) error { d.hungUp.Add(1); return nil }
func (d *fakeDialog) emit(ev sip.Event)            { (*d.events.Load())(ev) }
func (d *fakeDialog) answerWith(sdp []byte)        { d.answer = sdp; d.outcome <- nil }
func (d *fakeDialog) refuse(code int, why string) {
	d.outcome <- &sip.RejectError{Code: code, Reason: why}
}
func (d *fakeDialog) ring(code int)     { d.ringing <- code }
func (d *fakeDialog) wasAnswered() bool { return d.answered.Load() }
func (d *fakeDialog) hangups() int      { return int(d.hungUp.Load()) }
func (d *fakeDialog) String() string    { return d.target }
func (d *fakeDialog) cancelled(ctx context.Context) <-chan struct{} {
	if d.stuck {
		return nil
	}
	return ctx.Done()
}

func (d *fakeDialog) WaitAnswer(ctx context.Context, onProvisional func(int)) error {
	for {
		select {
		case code := <-d.ringing:
			onProvisional(code)
		case err := <-d.outcome:
			d.answered.Store(err == nil)
			return err
		case <-d.cancelled(ctx):
			return context.Cause(ctx)
		}
	}
}

// fakeDialer hands every INVITE to the test as a fakeDialog.
type fakeDialer struct{ dials chan *fakeDialog }

func newFakeDialer() *fakeDialer { return &fakeDialer{dials: make(chan *fakeDialog, 8)} }

func (f *fakeDialer) Dial(_ context.Context, o sip.DialOptions) (Dialog, error) {
	d := newFakeDialog(o.Target)
	d.offer = o.SDP
	f.dials <- d
	return d, nil
}

// next is the next dialog dialled.
func (f *fakeDialer) next(t *testing.T) *fakeDialog {
	t.Helper()
	select {
	case d := <-f.dials:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("nothing dialled")
		return nil
	}
}

// answerSDP is a far side's answer: PCMA at a loopback port nobody reads.
func answerSDP() []byte {
	return sip.BuildSDP(sip.SDPParams{SessionID: 1, Version: 1, Addr: netip.MustParseAddrPort("127.0.0.1:9"),
		Formats: []sip.Format{{PT: 8, Name: sip.CodecPCMA, Rate: 8000}}, Direction: sip.DirSendRecv, Username: "far"})
}

// nextEvent is the call's next event (the test is the call's goroutine).
func nextEvent(t *testing.T, c *Call) any {
	t.Helper()
	got := make(chan []any, 1)
	go func() { got <- c.mb.take() }()
	select {
	case evs := <-got:
		if len(evs) != 1 {
			t.Fatalf("events %v, want one", evs)
		}
		return evs[0]
	case <-time.After(5 * time.Second):
		t.Fatal("no event for the call")
		return nil
	}
}

// departmentYAML: 12333 is a parallel-answering line: its department rings
// first, and 12345 takes the call when it does not answer.
const departmentYAML = centreHead + `lines:
  - {number: "12345", mode: main, skill: general}
  - {number: "12333", mode: parallel, skill: general, target: "sip:12333@127.0.0.1:5092", ring_timeout: 15s}
`

// departmentCall is a call to 12333 ringing the department through d.
func departmentCall(t *testing.T) (*Call, *fakeDialog, *recorder) {
	t.Helper()
	e, rec := promptedEngine(t, departmentYAML, "welcome.wav", "hold.wav")
	dialer := newFakeDialer()
	e.Start(dialer)
	c := newCall(e, &fakeLeg{caller: "13800138000", dialled: "12333"})
	var err error
	if c.in.m, err = e.opts.Media.NewSession(media.SessionConfig{}); err != nil {
		t.Fatal(err)
	}
	c.in.sdp = newLegSDP()
	c.in.sdp.codec = sip.Format{Name: sip.CodecPCMU}
	c.line, _ = e.config().Line("12333")
	if !c.departmentFirst() {
		t.Fatal("12333 does not ring its department first")
	}
	if r := c.dialOut(legDepartment, c.line.Target, c.line.RingTimeout); r != nil {
		t.Fatalf("dialling ended the call: %s", r.name)
	}
	d := dialer.next(t)
	if d.target != "sip:12333@127.0.0.1:5092" || len(d.offer) == 0 {
		t.Fatalf("dialled %q with offer %q", d.target, d.offer)
	}
	return c, d, rec
}

// TestDepartmentAnswersThenHangsUp: the department leg is a leg like any:
// its 180 is relayed, its answer bridges it to the caller (its codec from
// the SDP answer), its BYE ends the call (hung up by the department), and
// the record has the transfer.
func TestDepartmentAnswersThenHangsUp(t *testing.T) {
	c, d, rec := departmentCall(t)
	d.ring(180)
	if _, ok := nextEvent(t, c).(evRinging); !ok {
		t.Fatal("the department's 180 did not reach the call")
	}
	d.answerWith(answerSDP())
	ev := nextEvent(t, c)
	if r := c.handle(ev); r != nil {
		t.Fatalf("answer ended the call: %s", r.name)
	}
	if c.st != stBridged || c.b == nil || c.b.kind != legDepartment || c.b.sdp.codec.Name != sip.CodecPCMA {
		t.Fatalf("after the answer: state %s, leg %+v", c.st, c.b)
	}
	if c.b.stop != nil {
		t.Error("an answered leg still has its ringing to cancel")
	}
	if _, ok := nextEvent(t, c).(evAnswered); !ok {
		t.Fatal("the caller was not answered once the department took the call")
	}
	d.emit(sip.EventBye{})
	r := c.handle(nextEvent(t, c))
	if r == nil || r.name != "answered" {
		t.Fatalf("the department's BYE: %v, want answered", r)
	}
	c.end(*r)
	got := rec.wait(t)
	if got.HangupBy != "department" || len(got.Transfers) != 1 || !got.Transfers[0].Answered || got.Transfers[0].Mode != "parallel" {
		t.Errorf("record: hangup_by %q transfers %+v", got.HangupBy, got.Transfers)
	}
	if d.hangups() != 1 {
		t.Errorf("department leg hung up %d times at the end, want once (a no-op after its BYE)", d.hangups())
	}
}

// TestDepartmentBusyFallsBack: a department that answers busy is recorded
// as a transfer not answered, its leg is dropped, and the caller is
// answered by 12345 (fallback).
func TestDepartmentBusyFallsBack(t *testing.T) {
	c, d, rec := departmentCall(t)
	d.refuse(486, "Busy Here")
	if r := c.handle(nextEvent(t, c)); r != nil {
		t.Fatalf("busy department ended the call: %s", r.name)
	}
	if c.b != nil || !c.fallback {
		t.Fatalf("after busy: leg %+v fallback %v", c.b, c.fallback)
	}
	c.end(endAbandoned)
	got := rec.wait(t)
	if len(got.Transfers) != 1 || got.Transfers[0].Answered || got.Transfers[0].Target != "sip:12333@127.0.0.1:5092" {
		t.Errorf("record transfers %+v", got.Transfers)
	}
}

// shortTimers shortens the vanished-phone timers for one test.
func shortTimers(t *testing.T) {
	silent, grace := silentAfter, cancelGrace
	silentAfter, cancelGrace = 50*time.Millisecond, 50*time.Millisecond
	t.Cleanup(func() { silentAfter, cancelGrace = silent, grace })
}

// TestWaitLegVanished: the outcome of dialling, once each: a phone that
// says nothing is unreachable before any ring timeout; one that rang out
// and answers the CANCEL is a plain no-answer; one that rang out and is
// stuck (its CANCEL unanswered) is unreachable after cancelGrace; one that
// answers after it was given up is hung up.
func TestWaitLegVanished(t *testing.T) {
	shortTimers(t)
	run := func(d *fakeDialog, timeout time.Duration) (error, chan error) {
		ctx, cancel := context.WithTimeoutCause(context.Background(), timeout, errNoAnswer)
		t.Cleanup(cancel)
		ctx, silence := context.WithCancelCause(ctx)
		reports := make(chan error, 2)
		go waitLeg(ctx, silence, d, vanishing{silentAfter, cancelGrace}, func(err error) { reports <- err }, func() {})
		select {
		case err := <-reports:
			return err, reports
		case <-time.After(5 * time.Second):
			t.Fatal("no outcome")
			return nil, nil
		}
	}
	if err, _ := run(newFakeDialog("silent"), time.Hour); !errors.Is(err, errUnreachable) {
		t.Errorf("silent phone: %v, want unreachable", err)
	}
	live := newFakeDialog("live")
	live.ring(180)
	if err, _ := run(live, 100*time.Millisecond); !errors.Is(err, errNoAnswer) {
		t.Errorf("rang out: %v, want no answer", err)
	}
	gone := newFakeDialog("gone")
	gone.stuck = true
	gone.ring(180)
	err, reports := run(gone, 100*time.Millisecond)
	if !errors.Is(err, errUnreachable) {
		t.Errorf("rang out, CANCEL unanswered: %v, want unreachable", err)
	}
	gone.answerWith(answerSDP()) // it answers after all
	deadline := time.Now().Add(5 * time.Second)
	for gone.hangups() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // the hang-up has no event to wait on
	}
	if gone.hangups() != 1 {
		t.Errorf("a phone answering after it was given up was hung up %d times, want once", gone.hangups())
	}
	select {
	case err := <-reports:
		t.Errorf("a second outcome: %v", err)
	default:
	}
}

func TestReachable(t *testing.T) {
	a := netip.MustParseAddr
	for _, tc := range []struct {
		local, remote string
		want          bool
	}{
		{"127.0.0.1", "10.0.0.1", true},
		{"127.0.0.1", "::1", false},
		{"0.0.0.0", "2001:db8::1", false},
		{"2001:db8::7", "192.0.2.1", false},
		{"2001:db8::7", "::1", true},
		{"::", "192.0.2.1", true},
		{"::", "::1", true},
		{"2001:db8::7", "0.0.0.0", true}, // RFC 2543 hold
		{"127.0.0.1", "::ffff:10.0.0.1", true},
	} {
		if got := reachable(a(tc.local), a(tc.remote)); got != tc.want {
			t.Errorf("reachable(%s, %s) = %v, want %v", tc.local, tc.remote, got, tc.want)
		}
	}
}
