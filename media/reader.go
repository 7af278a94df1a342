package media

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/pion/rtp"

	"github.com/hotline-cc/hotline/internal/guard"
)

const (
	// maxReadErrors consecutive socket errors end a reader loop (logged)
	// instead of spinning.
	maxReadErrors = 100
	// learnLogEvery rate-limits the log of packets dropped for their source.
	learnLogEvery = 10 * time.Second
	// learnWindow is how long after a session starts, or after its remote
	// address changes (Update), a source other than the remote address can
	// be learnt.
	learnWindow = 3 * time.Second
	// learnPackets is how many consecutive packets of one source and SSRC
	// make that source the peer.
	learnPackets = 4
)

// candidate is a source that is sending during the learning window and is
// not the peer yet. Reader goroutine only.
type candidate struct {
	gen  uint32 // Session.learnGen it was counted under
	addr netip.AddrPort
	ssrc uint32
	n    int // consecutive packets so far
}

// readLoop is the session's only reader: one buffer and one packet value
// it owns, each packet handled synchronously (STYLE 8). It returns when
// Close sets the read deadline or closes the socket. A panic ends this
// session only: it is logged, counted and reported to the owner through
// OnTimeout.
func (s *Session) readLoop() {
	defer s.reader.Done()
	defer guard.Recover(s.log, "media_reader", func(any) { s.fail("reader panicked") })
	buf := make([]byte, maxPacket)
	var pkt rtp.Packet
	pkt.CSRC = make([]uint32, 0, 15)
	pkt.Extensions = make([]rtp.Extension, 0, 16)
	failures := 0
	for {
		n, src, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if s.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			if failures++; failures >= maxReadErrors {
				s.log.Error("rtp reader stops", "err", err, "failures", failures)
				return
			}
			continue
		}
		failures = 0
		s.handlePacket(&pkt, buf[:n], src, s.m.now())
	}
}

// handlePacket is the packet path: validate, check the source, note the
// arrival, detect DTMF, relay. pkt's payload points into data (borrowed,
// never kept). It allocates nothing for valid packets.
func (s *Session) handlePacket(pkt *rtp.Packet, data []byte, src netip.AddrPort, now time.Duration) {
	if len(data) < 12 || data[0]>>6 != 2 {
		s.drop(DropMalformed)
		return
	}
	data, ok := s.unprotect(data)
	if !ok {
		return
	}
	if err := pkt.Unmarshal(data); err != nil {
		s.drop(DropMalformed)
		return
	}
	p := s.params.Load()
	isDTMF := p.DTMF != 0 && pkt.PayloadType == p.DTMF
	if !isDTMF && pkt.PayloadType != p.Codec.PayloadType {
		s.drop(DropPayloadType)
		return
	}
	if !s.admit(netip.AddrPortFrom(src.Addr().Unmap(), src.Port()), pkt.SSRC, p, now) {
		s.drop(DropSource)
		return
	}
	s.lastPacket.Store(int64(now))
	s.packetsIn.Add(1)
	s.m.stats.packetsIn.Add(1)
	if isDTMF {
		digit, report, pass := s.rx.observe(pkt.SSRC, pkt.Timestamp, pkt.Payload, now)
		if report {
			s.m.stats.dtmfEvents.Add(1)
			if f := s.handlers.Load().dtmf; f != nil {
				f(digit)
			}
		}
		if !pass {
			s.drop(DropDTMF)
			s.rx.logLimited(s.log, now)
			return
		}
	}
	if t := s.rec.Load(); t != nil && !isDTMF {
		t.put(pkt.Payload, p.Codec)
	}
	s.relayPacket(&pkt.Header, pkt.Payload, isDTMF, p, now)
}

// admit is the latch: whether a packet from src belongs to the peer.
//
//   - Once a source is learnt, only its packets are the peer's.
//   - Before that, the remote address (from SDP) is learnt by its first
//     packet, at any time.
//   - Another source (a peer behind NAT) is learnt only within learnWindow
//     of the session's start or of its last remote address change, only at
//     the remote's IP or the leg's SIP peer address (learnable), and only
//     after learnPackets consecutive packets from it with one SSRC; those
//     probation packets are dropped.
//
// Everything else is a stranger's. The check costs one atomic load and a
// compare once a source is learnt.
func (s *Session) admit(src netip.AddrPort, ssrc uint32, p *Params, now time.Duration) bool {
	if cur := s.learned.Load(); cur != nil {
		if *cur == src {
			return true
		}
		s.logStranger(src, *cur, now)
		return false
	}
	if src == p.Remote {
		s.latch(src, p)
		return true
	}
	if now-time.Duration(s.learnFrom.Load()) > learnWindow || !s.learnable(src.Addr(), p) {
		s.logStranger(src, p.Remote, now)
		return false
	}
	c := &s.cand
	if g := s.learnGen.Load(); c.gen != g {
		*c = candidate{gen: g}
	}
	if c.n == 0 || c.addr != src || c.ssrc != ssrc {
		c.addr, c.ssrc, c.n = src, ssrc, 0
	}
	if c.n++; c.n < learnPackets {
		return false
	}
	s.latch(src, p)
	if s.learned.Load() != nil {
		s.log.Info("rtp peer learnt at another address", "sdp", p.Remote, "source", src, "ssrc", ssrc)
	}
	return true
}

// learnable: a source other than the SDP address may become the peer
// only at the SDP address's IP (another port: a NAT) or at the leg's SIP
// peer address (the phone's public address).
func (s *Session) learnable(ip netip.Addr, p *Params) bool {
	if ip == p.Remote.Addr() {
		return true
	}
	sig := s.signal.Load()
	return sig != nil && *sig == ip
}

// latch makes src the peer, unless Update changed the remote address since
// p was loaded (then the new address wins and src is forgotten).
func (s *Session) latch(src netip.AddrPort, p *Params) {
	learned := src // a copy, so that only a latch allocates
	if !s.learned.CompareAndSwap(nil, &learned) {
		return
	}
	if s.params.Load().Remote != p.Remote {
		s.learned.CompareAndSwap(&learned, nil)
	}
}

// logStranger logs, at most every learnLogEvery, that packets from a
// source that is not the peer are dropped.
func (s *Session) logStranger(src, peer netip.AddrPort, now time.Duration) {
	last := s.learnLogged.Load()
	if (last == 0 || now-time.Duration(last) >= learnLogEvery) && s.learnLogged.CompareAndSwap(last, int64(now)) {
		s.log.Info("rtp from a stranger dropped", "source", src, "peer", peer)
	}
}

// relayPacket sends a received packet on through the session it relays to
// (if any): audio in that session's codec, events with its telephone-event
// payload type. Dropped while the destination plays a prompt or sends DTMF
// of its own (its player wins), or when it cannot take the payload.
// Without a relay, audio goes to the mixing room if one takes it (events
// are not mixed: they were detected above).
func (s *Session) relayPacket(h *rtp.Header, payload []byte, isDTMF bool, in *Params, now time.Duration) {
	d := s.relay.Load()
	if d == nil {
		if leg := s.mixIn.Load(); leg != nil && !isDTMF {
			leg.put(payload, in.Codec)
		}
		return
	}
	if d.closed.Load() || d.player.Load() != nil || d.txState.Load() == txSending {
		s.drop(DropRelay)
		return
	}
	out := d.params.Load()
	var (
		pt      = out.Codec.PayloadType
		table   *[256]byte
		samples = uint32(len(payload))
	)
	switch {
	case isDTMF:
		if out.DTMF == 0 || len(payload) < 4 || s.keepDTMF.Load() {
			s.drop(DropRelay)
			return
		}
		pt, samples = out.DTMF, uint32(eventDuration(payload))
	case in.Codec.PayloadType == out.Codec.PayloadType:
	case in.Codec.PayloadType == PCMU.PayloadType && out.Codec.PayloadType == PCMA.PayloadType:
		table = &mulawToAlaw
	case in.Codec.PayloadType == PCMA.PayloadType && out.Codec.PayloadType == PCMU.PayloadType:
		table = &alawToMulaw
	default:
		s.drop(DropRelay)
		return
	}
	if d.sendRelayed(s, h, payload, pt, table, samples, now) {
		s.m.stats.packetsRelayed.Add(1)
		if k := s.m.kernel; k != nil && !isDTMF && table == nil {
			k.offer(s, d, now)
		}
	}
}
