package call

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/internal/guard"
	"github.com/hotline-cc/hotline/media"
	"github.com/hotline-cc/hotline/sip"
)

// Dialog is a dialled party's SIP dialog as a call uses it.
// *sip.OutboundLeg implements it, and so does the unit tests' fake.
type Dialog interface {
	CallID() string
	SetEvents(f func(sip.Event))
	// WaitAnswer blocks until the far side answers (nil) or gives up (a
	// *sip.RejectError for a final non-2xx); cancelling ctx sends CANCEL.
	// onProvisional sees every provisional code, 100 included.
	WaitAnswer(ctx context.Context, onProvisional func(code int)) error
	AnswerSDP() []byte
	Hangup(ctx context.Context) error
}

// Dialer opens dialled legs. SIPDialer adapts a sip.Server.
type Dialer interface {
	Dial(ctx context.Context, o sip.DialOptions) (Dialog, error)
}

// SIPDialer is a Dialer that sends INVITEs through s (a *sip.Server).
func SIPDialer(s interface {
	Dial(context.Context, sip.DialOptions) (*sip.OutboundLeg, error)
}) Dialer {
	return sipDialer{s}
}

type sipDialer struct {
	s interface {
		Dial(context.Context, sip.DialOptions) (*sip.OutboundLeg, error)
	}
}

func (d sipDialer) Dial(ctx context.Context, o sip.DialOptions) (Dialog, error) {
	l, err := d.s.Dial(ctx, o)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// legKind is whom a leg reaches.
type legKind int

const (
	legSeat       legKind = iota // an agent seat (seat-to-seat, or a queue call's offer once answered)
	legDepartment                // a parallel-answering department or sub-centre, before the caller is answered
	legTransfer                  // an external target an IVR transferred the caller to
	legCaller                    // a citizen: the caller of a Call (no dialog here), or one a callback dials
	legDirectory                 // a directory entry a seat dialled itself
)

var legNames = [...]string{"seat", "department", "transfer", "caller", "directory"}

func (k legKind) String() string { return legNames[k] }

// leg is one party of a call: its dialog (nil for a Call's caller, whose
// inbound leg is Call.a), its media session and our side of its SDP, what
// cancels its ringing, whom it reaches and since when it rang. The caller,
// a seat, a department and a callback's two parties are all legs. A leg
// belongs to its call's goroutine.
type leg struct {
	kind   legKind
	ext    string // a seat's extension
	target string // what was dialled
	d      Dialog
	m      *media.Session
	sdp    legSDP
	stop   context.CancelFunc // cancels the ringing; nil when not ringing
	rangAt time.Time
	rt     *legRouting // where its dial's outcome goes (dial)
}

// legRoute is where a dialled leg's outcome goes: its call's post and the
// events that call wants for its ringing and for the outcome.
type legRoute struct {
	post    func(any) bool
	ringing any // nil: not posted
	outcome func(error) any
}

// legRouting is a dialled leg's route, which changes when the leg is
// handed to another call (REFER with Replaces: replaces.go), and its
// outcome once known. The waiting goroutine and the owner share it.
type legRouting struct {
	mu   sync.Mutex
	r    legRoute
	done bool
	err  error
}

// report posts the dial's outcome to the leg's owner of the moment.
func (rt *legRouting) report(err error) {
	rt.mu.Lock()
	rt.done, rt.err = true, err
	r := rt.r
	rt.mu.Unlock()
	r.post(r.outcome(err))
}

// ring posts the ringing event, if the owner wants one.
func (rt *legRouting) ring() {
	rt.mu.Lock()
	r := rt.r
	rt.mu.Unlock()
	if r.ringing != nil {
		r.post(r.ringing)
	}
}

// rehome routes the outcome to r from now on; done and err say whether
// it was reported already (to the old owner).
func (rt *legRouting) rehome(r legRoute) (done bool, err error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.r = r
	return rt.done, rt.err
}

// stopRinging cancels the leg's INVITE if it is still ringing.
func (l *leg) stopRinging() {
	if l.stop != nil {
		l.stop()
		l.stop = nil
	}
}

// drop stops the leg ringing and closes its media; its dialog, if it
// answered, is left to whoever hangs it up.
func (l *leg) drop() {
	l.stopRinging()
	if l.m != nil {
		_ = l.m.Close()
		l.m = nil
	}
}

// hangupLater hangs the leg's dialog up on a goroutine of its own (BYE
// waits for its answer); the call does not wait for it.
func (l *leg) hangupLater(log *slog.Logger) {
	if l.d == nil {
		return
	}
	d := l.d
	go func() {
		defer guard.Recover(log, "call", nil)
		_ = d.Hangup(context.Background())
	}()
}

// hangupLegs stops the legs ringing and hangs up those answered, in
// parallel, within endTimeout; it returns once every BYE is answered or
// given up. nil legs are skipped.
func hangupLegs(log *slog.Logger, legs ...*leg) {
	ctx, cancel := context.WithTimeout(context.Background(), endTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, l := range legs {
		if l == nil {
			continue
		}
		l.stopRinging()
		if l.d != nil {
			wg.Add(1)
			go func() { defer wg.Done(); defer guard.Recover(log, "call", nil); _ = l.d.Hangup(ctx) }()
		}
	}
	wg.Wait()
}

// dropLegs drops each leg that is not nil.
func dropLegs(legs ...*leg) {
	for _, l := range legs {
		if l != nil {
			l.drop()
		}
	}
}

// A phone that vanished must not hold a caller: silentAfter is how long a
// dialled leg may stay without any response at all (every live user agent
// sends 100 Trying at once, and by then the INVITE has gone out five times),
// and cancelGrace how long a phone that rang out may take to answer our
// CANCEL. Either way the leg counts as unreachable (the seat is logged out)
// and the outcome is posted at once; sipgo's transaction ends in its own time.
// (Variables only so that the unit tests can shorten them.)
// Both are generous: under a burst a loaded engine may read a live phone's
// answers seconds late, and a live phone taken for gone is logged out.
var (
	silentAfter = 12 * time.Second
	cancelGrace = 8 * time.Second
)

// vanishing is silentAfter and cancelGrace as one dial read them.
type vanishing struct{ silent, grace time.Duration }

// errUnreachable: the dialled phone did not respond (silent, or silent to
// our CANCEL after it rang out).
var errUnreachable = errors.New("call: the phone did not respond")

// dial sends an INVITE to o.Target with our offer for the leg's session
// (every codec, first preferred) and waits for the answer on a helper
// goroutine within timeout: provisional responses post ringing (when not
// nil), the outcome posts outcome(err) exactly once (errNoAnswer when the
// time ran out, errUnreachable when the phone is gone). stopRinging
// cancels it.
func (l *leg) dial(d Dialer, first string, timeout time.Duration, o sip.DialOptions,
	post func(any) bool, ringing any, outcome func(error) any) error {
	o.SDP = l.sdp.offer(l.m.LocalAddr(), first)
	l.m.SetSignal(sip.URIHostIP(o.Target)) // the far side behind NAT is learnt there only
	ctx, cancel := context.WithTimeoutCause(context.Background(), timeout, errNoAnswer)
	ctx, silence := context.WithCancelCause(ctx)
	stop := func() { silence(nil); cancel() }
	dl, err := d.Dial(ctx, o)
	if err != nil {
		stop()
		return err
	}
	l.d, l.stop, l.target = dl, stop, o.Target
	l.rt = &legRouting{r: legRoute{post: post, ringing: ringing, outcome: outcome}}
	go waitLeg(ctx, silence, dl, vanishing{silentAfter, cancelGrace}, l.rt.report, l.rt.ring)
	return nil
}

// waitLeg waits for d's answer under ctx (its cause says why it ended:
// errNoAnswer at the deadline, context.Canceled when withdrawn) and reports
// the outcome once. A phone heard from not at all within silentAfter, or
// not answering the CANCEL within cancelGrace, is reported unreachable at
// once; should it answer after all, it is hung up.
func waitLeg(ctx context.Context, silence context.CancelCauseFunc, d Dialog, v vanishing, report func(error), ringing func()) {
	var reported, heard atomic.Bool
	once := func(err error) bool {
		if !reported.CompareAndSwap(false, true) {
			return false
		}
		report(err)
		return true
	}
	defer guard.Recover(nil, "call", func(any) { once(errDialPanic) })
	mute := time.AfterFunc(v.silent, func() {
		if !heard.Load() {
			silence(errUnreachable)
		}
	})
	defer mute.Stop()
	gone := context.AfterFunc(ctx, func() {
		switch cause := context.Cause(ctx); {
		case errors.Is(cause, errUnreachable):
			once(errUnreachable)
		case errors.Is(cause, errNoAnswer):
			time.AfterFunc(v.grace, func() { once(errUnreachable) })
		}
	})
	defer gone()
	err := d.WaitAnswer(ctx, func(code int) {
		heard.Store(true)
		if code > 100 {
			ringing()
		}
	})
	if errors.Is(err, context.DeadlineExceeded) {
		err = errNoAnswer
	}
	if !once(err) && err == nil {
		_ = d.Hangup(context.Background()) // answered after it was given up
	}
}

// errAddrFamily: an SDP's media address is of the other IP family than
// our RTP address (reachable).
var errAddrFamily = errors.New("call: SDP media address of another IP family than our RTP address")

// settle takes the outcome of dialling the leg (err from WaitAnswer) and,
// when it answered, applies its SDP answer to the leg's session. A leg
// that answered with SDP we cannot use is hung up and counts as refused
// (488).
func (l *leg) settle(log *slog.Logger, err error) error {
	l.stopRinging()
	if err != nil {
		return err
	}
	ans, perr := sip.ParseSDP(l.d.AnswerSDP())
	codec, dtmf, nerr := sip.Negotiate(ans, supportedCodecs)
	if perr == nil && !reachable(l.m.LocalAddr().Addr(), ans.Addr.Addr()) {
		perr = errAddrFamily
	}
	if perr == nil && nerr == nil {
		nerr = l.sdp.srtp.acceptAnswer(ans, l.m)
	}
	if perr != nil || nerr != nil {
		log.Warn("far side answered with unusable SDP", "error", errors.Join(perr, nerr))
		l.hangupLater(log)
		return &sip.RejectError{Code: 488, Reason: "Not Acceptable Here"}
	}
	l.sdp.srtp.logKeyed(log, l.kind.String())
	mc, _ := media.CodecByName(codec.Name)
	l.m.Update(media.Params{Remote: ans.Addr, Codec: mc, DTMF: dtmf})
	l.m.SetDirection(true, true) // the RTP timeout starts now (openSession)
	l.sdp.codec, l.sdp.dtmf = codec, dtmf
	return nil
}

// reinvite answers a re-INVITE on the leg: hold (sendonly or inactive, or
// c=0.0.0.0) stops our sending to it and, when bridged, plays music to the
// other party; unhold undoes both; a codec change is applied. ok is false
// when the offer was refused (no session: 500; no codec: 488). A late
// offer (no SDP) is answered with our offer; the answer in its ACK
// (FromAck) is applied the same way as an offer, and answered with nothing.
func (l *leg) reinvite(e sip.EventReinvite, other *media.Session, bridged bool, music *media.Prompt) (hold bool, codec string, ok bool) {
	sess := l.m
	if sess == nil {
		e.Reply(nil, 500)
		return false, "", false
	}
	if e.Late {
		e.Reply(l.sdp.offer(sess.LocalAddr(), l.sdp.codec.Name), 200)
		return false, l.sdp.codec.Name, true
	}
	format, dtmf, err := sip.Negotiate(e.Offer, supportedCodecs)
	if err == nil && e.FromAck {
		err = l.sdp.srtp.acceptAnswer(e.Offer, sess)
	} else if err == nil {
		err = l.sdp.srtp.acceptOffer(e.Offer, sess)
	}
	if err != nil || !reachable(sess.LocalAddr().Addr(), e.Offer.Addr.Addr()) {
		e.Reply(nil, 488)
		return false, "", false
	}
	mc, _ := media.CodecByName(format.Name)
	p := media.Params{Remote: e.Offer.Addr, Codec: mc, DTMF: dtmf}
	if e.Offer.Addr.Addr().IsUnspecified() {
		p.Remote = sess.Stats().Remote
	}
	sess.Update(p)
	dir := sip.AnswerDirection(e.Offer.Direction)
	if e.Offer.Addr.Addr().IsUnspecified() {
		dir = sip.DirInactive
	}
	sess.SetDirection(dir == sip.DirSendRecv || dir == sip.DirSendOnly, dir == sip.DirSendRecv || dir == sip.DirRecvOnly)
	hold = e.Offer.Hold()
	if other != nil && bridged {
		if hold {
			other.Play(music, true, nil)
		} else {
			other.StopPlayback()
		}
	}
	l.sdp.codec, l.sdp.dtmf = format, dtmf
	if e.FromAck {
		return hold, format.Name, true
	}
	l.sdp.answering(e.Offer)
	e.Reply(l.sdp.build(sess.LocalAddr(), dir), 200)
	return hold, format.Name, true
}

// dialledSession opens the media session of a leg a callback or an
// outbound call dials (b: the seat's): no DTMF acted on, its RTP timeout
// posted through tryPost.
func (e *Engine) dialledSession(cfg *config.Config, log *slog.Logger, b bool, codec sip.Format, tryPost func(any) bool) (*media.Session, error) {
	onTimeout := func() { tryPost(evRTPTimeout{b: b}) }
	return e.openSession(cfg, log.With("leg", legName(b)), netip.AddrPort{}, netip.Addr{}, codec, offerDTMF, func(rune) {}, onTimeout)
}

// reinviteOf answers a re-INVITE on the seat's leg (b) or the citizen's
// of a two-party call (a callback, an outbound call); music is what the
// other party hears while a bridged one holds.
func reinviteOf(log *slog.Logger, e sip.EventReinvite, b bool, citizen, seat *leg, bridged bool, music *media.Prompt) {
	l, other := citizen, seat
	if b {
		l, other = seat, citizen
	}
	if l == nil {
		e.Reply(nil, 500)
		return
	}
	var om *media.Session
	if other != nil {
		om = other.m
	}
	if hold, codec, ok := l.reinvite(e, om, bridged, music); ok {
		log.Info("re-INVITE", "leg", legName(b), "hold", hold, "codec", codec)
	}
}
