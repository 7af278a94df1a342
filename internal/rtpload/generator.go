package rtpload

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// ErrConfig reports a Config the generator cannot run with.
var ErrConfig = errors.New("rtpload: bad config")

// Config shapes a generator. Zero values take the defaults noted.
type Config struct {
	Address      netip.Addr    // where both sockets bind; default 127.0.0.1
	MaxStreams   int           // calls per side at most; required
	PayloadType  uint8         // 0 PCMU or 8 PCMA; default 0
	Interval     time.Duration // frame interval per stream; default 20 ms
	Slots        int           // the interval is split into this many pacer ticks, each sending a share of the streams; default 4
	SocketBuffer int           // SO_RCVBUF/SO_SNDBUF bytes; default 4 MiB
}

func (c Config) withDefaults() (Config, error) {
	if c.MaxStreams <= 0 {
		return c, fmt.Errorf("%w: MaxStreams %d", ErrConfig, c.MaxStreams)
	}
	if c.PayloadType != 0 && c.PayloadType != 8 {
		return c, fmt.Errorf("%w: payload type %d is not PCMU (0) or PCMA (8)", ErrConfig, c.PayloadType)
	}
	if !c.Address.IsValid() {
		c.Address = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	if c.Interval <= 0 {
		c.Interval = 20 * time.Millisecond
	}
	if c.Slots <= 0 {
		c.Slots = 4
	}
	if c.SocketBuffer <= 0 {
		c.SocketBuffer = 4 << 20
	}
	return c, nil
}

// Generator plays both ends of many calls' media. Create with New, then
// Start; StopSending before reading the final Report; Close at the end.
type Generator struct {
	cfg     Config
	sides   [2]*endpoint
	stop    chan struct{}
	stopped sync.Once
	pacer   sync.WaitGroup
	readers sync.WaitGroup

	ticks, late atomic.Uint64
	maxWork     atomic.Int64 // longest tick's sending time, ns
}

// New binds the caller and the seat socket.
func New(cfg Config) (*Generator, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	g := &Generator{cfg: cfg, stop: make(chan struct{})}
	for _, s := range []side{callerSide, seatSide} {
		e, err := newEndpoint(s, cfg.Address, cfg)
		if err != nil {
			g.closeConns()
			return nil, fmt.Errorf("rtpload: %s socket: %w", s, err)
		}
		g.sides[s] = e
	}
	g.sides[callerSide].other = g.sides[seatSide]
	g.sides[seatSide].other = g.sides[callerSide]
	return g, nil
}

// CallerAddr is where the engine should send the callers' media (the SDP
// offer's c=/m= of every caller).
func (g *Generator) CallerAddr() netip.AddrPort { return g.sides[callerSide].addr() }

// SeatAddr is where the engine should send the seats' media (the SDP answer
// of every seat).
func (g *Generator) SeatAddr() netip.AddrPort { return g.sides[seatSide].addr() }

// Start starts the two readers and the pacer.
func (g *Generator) Start() {
	for _, e := range g.sides {
		g.readers.Add(1)
		go func() {
			defer g.readers.Done()
			e.read()
		}()
	}
	g.pacer.Add(1)
	go g.pace()
}

// Streams is how many calls each side has learned so far.
func (g *Generator) Streams() (callers, seats int) {
	return int(g.sides[callerSide].count.Load()), int(g.sides[seatSide].count.Load())
}

// StopSending stops the pacer and returns once it has stopped; the readers
// keep counting what is still in flight.
func (g *Generator) StopSending() {
	g.stopped.Do(func() { close(g.stop) })
	g.pacer.Wait()
}

// Close stops sending, closes both sockets and waits for the readers.
func (g *Generator) Close() error {
	g.StopSending()
	err := g.closeConns()
	g.readers.Wait()
	return err
}

func (g *Generator) closeConns() error {
	var errs []error
	for _, e := range g.sides {
		if e != nil {
			errs = append(errs, e.conn.Close())
		}
	}
	return errors.Join(errs...)
}

// pace is the one sending goroutine: each tick sends the next frame of one
// slot's share of every side's streams, so each stream sends once per
// Interval and the load is spread over it.
func (g *Generator) pace() {
	defer g.pacer.Done()
	step := g.cfg.Interval / time.Duration(g.cfg.Slots)
	ticker := time.NewTicker(step)
	defer ticker.Stop()
	slot := 0
	prev := time.Now()
	for {
		select {
		case <-g.stop:
			return
		case now := <-ticker.C:
			if now.Sub(prev) > step*3/2 {
				g.late.Add(1)
			}
			prev = now
			g.tick(slot)
			if work := time.Since(now).Nanoseconds(); work > g.maxWork.Load() {
				g.maxWork.Store(work)
			}
			g.ticks.Add(1)
			slot = (slot + 1) % g.cfg.Slots
		}
	}
}

func (g *Generator) tick(slot int) {
	for _, e := range g.sides {
		n := int(e.count.Load())
		for i := slot; i < n; i += g.cfg.Slots {
			e.send(i)
		}
	}
}
