package media

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// ErrCodec is returned for a codec media cannot send or receive.
var ErrCodec = errors.New("media: unsupported codec")

// Params is what the offer/answer exchange decided for one leg.
type Params struct {
	// Remote is where to send RTP, and the source whose packets are the
	// peer's, unless another source is learnt early (see Session). The
	// zero value sends nothing.
	Remote netip.AddrPort
	// Codec is the audio codec both ways; the zero value means PCMU.
	Codec Codec
	// DTMF is the negotiated telephone-event payload type (RFC 4733);
	// 0 = none.
	DTMF uint8
}

// SessionConfig configures one leg's RTP session.
type SessionConfig struct {
	Params
	// Timeout is how long without RTP (while receiving is enabled) before
	// OnTimeout; 0 = never.
	Timeout time.Duration
	// Logger for this leg (with the call's identity); nil: the manager's.
	Logger *slog.Logger
	// OnDTMF is called on the session's reader goroutine once per RFC 4733
	// event received, when its first packet arrives. It must not block and
	// must not call Close.
	OnDTMF func(digit rune)
	// OnTimeout is called once, on a timer goroutine, when no RTP arrived
	// for Timeout; also (on the failing goroutine) when one of the
	// session's goroutines panicked, after an error log: the owner ends
	// the leg either way. It must not block.
	OnTimeout func()
	// IPv6 binds the session on the manager's Address6 (ErrConfig when it
	// has none).
	IPv6 bool
}

// SessionStats describe one session.
type SessionStats struct {
	PacketsIn  uint64         // valid RTP packets received
	PacketsOut uint64         // RTP packets sent
	LastPacket time.Time      // arrival of the last valid packet; zero if none
	Remote     netip.AddrPort // the learnt peer address; zero until one is learnt
}

// Session is one leg's RTP endpoint: a UDP socket, its reader goroutine,
// and one continuous output stream (own SSRC, sequence numbers and
// timestamps) fed by the player, the DTMF sender or a relay from another
// session. All methods are safe from any goroutine and do not block, except
// Close.
//
// Output goes to Params.Remote until a peer source is learnt, then there.
// The first packet from Remote makes it the peer; a different source (a
// peer behind NAT) is learnt only in the first 3 s after the session
// starts or Update changes Remote, only after 4 consecutive packets from
// it with one SSRC, and only at Remote's IP address or the leg's SIP peer
// address (SetSignal): a NAT changes the port, or gives the phone's public
// address, which is also where its SIP comes from. A stranger elsewhere
// is never learnt, however early it sprays. Once learnt, packets from any
// other address are dropped (DropSource), until Update gives a new Remote.
type Session struct {
	m        *Manager
	conn     *net.UDPConn
	local    netip.Addr // the address bound (Manager's Address or Address6)
	port     int
	log      *slog.Logger
	timeout  time.Duration
	handlers atomic.Pointer[handlers] // OnDTMF and OnTimeout (SetHandlers)
	slot     int                      // index in Manager.sessions, guarded by Manager.mu

	params      atomic.Pointer[Params]
	learned     atomic.Pointer[netip.AddrPort]
	signal      atomic.Pointer[netip.Addr] // the leg's SIP peer address (SetSignal)
	learnFrom   atomic.Int64               // package clock the learning window opened at
	learnGen    atomic.Uint32              // bumped by each Remote change; resets cand
	cand        candidate                  // reader goroutine only
	learnLogged atomic.Int64               // package clock of the last stranger log
	failed      atomic.Bool                // a goroutine of the session panicked
	relay       atomic.Pointer[Session]
	keepDTMF    atomic.Bool             // RFC 4733 events are detected (OnDTMF) but never relayed
	mixIn       atomic.Pointer[roomLeg] // set while a mixing room takes the inbound audio
	room        atomic.Pointer[Room]    // the room the session is in, if any
	rec         atomic.Pointer[recTap]  // set while a recording takes the inbound audio
	player      atomic.Pointer[player]
	send, recv  atomic.Bool
	closed      atomic.Bool
	lastPacket  atomic.Int64 // package clock; 0 = none yet
	packetsIn   atomic.Uint64
	packetsOut  atomic.Uint64
	inKernel    atomic.Bool  // the kernel relays this session's inbound audio (kernel.go)
	kernelAt    atomic.Int64 // package clock before which the reader does not offer its leg to the kernel
	k           kernelLeg    // guarded by kernelPath.mu

	reader    sync.WaitGroup
	closeOnce sync.Once
	timing    timeoutState
	rx        dtmfReceiver // reader goroutine only
	txMu      sync.Mutex   // guards tx
	tx        dtmfSender
	txState   atomic.Uint32 // txIdle, txPending or txSending; written under txMu

	outMu sync.Mutex // guards out and writes to conn
	out   output

	// srtp is set while the leg speaks SRTP (SetSRTP, srtp.go).
	srtp atomic.Pointer[srtpPair]
}

// NewSession binds an even UDP port from the manager's range (skipping
// ports in use, round-robin), and starts the session's reader goroutine and
// (with a Timeout) its timer. It does not send anything until a player,
// DTMF sender or relay gives it audio.
func (m *Manager) NewSession(cfg SessionConfig) (*Session, error) {
	p, err := normalize(cfg.Params)
	if err != nil {
		return nil, err
	}
	local := m.addr
	if cfg.IPv6 {
		if !m.addr6.IsValid() {
			return nil, fmt.Errorf("%w: no IPv6 address", ErrConfig)
		}
		local = m.addr6
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, ErrClosed
	}
	conn, port, err := m.ports.bindLocked(local, m.now())
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	s := &Session{
		m:       m,
		conn:    conn,
		local:   local,
		port:    port,
		log:     cfg.Logger,
		timeout: cfg.Timeout,
		slot:    -1,
	}
	s.SetHandlers(cfg.OnDTMF, cfg.OnTimeout)
	if s.log == nil {
		s.log = m.log
	}
	s.log = s.log.With("rtp_port", port)
	s.params.Store(&p)
	s.learnFrom.Store(int64(m.now()))
	s.send.Store(true)
	s.recv.Store(true)
	s.out.init()
	s.startTimer()
	if err := m.register(s); err != nil {
		s.stopTimer()
		m.mu.Lock()
		m.ports.releaseLocked(port, m.now())
		m.mu.Unlock()
		return nil, errors.Join(err, conn.Close())
	}
	s.reader.Add(1)
	go s.readLoop()
	return s, nil
}

// normalize checks p's codec: zero means PCMU, anything but PCMU/PCMA is
// ErrCodec; the codec is made canonical. The remote address is unmapped (IPv4-in-IPv6 to IPv4).
func normalize(p Params) (Params, error) {
	if p.Codec == (Codec{}) {
		p.Codec = PCMU
	}
	c, ok := CodecByPayloadType(p.Codec.PayloadType)
	if !ok || c.ClockRate != p.Codec.ClockRate {
		return p, fmt.Errorf("%w: %s/%d (payload type %d)", ErrCodec, p.Codec.Name, p.Codec.ClockRate, p.Codec.PayloadType)
	}
	p.Codec = c
	p.Remote = netip.AddrPortFrom(p.Remote.Addr().Unmap(), p.Remote.Port())
	return p, nil
}

// LocalAddr is the address and port the session receives RTP on.
func (s *Session) LocalAddr() netip.AddrPort {
	return netip.AddrPortFrom(s.local, uint16(s.port))
}

// Update applies new Params (a re-INVITE, an answer). A new Remote forgets
// the learnt peer and opens a new learning window: output goes to the new
// Remote, whose first packet makes it the peer again. A codec media does
// not support is refused with a log line and the old params stay.
func (s *Session) Update(p Params) {
	p, err := normalize(p)
	if err != nil {
		s.log.Warn("rtp update refused", "err", err)
		return
	}
	old := s.params.Swap(&p)
	if old.Remote != p.Remote {
		s.learnFrom.Store(int64(s.m.now()))
		s.learnGen.Add(1)
		s.learned.Store(nil)
	}
	s.kernelRecheck()
}

// SetDirection sets what the session does (hold): send=false drops all
// output (player, DTMF, relay) and the stream resumes with a marker;
// recv=false suspends the RTP timeout, which restarts in full when
// receiving is enabled again.
func (s *Session) SetDirection(send, recv bool) {
	if !s.send.Swap(send) && send {
		s.outMu.Lock()
		s.out.restart = true
		s.outMu.Unlock()
	}
	if !s.recv.Swap(recv) && recv {
		s.timing.rearm(s.m.now())
	}
	s.kernelRecheck()
}

// SetSignal names the address the leg's SIP comes from (or goes to): the
// one address besides the SDP's where a peer behind NAT may be learnt.
// Safe from any goroutine; an invalid addr clears it.
func (s *Session) SetSignal(addr netip.Addr) {
	if !addr.IsValid() {
		s.signal.Store(nil)
		return
	}
	a := addr.Unmap()
	s.signal.Store(&a)
}

// Stats returns the session's counters.
func (s *Session) Stats() SessionStats {
	s.kernelFold()
	st := SessionStats{PacketsIn: s.packetsIn.Load(), PacketsOut: s.packetsOut.Load()}
	if t := s.lastPacket.Load(); t != 0 {
		st.LastPacket = s.m.epoch.Add(time.Duration(t))
	}
	if a := s.learned.Load(); a != nil {
		st.Remote = *a
	}
	return st
}

// Close stops the session: its timer, player (onDone runs), relay and
// reader goroutine (unblocked by a read deadline, waited for), then closes
// the socket and returns the port to the range. It blocks until the reader
// has returned, also when another goroutine is closing the session at the
// same time; later calls return nil. It must not be called from OnDTMF.
func (s *Session) Close() error {
	var err error
	s.closeOnce.Do(func() { err = s.close() })
	return err
}

func (s *Session) close() error {
	s.closed.Store(true)
	s.stopTimer()
	s.relay.Store(nil)
	s.kernelRecheck()
	if pl := s.player.Swap(nil); pl != nil {
		pl.finish()
	}
	err := s.conn.SetReadDeadline(time.Now())
	s.reader.Wait()
	s.outMu.Lock()
	err = errors.Join(err, s.conn.Close())
	s.outMu.Unlock()
	s.m.unregister(s)
	if err != nil {
		return fmt.Errorf("media: close session on port %d: %w", s.port, err)
	}
	return nil
}

// fail ends the session's part after a recovered panic in one of its
// goroutines: the pacer skips it from now on and the owner hears of it
// through OnTimeout (once, like a timeout), and ends the leg.
func (s *Session) fail(what string) {
	if s.failed.Swap(true) || s.closed.Load() {
		return
	}
	s.log.Error("rtp session failed", "cause", what)
	s.kernelRecheck()
	if s.timing.fired.CompareAndSwap(false, true) {
		s.timedOut()
	}
}

// handlers are a session's callbacks (SessionConfig.OnDTMF, OnTimeout).
type handlers struct {
	dtmf    func(rune)
	timeout func()
}

// SetHandlers replaces the session's OnDTMF and OnTimeout (nil: none):
// a leg handed from one call to another reports to its new owner from
// the next event on. Safe from any goroutine.
func (s *Session) SetHandlers(onDTMF func(rune), onTimeout func()) {
	s.handlers.Store(&handlers{dtmf: onDTMF, timeout: onTimeout})
}

func (s *Session) timedOut() {
	if f := s.handlers.Load().timeout; f != nil {
		f()
	}
}

// dest is where output goes: the learnt peer address, else Params.Remote.
func (s *Session) dest() netip.AddrPort {
	if a := s.learned.Load(); a != nil {
		return *a
	}
	return s.params.Load().Remote
}

// drop counts a packet refused or not sent, under its reason.
func (s *Session) drop(why DropReason) { s.m.stats.dropped[why].Add(1) }
