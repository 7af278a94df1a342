// Package sip is hotline's SIP edge: transports, the seat registrar with
// digest auth, trunk ACLs, SDP offer/answer, and the two kinds of call leg the
// B2BUA is made of (InboundLeg for a dialog someone opened with us,
// OutboundLeg for one we open). It speaks SIP and nothing else: it knows
// dialogs and SDP, not queues, and it never imports media or call.
//
// Lock order: Server.mu is a leaf; legs take their own mutex only, never
// while holding Server.mu.
package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// Sentinel errors of the SIP edge.
var (
	ErrDraining  = errors.New("sip: engine is draining")
	ErrNoDialog  = errors.New("sip: no such dialog")
	ErrLegClosed = errors.New("sip: leg already ended")
)

// Origin says who opened an inbound dialog.
type Origin struct {
	Trunk string // trunk name when the INVITE came through a trunk ACL
	Seat  string // extension when it came from a registered seat
}

// Handler is what the SIP edge asks of the rest of the engine. HandleInvite is
// called on the INVITE's handler goroutine with a leg that has been sent
// 100 Trying; it must return quickly, handing the leg to the goroutine that
// will own it, and that goroutine must eventually answer or reject the leg.
type Handler interface {
	HandleInvite(leg *InboundLeg)
}

// Observer counts SIP traffic; called on handler goroutines, must not block.
type Observer interface {
	SIPRequest(method string)
	SIPResponse(method string, code int)
	// CallRejected counts an INVITE refused with 503 for a limit, by reason
	// (max_calls, trunk_rate, draining, or the Admission's reason).
	CallRejected(reason string)
}

// Config is the SIP edge's configuration, built by cmd from config.Config.
type Config struct {
	Address    netip.AddrPort
	Transports []string // "udp", "tcp"
	UserAgent  string
	Registrar  *Registrar
	Trunks     func(ip netip.Addr) (name string, ok bool)
	Handler    Handler
	Observer   Observer
	Logger     *slog.Logger
	// Limits is admission control at the edge (SetLimits changes it);
	// Admission, when set, is asked after the edge's own limits.
	Limits    Limits
	Admission Admission
	Now       func() time.Time // nil = time.Now
	// MinSessionExpires is the shortest session interval (RFC 4028) a
	// caller may ask for; 0 = 90 s.
	MinSessionExpires time.Duration
	// TLS is the SIP over TLS listener and the roots of TLS peers we
	// dial; nil: no listener, the system's roots.
	TLS *TLSConfig
	// SeatKeepalive, when not 0, is how often seats registered over UDP
	// are sent an OPTIONS (keepalive.go).
	SeatKeepalive time.Duration
}

// Server owns the sipgo user agent, its listeners and the dialog table that
// routes in-dialog requests (BYE, INFO, re-INVITE, ACK) to their legs.
type Server struct {
	cfg    Config
	log    *slog.Logger
	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client
	dua    *sipgo.DialogUA
	duaNAT *sipgo.DialogUA // dua for seats behind NAT or on TCP (nat.go)
	parser *sipmsg.Parser

	draining atomic.Bool
	lim      atomic.Pointer[Limits]
	adm      *admission
	sources  *sourceLimiter
	forks    sync.Map // *sipmsg.Request (an INVITE we sent) -> *forkGuard (fork.go)

	mu      sync.Mutex
	dialogs map[string]dialogLeg // key: Call-ID|local tag|remote tag
	udp     []net.PacketConn
	tcp     []net.Listener
	tls     []net.Listener
	addrs   map[string]netip.AddrPort // bound address per transport
	// udpLocal is the first UDP listener's address: requests over UDP
	// leave from it.
	udpLocal *net.UDPAddr

	// duaTLS and duaSIPS hold dialogs over TLS (tls.go); nil without a
	// TLS listener.
	duaTLS, duaSIPS *sipgo.DialogUA
}

// dialogLeg is what the dialog table holds: either kind of leg.
type dialogLeg interface {
	handleInDialog(req *sipmsg.Request, tx sipmsg.ServerTransaction)
}

// NewServer builds the SIP edge; Listen binds it, Serve runs it.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "hotline"
	}
	if len(cfg.Transports) == 0 {
		cfg.Transports = []string{"udp", "tcp"}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MinSessionExpires <= 0 {
		cfg.MinSessionExpires = defaultMinSessionExpires
	}
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		parser:  sipmsg.NewParser(),
		dialogs: make(map[string]dialogLeg),
		addrs:   make(map[string]netip.AddrPort),
	}
	raiseUDPLimit()
	s.lim.Store(&cfg.Limits)
	s.adm = newAdmission(s.limits, cfg.Now)
	s.sources = newSourceLimiter(s.limits, cfg.Now)
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgentHostname(cfg.Address.Addr().String()),
		sipgo.WithUserAgenTLSConfig(clientTLS(cfg.TLS)),
		sipgo.WithUserAgentTransportLayerOptions(
			sipmsg.WithTransportLayerLogger(cfg.Logger.With("layer", "transport")),
			sipmsg.WithTransportLayerReadFilter(s.readFilter),
		),
		sipgo.WithUserAgentTransactionLayerOptions(
			sipmsg.WithTransactionLayerLogger(cfg.Logger.With("layer", "transaction")),
		),
	)
	if err != nil {
		return nil, fmt.Errorf("sip: user agent: %w", err)
	}
	s.ua = ua
	s.srv, err = sipgo.NewServer(ua, sipgo.WithServerLogger(cfg.Logger))
	if err != nil {
		return nil, fmt.Errorf("sip: server: %w", err)
	}
	// Every method, ACK and CANCEL included, goes through the header
	// guard and the panic recovery of handle.
	s.srv.OnRegister(s.handle(s.onRegister))
	s.srv.OnOptions(s.handle(s.onOptions))
	s.srv.OnInvite(s.handle(s.onInvite))
	s.srv.OnAck(s.handle(s.onAck))
	s.srv.OnBye(s.handle(s.onInDialog))
	s.srv.OnInfo(s.handle(s.onInDialog))
	s.srv.OnUpdate(s.handle(s.onUpdate))
	s.srv.OnRefer(s.handle(s.onRefer))
	s.srv.OnCancel(s.handle(s.onCancel))
	s.srv.OnNoRoute(s.handle(s.onNoRoute))
	return s, nil
}

// udpReadBuffer is the receive buffer asked for the UDP listener.
const udpReadBuffer = 4 << 20

// udpReaders read each UDP listener at once: sipgo parses a datagram on
// the goroutine that read it, and one reader falls behind at several
// hundred calls a second (every seat's responses come to the listener too,
// see fromListener). Messages are handled on goroutines of their own after
// parsing, so more readers change no ordering sipgo keeps.
const udpReaders = 2

// Listen binds every configured transport on the configured address. A port
// of 0 binds a free port; BoundAddr reports it (all transports share the
// port the first one got).
func (s *Server) Listen() error {
	addr, err := s.bind()
	// With port 0, the port UDP got may be taken for TCP by another
	// program: let go and try another free port.
	for try := 1; err != nil && errors.Is(err, syscall.EADDRINUSE) && s.cfg.Address.Port() == 0 && try < bindTries; try++ {
		addr, err = s.bind()
	}
	if err != nil {
		return err
	}
	return s.newClient(addr)
}

// bindTries bounds Listen's attempts at a free port shared by every
// transport.
const bindTries = 20

// bind binds every configured transport on the configured address, all on
// the port the first one got. On failure it closes what it bound.
func (s *Server) bind() (_ netip.AddrPort, err error) {
	addr := s.cfg.Address
	defer func() {
		if err == nil {
			return
		}
		for _, pc := range s.udp {
			_ = pc.Close()
		}
		for _, l := range slices.Concat(s.tcp, s.tls) {
			_ = l.Close()
		}
		s.udp, s.tcp, s.tls, s.udpLocal = nil, nil, nil, nil
		clear(s.addrs)
	}()
	for _, tr := range s.cfg.Transports {
		switch tr {
		case "udp":
			pc, err := net.ListenPacket("udp", addr.String())
			if err != nil {
				return addr, fmt.Errorf("sip: listen udp %s: %w", addr, err)
			}
			// Room for a burst while the one reader parses (the default,
			// about 200 KB, holds under a hundred datagrams); the kernel
			// caps it at net.core.rmem_max.
			if err := pc.(*net.UDPConn).SetReadBuffer(udpReadBuffer); err != nil {
				s.log.Warn("sip: udp receive buffer", "error", err)
			}
			s.udp = append(s.udp, pc)
			if s.udpLocal == nil {
				// sipgo keys the listener by this address (see fromListener)
				s.udpLocal = pc.LocalAddr().(*net.UDPAddr)
			}
			bound := pc.LocalAddr().(*net.UDPAddr).AddrPort()
			s.addrs["udp"] = bound
			addr = netip.AddrPortFrom(addr.Addr(), bound.Port())
		case "tcp":
			l, err := net.Listen("tcp", addr.String())
			if err != nil {
				return addr, fmt.Errorf("sip: listen tcp %s: %w", addr, err)
			}
			s.tcp = append(s.tcp, s.wrapTCP(l))
			bound := l.Addr().(*net.TCPAddr).AddrPort()
			s.addrs["tcp"] = bound
			addr = netip.AddrPortFrom(addr.Addr(), bound.Port())
		default:
			return addr, fmt.Errorf("sip: unknown transport %q", tr)
		}
	}
	return addr, s.bindTLS()
}

// newClient makes the client and dialog UA that send from addr.
func (s *Server) newClient(addr netip.AddrPort) error {
	host := addr.Addr().String()
	client, err := sipgo.NewClient(s.ua, sipgo.WithClientHostname(host),
		sipgo.WithClientPort(int(addr.Port())), sipgo.WithClientLogger(s.log))
	if err != nil {
		return fmt.Errorf("sip: client: %w", err)
	}
	// Every request leaves through sizeRouter (RFC 3261 18.1.1, mtu.go).
	client.TxRequester = &sizeRouter{s: s, tx: s.ua.TransactionLayer(), tp: s.ua.TransportLayer()}
	s.client = client
	s.dua = &sipgo.DialogUA{
		Client: client,
		ContactHDR: sipmsg.ContactHeader{
			Address: sipmsg.Uri{Scheme: "sip", User: "hotline", Host: host, Port: int(addr.Port())},
		},
	}
	s.tlsDialogUAs(client)
	nat := *s.dua
	nat.RewriteContact = true
	s.duaNAT = &nat
	return nil
}

// BoundAddr is the address a transport listens on, after Listen.
func (s *Server) BoundAddr(transport string) netip.AddrPort { return s.addrs[transport] }

// Serve runs the listeners until ctx ends; it returns when all have stopped.
func (s *Server) Serve(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make(chan error, udpReaders*len(s.udp)+len(s.tcp)+len(s.tls))
	for _, pc := range s.udp {
		for range udpReaders {
			wg.Add(1)
			go func() { defer wg.Done(); errs <- s.srv.ServeUDP(pc) }()
		}
	}
	for _, l := range s.tcp {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- s.srv.ServeTCP(l) }()
	}
	for _, l := range s.tls {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- s.srv.ServeTLS(l) }()
	}
	if s.cfg.SeatKeepalive > 0 && s.cfg.Registrar != nil {
		wg.Add(1)
		go func() { defer wg.Done(); s.runSeatKeepalive(ctx, s.cfg.SeatKeepalive) }()
	}
	<-ctx.Done()
	s.ua.Close()
	for _, pc := range s.udp {
		pc.Close()
	}
	for _, l := range slices.Concat(s.tcp, s.tls) {
		l.Close()
	}
	wg.Wait()
	return nil
}

// Drain makes the edge refuse new dialogs with 503 from now on.
func (s *Server) Drain() { s.draining.Store(true) }

// respond sends a response built from req and counts it.
func (s *Server) respond(req *sipmsg.Request, tx sipmsg.ServerTransaction, code int, reason string, hdrs ...sipmsg.Header) {
	res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		s.log.Debug("sip: respond failed", "method", req.Method, "code", code, "error", err)
		return
	}
	s.observeResponse(req.Method.String(), code)
}

func (s *Server) observeResponse(method string, code int) {
	if s.cfg.Observer != nil {
		s.cfg.Observer.SIPResponse(method, code)
	}
}

// allowed is the Allow header value: the methods we serve.
const allowed = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, REFER, UPDATE"

func (s *Server) onOptions(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	code := sipmsg.StatusOK
	if s.draining.Load() {
		code = sipmsg.StatusServiceUnavailable
	}
	s.respond(req, tx, code, "", sipmsg.NewHeader("Allow", allowed),
		sipmsg.NewHeader("Accept", "application/sdp"), supportedHeader())
}

func (s *Server) onRegister(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if s.cfg.Registrar == nil {
		s.respond(req, tx, sipmsg.StatusForbidden, "Registration Disabled")
		return
	}
	s.cfg.Registrar.HandleRegister(req, tx)
}

// onNoRoute answers methods we know but do not serve with 405 and an Allow
// header, and methods we do not know at all with 501 (RFC 3261 8.2.1).
func (s *Server) onNoRoute(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	switch req.Method {
	case sipmsg.SUBSCRIBE, sipmsg.NOTIFY, sipmsg.MESSAGE, sipmsg.PRACK,
		sipmsg.PUBLISH:
		s.respond(req, tx, sipmsg.StatusMethodNotAllowed, "Method Not Allowed",
			sipmsg.NewHeader("Allow", allowed))
	default:
		s.respond(req, tx, sipmsg.StatusNotImplemented, "Not Implemented",
			sipmsg.NewHeader("Allow", allowed))
	}
}

// onRefer: a REFER within a dialog goes to its leg (a seat's transfer;
// a caller's leg refuses it); outside a dialog it is refused (403): REFER
// is the engine's to act on, never passed to a trunk.
func (s *Server) onRefer(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if tag, _ := req.To().Params.Get("tag"); tag != "" {
		s.onInDialog(req, tx)
		return
	}
	s.respond(req, tx, sipmsg.StatusForbidden, "REFER Outside A Dialog")
}

// onUpdate: an UPDATE (RFC 3311) within a dialog goes to its leg; one
// outside any dialog (no To tag) is answered 481, as one whose dialog we do
// not know. An UPDATE in an early dialog finds no leg (a leg enters the
// table with its 200) and gets 481 too.
func (s *Server) onUpdate(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if tag, _ := req.To().Params.Get("tag"); tag == "" {
		s.respond(req, tx, sipmsg.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	s.onInDialog(req, tx)
}

// onCancel sees only CANCELs that matched no pending INVITE (the transaction
// layer answers the others itself, with 200 and a 487 on the INVITE).
func (s *Server) onCancel(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	s.respond(req, tx, sipmsg.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
}

func (s *Server) onAck(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if leg := s.lookup(req); leg != nil {
		leg.handleInDialog(req, tx)
		return
	}
	s.log.Debug("sip: ACK matches no dialog", "call_id", req.CallID().Value(), "source", req.Source())
}

// onInDialog routes BYE and INFO (and re-INVITEs, from onInvite) to the leg
// whose dialog they belong to; 481 when there is none.
func (s *Server) onInDialog(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	leg := s.lookup(req)
	if leg == nil {
		s.respond(req, tx, sipmsg.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	leg.handleInDialog(req, tx)
}

func dialogKey(callID, local, remote string) string {
	return callID + "|" + local + "|" + remote
}

// lookup finds the leg of an incoming in-dialog request: To is us, From the peer.
func (s *Server) lookup(req *sipmsg.Request) dialogLeg {
	cid, to, from := req.CallID(), req.To(), req.From()
	if cid == nil || to == nil || from == nil {
		return nil
	}
	lt, _ := to.Params.Get("tag")
	rt, _ := from.Params.Get("tag")
	if lt == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dialogs[dialogKey(string(*cid), lt, rt)]
}

func (s *Server) addDialog(key string, leg dialogLeg) {
	s.mu.Lock()
	s.dialogs[key] = leg
	s.mu.Unlock()
}

func (s *Server) removeDialog(key string) {
	s.mu.Lock()
	delete(s.dialogs, key)
	s.mu.Unlock()
}

// Dialogs is the number of live dialogs in the table (tests and metrics).
func (s *Server) Dialogs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.dialogs)
}

// isTrunk reports whether ip is in a trunk ACL.
func (s *Server) isTrunk(ip netip.Addr) bool {
	if s.cfg.Trunks == nil {
		return false
	}
	_, ok := s.cfg.Trunks(ip)
	return ok
}

// retryAfterSeconds is the Retry-After of a 503 for a limit.
func (s *Server) retryAfterSeconds() int {
	return max(1, int(s.limits().RetryAfter/time.Second))
}

// sourceOf parses a request's source "ip:port".
func sourceOf(req *sipmsg.Request) netip.AddrPort {
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		host, port, _ := net.SplitHostPort(req.Source())
		ip, _ := netip.ParseAddr(host)
		p, _ := strconv.Atoi(port)
		return netip.AddrPortFrom(ip, uint16(p))
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// userOf is the user part of a URI, without any ;params.
func userOf(u sipmsg.Uri) string {
	user := u.User
	if i := strings.IndexByte(user, ';'); i >= 0 {
		user = user[:i]
	}
	return user
}
