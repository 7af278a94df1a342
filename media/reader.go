package media

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/pion/rtp"
)

const (
	// maxReadErrors consecutive socket errors end a reader loop (logged)
	// instead of spinning.
	maxReadErrors = 100
	// learnLogEvery rate-limits the log of peer address changes.
	learnLogEvery = 10 * time.Second
)

// readLoop is the session's only reader: one buffer and one packet value
// it owns, each packet handled synchronously (STYLE 8). It returns when
// Close sets the read deadline or closes the socket.
func (s *Session) readLoop() {
	defer s.reader.Done()
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

// handlePacket is the packet path: validate, learn the peer, note the
// arrival, detect DTMF, relay. pkt's payload points into data (borrowed,
// never kept). It allocates nothing for valid packets.
func (s *Session) handlePacket(pkt *rtp.Packet, data []byte, src netip.AddrPort, now time.Duration) {
	if len(data) < 12 || data[0]>>6 != 2 {
		s.drop()
		return
	}
	if err := pkt.Unmarshal(data); err != nil {
		s.drop()
		return
	}
	p := s.params.Load()
	isDTMF := p.DTMF != 0 && pkt.PayloadType == p.DTMF
	if !isDTMF && pkt.PayloadType != p.Codec.PayloadType {
		s.drop()
		return
	}
	s.learn(netip.AddrPortFrom(src.Addr().Unmap(), src.Port()), now)
	s.lastPacket.Store(int64(now))
	s.packetsIn.Add(1)
	s.m.stats.packetsIn.Add(1)
	if isDTMF {
		if digit, ok := s.rx.observe(pkt.SSRC, pkt.Timestamp, pkt.Payload); ok {
			s.m.stats.dtmfEvents.Add(1)
			if s.onDTMF != nil {
				s.onDTMF(digit)
			}
		}
	}
	s.relayPacket(&pkt.Header, pkt.Payload, isDTMF, p, now)
}

// learn makes src the output address (symmetric RTP, RFC 4961 spirit):
// valid packets show where the peer really is, whatever the SDP said.
func (s *Session) learn(src netip.AddrPort, now time.Duration) {
	if cur := s.learned.Load(); cur != nil && *cur == src {
		return
	}
	prev := s.dest()
	learned := src // a copy, so that only a change allocates
	s.learned.Store(&learned)
	if prev == src {
		return // the peer sends from where it said it would
	}
	last := s.learnLogged.Load()
	if (last == 0 || now-time.Duration(last) >= learnLogEvery) && s.learnLogged.CompareAndSwap(last, int64(now)) {
		s.log.Info("rtp peer address changed", "from", prev, "to", src)
	}
}

// relayPacket sends a received packet on through the session it relays to
// (if any): audio in that session's codec, events with its telephone-event
// payload type. Dropped while the destination plays a prompt or sends DTMF
// of its own (its player wins), or when it cannot take the payload.
func (s *Session) relayPacket(h *rtp.Header, payload []byte, isDTMF bool, in *Params, now time.Duration) {
	d := s.relay.Load()
	if d == nil {
		return
	}
	if d.closed.Load() || d.player.Load() != nil || d.txState.Load() == txSending {
		s.drop()
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
		if out.DTMF == 0 || len(payload) < 4 {
			s.drop()
			return
		}
		pt, samples = out.DTMF, uint32(eventDuration(payload))
	case in.Codec.PayloadType == out.Codec.PayloadType:
	case in.Codec.PayloadType == PCMU.PayloadType && out.Codec.PayloadType == PCMA.PayloadType:
		table = &mulawToAlaw
	case in.Codec.PayloadType == PCMA.PayloadType && out.Codec.PayloadType == PCMU.PayloadType:
		table = &alawToMulaw
	default:
		s.drop()
		return
	}
	if d.sendRelayed(s, h, payload, pt, table, samples, now) {
		s.m.stats.packetsRelayed.Add(1)
	}
}
