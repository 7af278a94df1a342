package sip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// DialOptions describe an outbound INVITE.
type DialOptions struct {
	Target      string // SIP URI to send the INVITE to (a seat's Contact, a department)
	FromUser    string // calling number presented to the far side
	FromDisplay string
	SDP         []byte // our offer
	// AutoAnswer asks the phone to answer at once (Call-Info
	// answer-after=0, as desk phones and softphones honour for intercom and
	// a supervisor's monitoring).
	AutoAnswer bool
	// SessionExpires, when not 0, asks for a session timer (RFC 4028)
	// refreshed by the engine (legtimer.go).
	SessionExpires time.Duration
}

// OutboundLeg is a dialog we open: a seat's phone ringing, a department
// hotline. Dial sends the INVITE; WaitAnswer waits for the outcome.
type OutboundLeg struct {
	legCore
	d     *sipgo.DialogClientSession
	up    atomic.Bool
	forks *forkGuard // the INVITE's other 2xx answers (fork.go)
	// timerAsked: the INVITE asked for a session timer; timer runs it
	// once the 2xx agreed (legtimer.go).
	timerAsked bool
	timer      atomic.Pointer[legTimer]
	// REFER progress: NOTIFYs queued in order for one sender (refer.go).
	referOnce sync.Once
	notifies  chan *sipmsg.Request
	notified  atomic.Pointer[chan struct{}] // closed when the last NOTIFY is out
}

// URIHostIP is the host of a SIP URI when it is an IP address (the zero
// Addr otherwise, or when uri does not parse).
func URIHostIP(uri string) netip.Addr {
	var u sipmsg.Uri
	if sipmsg.ParseUri(uri, &u) != nil {
		return netip.Addr{}
	}
	ip, err := netip.ParseAddr(strings.Trim(u.Host, "[]"))
	if err != nil {
		return netip.Addr{}
	}
	return ip.Unmap()
}

// Dial sends an INVITE and returns at once. The caller must then call
// WaitAnswer (from a goroutine that may block).
func (s *Server) Dial(ctx context.Context, o DialOptions) (*OutboundLeg, error) {
	if err := checkHeaderValue(o.FromUser, o.FromDisplay); err != nil {
		return nil, err
	}
	target, route := splitTarget(o.Target) // a seat behind a proxy (path.go)
	var uri sipmsg.Uri
	if err := sipmsg.ParseUri(target, &uri); err != nil {
		return nil, fmt.Errorf("sip: dial %q: %w", o.Target, err)
	}
	req := sipmsg.NewRequest(sipmsg.INVITE, uri)
	if tr, ok := uri.UriParams.Get("transport"); ok && tr != "" {
		req.SetTransport(tr)
	}
	if len(route) > 0 {
		withRoute(req, route) // through the proxy the seat registered by
	} else {
		s.viaConnection(req, o.Target)
	}
	s.fromListener(req)
	dua := s.seatDialog(req, o.Target)
	from := &sipmsg.FromHeader{
		DisplayName: o.FromDisplay,
		Address:     sipmsg.Uri{Scheme: "sip", User: o.FromUser, Host: s.dua.ContactHDR.Address.Host},
	}
	from.Params.Add("tag", sipmsg.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ToHeader{Address: sipmsg.Uri{Scheme: "sip", User: uri.User, Host: uri.Host, Port: uri.Port}})
	req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	req.AppendHeader(sipmsg.NewHeader("Allow", allowed))
	if o.AutoAnswer {
		req.AppendHeader(sipmsg.NewHeader("Call-Info", "<"+uri.String()+">;answer-after=0"))
	}
	if o.SessionExpires > 0 {
		for _, h := range sessionOffer(o.SessionExpires) {
			req.AppendHeader(h)
		}
	}
	req.SetBody(o.SDP)
	if s.cfg.Observer != nil {
		s.cfg.Observer.SIPRequest("INVITE_OUT")
	}
	if tls := s.duaFor(req); tls != s.dua {
		dua = tls
	}
	forks := s.guardForks(req)
	d, err := dua.WriteInvite(ctx, req)
	if err != nil {
		forks.release()
		return nil, fmt.Errorf("sip: dial %s: %w", o.Target, err)
	}
	return &OutboundLeg{legCore: legCore{s: s, dua: dua}, d: d, forks: forks, timerAsked: o.SessionExpires > 0}, nil
}

// WaitAnswer blocks until the far side answers (nil, with its SDP in
// AnswerSDP) or fails (a *RejectError for a final non-2xx). Cancelling ctx
// before the answer sends CANCEL. onProvisional, if set, sees every
// provisional code, 100 Trying included.
// On success the leg is in the dialog table and has been ACKed.
func (l *OutboundLeg) WaitAnswer(ctx context.Context, onProvisional func(code int)) error {
	err := l.d.WaitAnswer(ctx, sipgo.AnswerOptions{OnResponse: func(res *sipmsg.Response) error {
		if res.IsProvisional() && onProvisional != nil {
			onProvisional(res.StatusCode)
		}
		return nil
	}})
	l.forks.release()
	if err != nil {
		l.endLateAnswer()
		l.ended.Store(true)
		var rej *sipgo.ErrDialogResponse
		if errors.As(err, &rej) {
			return &RejectError{Code: rej.Res.StatusCode, Reason: rej.Res.Reason}
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return err
	}
	res := l.d.InviteResponse
	local, _ := l.d.InviteRequest.From().Params.Get("tag")
	remote, _ := res.To().Params.Get("tag")
	l.key = dialogKey(res.CallID().Value(), local, remote)
	l.s.addDialog(l.key, l)
	l.up.Store(true)
	err = l.d.Ack(ctx)
	l.forks.keep(remote, false) // after our ACK: a fork's ACK and BYE follow it
	if err != nil {
		return fmt.Errorf("sip: ack: %w", err)
	}
	l.startTimer()
	return nil
}

// AnswerSDP is the SDP of the far side's 200.
func (l *OutboundLeg) AnswerSDP() []byte {
	if r := l.d.InviteResponse; r != nil {
		return r.Body()
	}
	return nil
}

// CallID of our dialog with the far side.
func (l *OutboundLeg) CallID() string { return l.d.InviteRequest.CallID().Value() }

// Context ends when the dialog ends.
func (l *OutboundLeg) Context() context.Context { return l.d.Context() }

// Hangup sends BYE on an answered leg. Idempotent.
func (l *OutboundLeg) Hangup(ctx context.Context) error {
	if !l.up.Load() {
		return nil
	}
	l.awaitNotifies()
	if !l.end() {
		return nil
	}
	defer l.s.removeDialog(l.key)
	ctx, cancel := detached(ctx)
	defer cancel()
	return l.d.Bye(ctx)
}

func (l *OutboundLeg) handleInDialog(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if req.Method == sipmsg.ACK {
		l.takeLateAck(req) // the ACK of a 200 we sent to the far side's re-INVITE
		return
	}
	if req.Method == sipmsg.REFER {
		l.s.handleRefer(&l.events, req, tx, l.notifyRefer)
		return
	}
	if t := l.timer.Load(); t != nil && (req.Method == sipmsg.INVITE || req.Method == sipmsg.UPDATE) {
		refresher := "uac" // the far side sends this refresh and refreshes
		if t.engine {
			refresher = "uas"
		}
		tx = &refreshTx{ServerTransaction: tx, se: t.se, refresher: refresher, refreshed: l.noteRefresh}
	}
	l.inDialog(req, tx, l.d.ReadBye)
}

// ErrBadHeaderValue: CR or LF in a value we would put in a header.
var ErrBadHeaderValue = errors.New("sip: CR/LF in header value")

// checkHeaderValue refuses CR/LF in values that come from config or API input
// (sipgo does not validate what it is given; header injection otherwise).
func checkHeaderValue(vals ...string) error {
	for _, v := range vals {
		for i := 0; i < len(v); i++ {
			if v[i] == '\r' || v[i] == '\n' {
				return ErrBadHeaderValue
			}
		}
	}
	return nil
}

// fromListener makes a request over UDP leave from the UDP listener, so
// that the far side sees (and answers) the address it registered with or
// was told, whether or not it sent us anything before. Without it sipgo
// opens a socket of its own, on every interface, for a destination it has
// not heard from.
func (s *Server) fromListener(req *sipmsg.Request) {
	if !strings.EqualFold(req.Transport(), "udp") {
		return
	}
	if s.udpLocal == nil {
		return
	}
	req.Laddr = sipmsg.Addr{IP: s.udpLocal.IP, Port: s.udpLocal.Port, Hostname: s.udpLocal.IP.String()}
}
