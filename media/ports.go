package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// portRange hands out even UDP ports round-robin, so that a port just
// released is the last to be used again (late packets of the old call then
// find no new call on it). Guarded by Manager.mu.
type portRange struct {
	min, max int // even min; max >= min; both 0: system-chosen ports
	next     int
	used     map[int]bool
}

func newPortRange(lo, hi int) (portRange, error) {
	if lo == 0 && hi == 0 {
		return portRange{used: map[int]bool{}}, nil
	}
	lo += lo & 1
	if lo <= 0 || hi > 65535 || hi < lo {
		return portRange{}, fmt.Errorf("%w: port range %d-%d holds no even port in 1-65535", ErrConfig, lo, hi)
	}
	return portRange{min: lo, max: hi, next: lo, used: map[int]bool{}}, nil
}

// bindLocked opens a UDP socket on the next free even port of the range. Ports
// already bound (by us or anyone else) are skipped; ErrNoPorts when none is
// left. Called with Manager.mu held.
func (r *portRange) bindLocked(addr netip.Addr) (*net.UDPConn, int, error) {
	if r.min == 0 {
		conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
		if err != nil {
			return nil, 0, fmt.Errorf("media: bind %s: %w", addr, err)
		}
		port := int(conn.LocalAddr().(*net.UDPAddr).Port)
		r.used[port] = true
		return conn, port, nil
	}
	for range (r.max-r.min)/2 + 1 {
		port := r.next
		r.next += 2
		if r.next > r.max {
			r.next = r.min
		}
		if r.used[port] {
			continue
		}
		conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, uint16(port))))
		if errors.Is(err, syscall.EADDRINUSE) {
			continue
		}
		if err != nil {
			return nil, 0, fmt.Errorf("media: bind %s port %d: %w", addr, port, err)
		}
		r.used[port] = true
		return conn, port, nil
	}
	return nil, 0, fmt.Errorf("%w in %d-%d", ErrNoPorts, r.min, r.max)
}

// releaseLocked marks port free. Called with Manager.mu held.
func (r *portRange) releaseLocked(port int) { delete(r.used, port) }
