package testpeer

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// Errors of the RTP endpoint.
var (
	ErrRTPTimeout  = errors.New("testpeer: timed out waiting for RTP")
	ErrRTPNoRemote = errors.New("testpeer: no remote RTP address to send to")
	ErrRTPClosed   = errors.New("testpeer: RTP peer closed")
)

const (
	frameSamples  = 160 // 20 ms at 8 kHz
	frameInterval = 20 * time.Millisecond
	rtpBufSize    = 1500
	// learnTimeout bounds how long a send with a zero remote waits for the
	// first packet to learn where to send.
	learnTimeout = 10 * time.Second
)

// RTPPeer is a Go RTP endpoint on 127.0.0.1: the caller's ear and mouth while
// SIPp does the signalling. One goroutine reads (decoding G.711 into Received
// and noting headers and RFC 4733 digits); one goroutine sends queued jobs in
// order, paced at 20 ms. All methods are safe for concurrent use.
type RTPPeer struct {
	t    testing.TB
	conn *net.UDPConn
	ip   netip.Addr
	port int

	mu        sync.Mutex
	pcm       []int16
	hdrs      []rtp.Header
	src       netip.AddrPort
	digits    []rune
	lastEndTS uint32
	sawEnd    bool
	waiters   []countWaiter
	lastJob   chan struct{} // done channel of the most recently queued job
	sendErr   error

	jobs      chan sendJob
	closed    chan struct{}
	closeOnce sync.Once
	loops     sync.WaitGroup
	tx        txState // owned by the sender goroutine
	readHdr   rtp.Header
}

// countWaiter is woken when the packet count reaches n.
type countWaiter struct {
	n  int
	ch chan struct{}
}

// NewRTPPeer binds 127.0.0.1:0 (UDP), starts its reader and sender, and
// registers Close with t.Cleanup.
func NewRTPPeer(t testing.TB) *RTPPeer {
	t.Helper()
	return NewRTPPeerOn(t, netip.AddrFrom4([4]byte{127, 0, 0, 1}))
}

// NewRTPPeerOn is NewRTPPeer bound on ip (::1 for an IPv6 caller).
func NewRTPPeerOn(t testing.TB, ip netip.Addr) *RTPPeer {
	t.Helper()
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	if err != nil {
		t.Fatalf("rtp peer: %v", err)
	}
	p := &RTPPeer{
		t: t, conn: conn, ip: ip, port: conn.LocalAddr().(*net.UDPAddr).Port,
		pcm:    make([]int16, 0, 8000*10),
		hdrs:   make([]rtp.Header, 0, 500),
		jobs:   make(chan sendJob, 64),
		closed: make(chan struct{}),
		tx:     newTxState(),
	}
	p.loops.Add(2)
	go p.readLoop()
	go p.sendLoop()
	t.Cleanup(p.Close)
	return p
}

// Port is the local UDP port (put it in the SDP, e.g. -set media_port).
func (p *RTPPeer) Port() int { return p.port }

// Addr is the bound address and Port (127.0.0.1 unless NewRTPPeerOn).
func (p *RTPPeer) Addr() netip.AddrPort {
	return netip.AddrPortFrom(p.ip, uint16(p.port))
}

// Close stops both goroutines and closes the socket; it returns once they have
// exited. Idempotent.
func (p *RTPPeer) Close() {
	p.closeOnce.Do(func() {
		close(p.closed)
		_ = p.conn.Close()
		p.loops.Wait()
	})
}

// Received returns a copy of the decoded PCM (8 kHz) of every PT 0/8 packet
// received so far, in arrival order.
func (p *RTPPeer) Received() []int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int16(nil), p.pcm...)
}

// Packets returns a copy of the headers of every packet received so far.
func (p *RTPPeer) Packets() []rtp.Header {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]rtp.Header(nil), p.hdrs...)
}

// Digits returns the RFC 4733 digits received so far (one per event end).
func (p *RTPPeer) Digits() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return string(p.digits)
}

// Source is the address the most recent packet came from (zero before any).
func (p *RTPPeer) Source() netip.AddrPort {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.src
}

// WaitPackets blocks until at least n packets have been received in total.
func (p *RTPPeer) WaitPackets(n int, timeout time.Duration) error {
	ch := p.countReached(n)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-ch:
		return nil
	case <-timer.C:
		return fmt.Errorf("%w: %d of %d packets after %v", ErrRTPTimeout, len(p.Packets()), n, timeout)
	case <-p.closed:
		return ErrRTPClosed
	}
}

// countReached returns a channel closed once n packets have arrived.
func (p *RTPPeer) countReached(n int) <-chan struct{} {
	ch := make(chan struct{})
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.hdrs) >= n {
		close(ch)
		return ch
	}
	p.waiters = append(p.waiters, countWaiter{n: n, ch: ch})
	return ch
}

// readLoop owns the read buffer; per packet it parses into a reused header
// and appends to preallocated slices under the lock (no channel, no
// goroutine, no allocation beyond amortised slice growth).
func (p *RTPPeer) readLoop() {
	defer p.loops.Done()
	buf := make([]byte, rtpBufSize)
	for {
		n, from, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		hn, err := p.readHdr.Unmarshal(buf[:n])
		if err != nil || p.readHdr.Version != 2 {
			continue
		}
		p.record(from, buf[hn:n])
	}
}

func (p *RTPPeer) record(from netip.AddrPort, payload []byte) {
	h := p.readHdr
	if len(h.CSRC) > 0 {
		h.CSRC = append([]uint32(nil), h.CSRC...)
	}
	h.Extensions = nil
	p.mu.Lock()
	defer p.mu.Unlock()
	p.src = from
	p.hdrs = append(p.hdrs, h)
	p.pcm = DecodeG711(p.pcm, h.PayloadType, payload)
	if h.PayloadType >= 96 && len(payload) == 4 {
		p.noteEventLocked(h.Timestamp, payload)
	}
	p.wakeLocked()
}

// noteEventLocked records a digit at the first end packet of an RFC 4733
// event (RFC 4733 section 2.5.1.4: end packets are sent three times).
func (p *RTPPeer) noteEventLocked(ts uint32, payload []byte) {
	if payload[1]&0x80 == 0 || (p.sawEnd && p.lastEndTS == ts) {
		return
	}
	p.sawEnd, p.lastEndTS = true, ts
	if d := eventDigit(payload[0]); d != 0 {
		p.digits = append(p.digits, d)
	}
}

func (p *RTPPeer) wakeLocked() {
	kept := p.waiters[:0]
	for _, w := range p.waiters {
		if len(p.hdrs) >= w.n {
			close(w.ch)
			continue
		}
		kept = append(kept, w)
	}
	p.waiters = kept
}
