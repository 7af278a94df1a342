package media

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// portQuarantine is how long a released port is passed over while another
// even port is free, so that late packets of the old call find no new call
// on it.
const portQuarantine = 10 * time.Second

// portProbes is how many random ports bindLocked tries before it walks
// the range from a random point.
const portProbes = 8

// portRange hands out even UDP ports at random within the range (a
// stranger cannot guess the next call's port from the last one), skipping
// ports in use and, while any other is free, ports released in the last
// portQuarantine. Guarded by Manager.mu.
type portRange struct {
	min, max int // even min; max >= min; both 0: system-chosen ports
	used     map[int]bool
	released map[int]time.Duration // port → package clock of its release
}

func newPortRange(lo, hi int) (portRange, error) {
	r := portRange{used: map[int]bool{}, released: map[int]time.Duration{}}
	if lo == 0 && hi == 0 {
		return r, nil
	}
	lo += lo & 1
	if lo <= 0 || hi > 65535 || hi < lo {
		return portRange{}, fmt.Errorf("%w: port range %d-%d holds no even port in 1-65535", ErrConfig, lo, hi)
	}
	r.min, r.max = lo, hi
	return r, nil
}

// slots is the number of even ports in the range.
func (r *portRange) slots() int { return (r.max-r.min)/2 + 1 }

// quarantined tells whether port was released less than portQuarantine ago
// (forgetting it once that is over, so the map stays small).
func (r *portRange) quarantined(port int, now time.Duration) bool {
	at, ok := r.released[port]
	if ok && now-at >= portQuarantine {
		delete(r.released, port)
		ok = false
	}
	return ok
}

// bindLocked opens a UDP socket on a random free even port of the range:
// a few random probes, then a walk of the whole range from a random point
// (first skipping quarantined ports, then not). Ports already bound (by us
// or anyone else) are skipped; ErrNoPorts when none is left. Called with
// Manager.mu held.
func (r *portRange) bindLocked(addr netip.Addr, now time.Duration) (*net.UDPConn, int, error) {
	if r.min == 0 {
		conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
		if err != nil {
			return nil, 0, fmt.Errorf("media: bind %s: %w", addr, err)
		}
		port := int(conn.LocalAddr().(*net.UDPAddr).Port)
		r.used[port] = true
		return conn, port, nil
	}
	n := r.slots()
	try := func(port int, allowQuarantined bool) (*net.UDPConn, bool, error) {
		if r.used[port] || (!allowQuarantined && r.quarantined(port, now)) {
			return nil, false, nil
		}
		conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, uint16(port))))
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("media: bind %s port %d: %w", addr, port, err)
		}
		r.used[port] = true
		delete(r.released, port)
		return conn, true, nil
	}
	for range portProbes {
		port := r.min + 2*rand.IntN(n)
		if conn, ok, err := try(port, false); ok || err != nil {
			return conn, port, err
		}
	}
	for _, allowQuarantined := range []bool{false, true} {
		start := rand.IntN(n)
		for i := range n {
			port := r.min + 2*((start+i)%n)
			if conn, ok, err := try(port, allowQuarantined); ok || err != nil {
				return conn, port, err
			}
		}
	}
	return nil, 0, fmt.Errorf("%w in %d-%d", ErrNoPorts, r.min, r.max)
}

// releaseLocked marks port free, quarantined from now. Called with
// Manager.mu held.
func (r *portRange) releaseLocked(port int, now time.Duration) {
	delete(r.used, port)
	if r.min != 0 {
		r.released[port] = now
	}
}
