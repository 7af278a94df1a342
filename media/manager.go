package media

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
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
	// PortMin and PortMax bound the RTP ports (inclusive; only even ports
	// are used, RFC 3550 §11). Both 0: the system picks any free port
	// (tests).
	PortMin, PortMax int
	// Logger receives the package's logs; nil discards them.
	Logger *slog.Logger
}

// Stats are the Manager's counters since it started, read atomically (each
// field on its own, not as one snapshot).
type Stats struct {
	ActiveSessions int
	PacketsIn      uint64 // valid RTP packets received
	PacketsOut     uint64 // RTP packets sent
	PacketsRelayed uint64 // received packets sent on through a relay
	PacketsDropped uint64 // received packets refused, or output not sent
	DTMFEvents     uint64 // DTMF digits received (RFC 4733 events, each once)
	Timeouts       uint64 // sessions whose RTP timeout fired
}

// counters are the atomic backing of Stats.
type counters struct {
	packetsIn, packetsOut, packetsRelayed, packetsDropped, dtmfEvents, timeouts atomic.Uint64
}

// Manager owns the RTP port range, the sessions bound from it and the one
// pacer goroutine that clocks every session's player and DTMF sender. Its
// methods are safe from any goroutine.
type Manager struct {
	addr   netip.Addr
	log    *slog.Logger
	epoch  time.Time // monotonic origin of the package's clock
	ports  portRange
	stats  counters
	done   chan struct{}
	pacing sync.WaitGroup

	mu       sync.Mutex // guards sessions, closed and ports
	sessions []*Session // index kept in Session.slot
	closed   bool
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
		log:   log,
		epoch: time.Now(),
		ports: ports,
		done:  make(chan struct{}),
	}
	m.pacing.Add(1)
	go m.pace()
	return m, nil
}

// now is the package clock: time since the manager started, monotonic.
func (m *Manager) now() time.Duration { return time.Since(m.epoch) }

// Stats returns the manager's counters.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	active := len(m.sessions)
	m.mu.Unlock()
	return Stats{
		ActiveSessions: active,
		PacketsIn:      m.stats.packetsIn.Load(),
		PacketsOut:     m.stats.packetsOut.Load(),
		PacketsRelayed: m.stats.packetsRelayed.Load(),
		PacketsDropped: m.stats.packetsDropped.Load(),
		DTMFEvents:     m.stats.dtmfEvents.Load(),
		Timeouts:       m.stats.timeouts.Load(),
	}
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
	return errors.Join(errs...)
}

// register adds s to the live sessions; it fails once the manager closed.
func (m *Manager) register(s *Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	s.slot = len(m.sessions)
	m.sessions = append(m.sessions, s)
	return nil
}

// unregister removes s and frees its port for later reuse.
func (m *Manager) unregister(s *Session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	last := len(m.sessions) - 1
	if s.slot < 0 || s.slot > last || m.sessions[s.slot] != s {
		return
	}
	m.sessions[s.slot] = m.sessions[last]
	m.sessions[s.slot].slot = s.slot
	m.sessions[last] = nil
	m.sessions = m.sessions[:last]
	s.slot = -1
	m.ports.releaseLocked(s.port)
}

// pace is the shared clock: every 20 ms it gives each live session one
// tick, in which its DTMF sender or player sends at most one packet. A
// session costs an atomic load per tick when it plays nothing.
func (m *Manager) pace() {
	defer m.pacing.Done()
	ticker := time.NewTicker(frameInterval)
	defer ticker.Stop()
	var batch []*Session
	for {
		select {
		case <-m.done:
			return
		case <-ticker.C:
		}
		m.mu.Lock()
		batch = append(batch[:0], m.sessions...)
		m.mu.Unlock()
		now := m.now()
		for _, s := range batch {
			s.tick(now)
		}
		clear(batch)
	}
}

// frameInterval is the packetisation time of everything media sends.
const frameInterval = 20 * time.Millisecond
