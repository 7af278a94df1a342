package media

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotline-cc/hotline/internal/guard"
)

// Errors of the media package.
var (
	ErrNoPorts = errors.New("media: no free RTP port")
	ErrConfig  = errors.New("media: bad config")
	ErrClosed  = errors.New("media: closed")
)

// Config is what a Manager needs. It is read once by NewManager.
type Config struct {
	// Address is the local IP every session binds, and what LocalAddr
	// reports for the call layer to put in SDP: use a concrete address.
	Address netip.Addr
	// Address6, when valid, is the IPv6 address sessions opened with
	// SessionConfig.IPv6 bind (Address being IPv4).
	Address6 netip.Addr
	// PortMin and PortMax bound the RTP ports (inclusive; only even ports
	// are used, RFC 3550 §11). Both 0: the system picks any free port
	// (tests).
	PortMin, PortMax int
	// Logger receives the package's logs; nil discards them.
	Logger *slog.Logger
	// UnbatchedSends makes the pacer send each prompt, music, DTMF and
	// mixed packet on its session's own socket, one sendto each, instead
	// of batching a tick's packets into sendmmsg on a raw socket (the
	// default where the process may open one: CAP_NET_RAW on Linux).
	UnbatchedSends bool
	// FastPath tries the kernel fast path (package fastpath) for bridged
	// same-codec legs; where it cannot be loaded (privileges, kernel,
	// IPv6) the user-space relay serves every leg, as it does without.
	FastPath bool
}

// Stats are the Manager's counters since it started, read atomically (each
// field on its own, not as one snapshot).
type Stats struct {
	ActiveSessions int
	RoomsMixing    int                 // rooms of three or more legs (Room): calls mixed now
	Recordings     int                 // recordings being written (Recorder)
	PacketsIn      uint64              // valid RTP packets received
	PacketsOut     uint64              // RTP packets sent
	PacketsRelayed uint64              // received packets sent on through a relay
	PacketsDropped uint64              // received packets refused, or output not sent: the sum of Dropped
	Dropped        [DropReasons]uint64 // PacketsDropped by DropReason
	DTMFEvents     uint64              // DTMF digits received (RFC 4733 events, each once)
	Timeouts       uint64              // sessions whose RTP timeout fired
	KernelLegs     int                 // legs the kernel fast path relays now
	KernelRelayed  uint64              // of PacketsRelayed, those the kernel relayed
}

// DropReason says why a packet was dropped (the label of the dropped
// counter).
type DropReason uint8

// Drop reasons.
const (
	DropMalformed   DropReason = iota // not RTP version 2, or unparseable
	DropPayloadType                   // a payload type that was not negotiated
	DropSource                        // from an address other than the peer's (see Session)
	DropDTMF                          // an RFC 4733 event over the session's digit limits
	DropRelay                         // a relayed packet the other leg could not take now
	DropOutput                        // output not sent: no address, sending off, socket error
	DropSRTPAuth                      // an SRTP packet whose auth tag is wrong (RFC 3711 §3.3)
	DropSRTPReplay                    // an SRTP packet seen before, or older than the replay window
	DropReasons                       // the number of reasons
)

var dropNames = [DropReasons]string{"malformed", "payload_type", "source", "dtmf_limit", "relay", "output", "srtp_auth", "srtp_replay"}

// String is the reason's metric label.
func (r DropReason) String() string {
	if r >= DropReasons {
		return "unknown"
	}
	return dropNames[r]
}

// counters are the atomic backing of Stats.
type counters struct {
	packetsIn, packetsOut, packetsRelayed, dtmfEvents, timeouts atomic.Uint64
	kernelRelayed                                               atomic.Uint64
	dropped                                                     [DropReasons]atomic.Uint64
}

// Manager owns the RTP port range, the sessions bound from it and the one
// pacer goroutine that clocks every session's player and DTMF sender. Its
// methods are safe from any goroutine.
type Manager struct {
	addr   netip.Addr
	addr6  netip.Addr // zero: no IPv6 sessions
	log    *slog.Logger
	epoch  time.Time // monotonic origin of the package's clock
	ports  portRange
	stats  counters
	kernel *kernelPath // nil: every packet is relayed in user space
	done   chan struct{}
	pacing sync.WaitGroup

	mu       sync.Mutex // guards sessions, rooms, closed and ports
	sessions []*Session // index kept in Session.slot
	rooms    []paced    // mixing rooms and recordings, index kept in their slot
	closed   bool

	batch *sendBatch // the pacer's sends; nil: one sendto each (pacer goroutine only)
}

// NewManager validates cfg and starts the shared pacer goroutine (one 20 ms
// ticker for all sessions). Close stops it.
func NewManager(cfg Config) (*Manager, error) {
	if !cfg.Address.IsValid() {
		return nil, fmt.Errorf("%w: no local address", ErrConfig)
	}
	ports, err := newPortRange(cfg.PortMin, cfg.PortMax)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Manager{
		addr:  cfg.Address.Unmap(),
		addr6: cfg.Address6,
		log:   log,
		epoch: time.Now(),
		ports: ports,
		done:  make(chan struct{}),
	}
	if !cfg.UnbatchedSends {
		b, err := newSendBatch()
		if err != nil {
			log.Info("pacer sends one packet per system call", "reason", err)
		} else {
			m.batch = b
			log.Info("pacer sends batched", "per_call", batchSize)
		}
	}
	if cfg.FastPath {
		m.kernel, err = openKernelPath(m.addr, log)
		if err != nil {
			log.Warn("rtp relay in user space: kernel fast path unavailable", "path", "user", "err", err)
		} else {
			log.Info("rtp relay: bridged same-codec legs in the kernel", "path", "kernel", "interface", m.kernel.p.Interface())
		}
	} else {
		log.Info("rtp relay in user space", "path", "user")
	}
	m.pacing.Add(1)
	go m.pace()
	return m, nil
}

// now is the package clock: time since the manager started, monotonic.
func (m *Manager) now() time.Duration { return time.Since(m.epoch) }

// Stats returns the manager's counters.
func (m *Manager) Stats() Stats {
	if m.kernel != nil {
		m.kernel.foldAll()
	}
	m.mu.Lock()
	active, mixing := len(m.sessions), 0
	recording := 0
	for _, p := range m.rooms {
		switch p := p.(type) {
		case *Room:
			if p.plan.Load() != nil {
				mixing++
			}
		case *Recorder:
			recording++
		}
	}
	m.mu.Unlock()
	st := Stats{
		ActiveSessions: active,
		RoomsMixing:    mixing,
		Recordings:     recording,
		PacketsIn:      m.stats.packetsIn.Load(),
		PacketsOut:     m.stats.packetsOut.Load(),
		PacketsRelayed: m.stats.packetsRelayed.Load(),
		DTMFEvents:     m.stats.dtmfEvents.Load(),
		Timeouts:       m.stats.timeouts.Load(),
		KernelLegs:     m.KernelLegs(),
		KernelRelayed:  m.stats.kernelRelayed.Load(),
	}
	for i := range st.Dropped {
		st.Dropped[i] = m.stats.dropped[i].Load()
		st.PacketsDropped += st.Dropped[i]
	}
	return st
}

// Close stops the pacer and closes every session. It blocks until all
// their goroutines have returned. Later calls return nil.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	live := append([]*Session(nil), m.sessions...)
	m.mu.Unlock()
	close(m.done)
	m.pacing.Wait()
	var errs []error
	for _, s := range live {
		errs = append(errs, s.Close())
	}
	if m.kernel != nil {
		errs = append(errs, m.kernel.close())
	}
	return errors.Join(errs...)
}

// register adds s to the live sessions; it fails once the manager closed.
func (m *Manager) register(s *Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	appendSlotted(&m.sessions, s, &s.slot)
	return nil
}

// unregister removes s and frees its port for later reuse.
func (m *Manager) unregister(s *Session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if removeSlotted(&m.sessions, s, &s.slot, func(s *Session) *int { return &s.slot }) {
		m.ports.releaseLocked(s.port, m.now())
	}
}

// appendSlotted appends x to *list and keeps its index in *slot.
func appendSlotted[T any](list *[]T, x T, slot *int) {
	*slot = len(*list)
	*list = append(*list, x)
}

// removeSlotted removes x, kept at *slot, from *list by moving the last
// element into its place (whose index slotOf gives); false when x is not
// there.
func removeSlotted[T comparable](list *[]T, x T, slot *int, slotOf func(T) *int) bool {
	l := *list
	last := len(l) - 1
	if *slot < 0 || *slot > last || l[*slot] != x {
		return false
	}
	l[*slot] = l[last]
	*slotOf(l[*slot]) = *slot
	var zero T
	l[last] = zero
	*list = l[:last]
	*slot = -1
	return true
}

// pace is the shared clock: every 20 ms it gives each live session one
// tick, in which its DTMF sender or player sends at most one packet, then
// each room one (a mixing room sends each listener one frame, after the
// players so that a prompt wins). A session costs an atomic load per tick
// when it plays nothing, a room one when it does not mix.
func (m *Manager) pace() {
	defer m.pacing.Done()
	if m.batch != nil {
		defer m.batch.close()
	}
	defer guard.Recover(m.log, "media_pacer", nil)
	ticker := time.NewTicker(frameInterval)
	defer ticker.Stop()
	var (
		batch []*Session
		rooms []paced
	)
	for {
		select {
		case <-m.done:
			return
		case <-ticker.C:
		}
		m.mu.Lock()
		batch = append(batch[:0], m.sessions...)
		rooms = append(rooms[:0], m.rooms...)
		m.mu.Unlock()
		m.paceOnce(batch, rooms, m.now())
		clear(batch)
		clear(rooms)
	}
}

// paceOnce is one tick of the pacer: the sessions, then the rooms, then
// the batch of what they sent.
func (m *Manager) paceOnce(batch []*Session, rooms []paced, now time.Duration) {
	for i := 0; i < len(batch); {
		i = m.tickFrom(batch, i, now)
	}
	for i := 0; i < len(rooms); {
		i = m.mixFrom(rooms, i, now)
	}
	if m.batch != nil {
		m.batch.flush()
	}
}

// Batched reports whether the pacer batches its sends (sendmmsg on a raw
// socket) rather than one sendto per packet.
func (m *Manager) Batched() bool { return m.batch != nil }

// paced is what the pacer ticks after the sessions: mixing rooms and
// recordings, each failed alone by a panic in its tick.
type paced interface {
	tick(now time.Duration, b *sendBatch)
	fail()
	slotPtr() *int
}

// registerPaced adds p to what the pacer ticks; it fails once the
// manager closed.
func (m *Manager) registerPaced(p paced) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	appendSlotted(&m.rooms, p, p.slotPtr())
	return nil
}

// unregisterPaced removes p from what the pacer ticks.
func (m *Manager) unregisterPaced(p paced) {
	m.mu.Lock()
	defer m.mu.Unlock()
	removeSlotted(&m.rooms, p, p.slotPtr(), paced.slotPtr)
}

// mixFrom ticks rooms[i:] like tickFrom: a panic fails that room (or
// recording) only.
func (m *Manager) mixFrom(rooms []paced, i int, now time.Duration) (next int) {
	defer guard.Recover(m.log, "media_mixer", func(any) {
		rooms[next].fail()
		next++
	})
	for next = i; next < len(rooms); next++ {
		rooms[next].tick(now, m.batch)
	}
	return next
}

// tickFrom ticks batch[i:] and returns len(batch). A panic in a session's
// tick fails that session only (logged, counted, reported to its owner)
// and returns the index after it, so pacing goes on for the others; the
// recover costs one deferred call per tick, not one per session.
func (m *Manager) tickFrom(batch []*Session, i int, now time.Duration) (next int) {
	defer guard.Recover(m.log, "media_pacer", func(any) {
		batch[next].fail("pacer panicked")
		next++
	})
	for next = i; next < len(batch); next++ {
		batch[next].tick(now, m.batch)
	}
	return next
}

// frameInterval is the packetisation time of everything media sends.
const frameInterval = 20 * time.Millisecond
