package media

import (
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/media/fastpath"
)

// kernelRetry is how often a leg may be (re)written to the kernel: an
// install that failed, or a leg whose packets keep reaching user space
// (its peer changed SSRC), is tried again at most this often.
const kernelRetry = time.Second

// kernelPath is the Manager's side of the kernel fast path (package
// fastpath): which sessions have their inbound leg relayed by the kernel,
// and the bookkeeping that keeps counters, the RTP timeout and each output
// stream's continuity right across a leg's moves between kernel and user
// space.
//
// A leg goes to the kernel from its own reader goroutine (offer), after a
// packet of a plain same-codec relay went through user space, so the
// destination's output stream has switched to that source and its
// offsets are known. It leaves (recheck) as soon as anything the kernel
// cannot do is asked of either session: a prompt or DTMF sent on the
// destination, a recording or mixing room taking the source's audio, a new
// remote address or codec, hold, the relay's end, Close.
type kernelPath struct {
	p   *fastpath.Path
	log *slog.Logger

	mu   sync.Mutex // guards legs and every Session.k; taken before Session.outMu
	legs map[*Session]struct{}
}

// kernelLeg is a session's kernel state, guarded by kernelPath.mu.
type kernelLeg struct {
	dst    *Session      // the leg in the kernel relays to dst; nil: none
	from   *Session      // the session whose kernel leg relays into this one
	leg    fastpath.Leg  // as written
	folded uint64        // kernel packets already added to the counters
	seen   time.Duration // package clock of the newest kernel packet folded
}

func openKernelPath(addr netip.Addr, log *slog.Logger) (*kernelPath, error) {
	p, err := fastpath.Open(addr)
	if err != nil {
		return nil, err
	}
	return &kernelPath{p: p, log: log, legs: map[*Session]struct{}{}}, nil
}

// FastPath says which relay path the manager uses: "kernel" (bridged
// same-codec legs are relayed by the eBPF program) or "user".
func (m *Manager) FastPath() string {
	if m.kernel != nil {
		return "kernel"
	}
	return "user"
}

// KernelLegs is how many legs the kernel relays now.
func (m *Manager) KernelLegs() int {
	k := m.kernel
	if k == nil {
		return 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.legs)
}

// InKernel tells whether s's inbound audio is relayed by the kernel now.
func (s *Session) InKernel() bool { return s.inKernel.Load() }

// kernelCandidate is the cheap test run on the reader goroutine after a
// relayed packet: whether s → d is a plain same-codec relay the kernel
// could take. It reads only atomics.
func (s *Session) kernelCandidate(d *Session) bool {
	if s.closed.Load() || d.closed.Load() || s.failed.Load() || d.failed.Load() ||
		s.relay.Load() != d || s.rec.Load() != nil || s.mixIn.Load() != nil ||
		d.player.Load() != nil || d.txState.Load() != txIdle || !d.send.Load() ||
		s.Secure() || d.Secure() { // SRTP is decrypted and sealed in user space
		return false
	}
	sp, dp := s.params.Load(), d.params.Load()
	return sp.Codec.PayloadType == dp.Codec.PayloadType && s.learned.Load() != nil && d.learned.Load() != nil
}

// kernelLeg describes s → d for the kernel from d's output stream, which
// must have switched to s's relayed packets (offsets and SSRC known).
func (s *Session) kernelLeg(d *Session) (fastpath.Leg, bool) {
	remote, out := s.learned.Load(), d.learned.Load()
	if remote == nil || out == nil {
		return fastpath.Leg{}, false
	}
	d.outMu.Lock()
	defer d.outMu.Unlock()
	o := &d.out
	if o.src.kind != srcRelay || o.src.from != s || o.restart || !o.started {
		return fastpath.Leg{}, false
	}
	return fastpath.Leg{
		Local: s.LocalAddr(), Remote: *remote,
		OutLocal: d.LocalAddr(), OutRemote: *out,
		InSSRC: o.src.ssrc, OutSSRC: o.hdr.SSRC,
		SeqOff: o.seqOff, TSOff: o.tsOff,
		PT: s.params.Load().Codec.PayloadType,
	}, true
}

// offer runs on s's reader goroutine after it relayed an audio packet to
// d in user space: the leg goes to the kernel if it can (or, if it is
// there already and still reached user space, is written again with the
// present offsets), at most once per kernelRetry.
func (k *kernelPath) offer(s, d *Session, now time.Duration) {
	if now < time.Duration(s.kernelAt.Load()) || !s.kernelCandidate(d) {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if !s.kernelCandidate(d) {
		return
	}
	leg, ok := s.kernelLeg(d)
	if !ok {
		return
	}
	if s.k.dst != nil {
		k.takeLocked(s)
	}
	if f := d.k.from; f != nil {
		k.takeLocked(f)
	}
	s.kernelAt.Store(int64(now + kernelRetry))
	if err := k.p.Put(leg); err != nil {
		k.log.Warn("rtp leg stays in user space", "err", err)
		return
	}
	s.k.dst, s.k.leg, s.k.folded = d, leg, 0
	d.k.from = s
	k.legs[s] = struct{}{}
	s.inKernel.Store(true)
}

// recheck takes out of the kernel every leg that involves s and can no
// longer stay there. Called after a change to s (or with s closing), from
// any goroutine; it may block on a map update.
func (k *kernelPath) recheck(s *Session) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if d := s.k.dst; d != nil && !k.stillLocked(s, d) {
		k.takeLocked(s)
	}
	if f := s.k.from; f != nil && !k.stillLocked(f, s) {
		k.takeLocked(f)
	}
}

// stillLocked: whether the kernel leg s → d is still right.
func (k *kernelPath) stillLocked(s, d *Session) bool {
	if !s.kernelCandidate(d) {
		return false
	}
	l := s.k.leg
	remote, out := s.learned.Load(), d.learned.Load()
	return remote != nil && out != nil && *remote == l.Remote && *out == l.OutRemote
}

// takeLocked removes s's leg from the kernel and folds its last counters
// into the sessions: packets in and out, the last arrival (RTP timeout),
// and the destination's output stream (sequence number and timestamp), so
// that what user space sends next continues the stream.
func (k *kernelPath) takeLocked(s *Session) {
	d := s.k.dst
	c, ok := k.p.Take(s.k.leg.Local, s.k.leg.Remote)
	if ok {
		k.foldLocked(s, c)
		if c.Packets > 0 {
			d.outMu.Lock()
			d.out.note(c.LastSeq, c.LastTS, uint32(c.LastLen), s.k.seen)
			d.outMu.Unlock()
		}
	}
	s.inKernel.Store(false)
	s.kernelAt.Store(0) // back as soon as it can
	d.k.from = nil
	s.k = kernelLeg{from: s.k.from}
	delete(k.legs, s)
}

// foldLocked adds what the kernel relayed for s since the last fold.
func (k *kernelPath) foldLocked(s *Session, c fastpath.Counters) {
	n := c.Packets - s.k.folded
	if n == 0 {
		return
	}
	s.k.folded = c.Packets
	seen := c.Last.Sub(s.m.epoch)
	s.k.seen = seen
	for {
		last := s.lastPacket.Load()
		if last >= int64(seen) || s.lastPacket.CompareAndSwap(last, int64(seen)) {
			break
		}
	}
	d := s.k.dst
	s.packetsIn.Add(n)
	d.packetsOut.Add(n)
	st := &s.m.stats
	st.packetsIn.Add(n)
	st.packetsOut.Add(n)
	st.packetsRelayed.Add(n)
	st.kernelRelayed.Add(n)
}

// fold brings s's counters up to date with the kernel (RTP timeout, Stats).
func (k *kernelPath) fold(s *Session) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if s.k.dst == nil {
		return
	}
	if c, ok := k.p.Read(s.k.leg.Local, s.k.leg.Remote); ok {
		k.foldLocked(s, c)
	}
}

// foldAll is fold for every leg in the kernel (Manager.Stats).
func (k *kernelPath) foldAll() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for s := range k.legs {
		if c, ok := k.p.Read(s.k.leg.Local, s.k.leg.Remote); ok {
			k.foldLocked(s, c)
		}
	}
}

func (k *kernelPath) close() error {
	k.mu.Lock()
	for s := range k.legs {
		k.takeLocked(s)
	}
	k.mu.Unlock()
	return k.p.Close()
}

// kernelRecheck is kernelPath.recheck when the manager has a kernel path.
func (s *Session) kernelRecheck() {
	if k := s.m.kernel; k != nil {
		k.recheck(s)
	}
}

// kernelFold is kernelPath.fold when s has a leg in the kernel.
func (s *Session) kernelFold() {
	if k := s.m.kernel; k != nil && s.inKernel.Load() {
		k.fold(s)
	}
}
