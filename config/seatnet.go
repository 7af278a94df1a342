package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Reasons a seat's REGISTER is refused (SeatAllowed).
var (
	ErrSeatFromTrunk    = errors.New("config: REGISTER from a trunk address")
	ErrSeatOutside      = errors.New("config: outside sip.seat_networks")
	ErrSeatContactTrunk = errors.New("config: Contact is a trunk address")
	ErrSeatContactNotIP = errors.New("config: Contact host is not an IP address")
)

// DefaultSeatNetworks is sip.seat_networks when the key is absent: loopback,
// the RFC 1918 private networks and IPv6 unique-local addresses. Seats on any
// other network (a public address, a CGNAT range) must be listed.
func DefaultSeatNetworks() []netip.Prefix {
	return []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"),
		netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("fc00::/7"),
	}
}

// SeatAllowed decides whether a seat may register from src with a Contact
// at host:port (port 0: the default 5060). Refused, with the reason: a
// source in a trunk ACL (a source there is always the trunk); a source or a
// Contact outside sip.seat_networks; a Contact host that is not an IP
// literal (it could not be checked); a Contact inside a trunk ACL or equal
// to a trunk's outbound address (stolen seat credentials must not turn
// queue calls into carrier calls).
func (c *Config) SeatAllowed(src netip.Addr, host string, port int) error {
	src = src.Unmap()
	if t, ok := c.TrunkFor(src); ok {
		return fmt.Errorf("%w: source %s is in trunk %s", ErrSeatFromTrunk, src, t.Name)
	}
	if !inPrefixes(c.SIP.SeatNetworks, src) {
		return fmt.Errorf("%w: source %s", ErrSeatOutside, src)
	}
	ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if err != nil {
		return fmt.Errorf("%w: %q", ErrSeatContactNotIP, host)
	}
	ip = ip.Unmap()
	if !inPrefixes(c.SIP.SeatNetworks, ip) {
		return fmt.Errorf("%w: Contact %s", ErrSeatOutside, ip)
	}
	if t, ok := c.TrunkFor(ip); ok {
		return fmt.Errorf("%w: %s is in trunk %s's ACL", ErrSeatContactTrunk, ip, t.Name)
	}
	if port == 0 {
		port = 5060
	}
	for _, t := range c.Trunks {
		if t.Outbound != "" && sameHostPort(t.Outbound, ip, port) {
			return fmt.Errorf("%w: %s is trunk %s's outbound address", ErrSeatContactTrunk, t.Outbound, t.Name)
		}
	}
	return nil
}

func inPrefixes(ps []netip.Prefix, ip netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// sameHostPort reports whether the URI sip:host[:port] names ip:port.
func sameHostPort(uri string, ip netip.Addr, port int) bool {
	hp, _ := strings.CutPrefix(uri, "sip:")
	hp, _, _ = strings.Cut(hp, ";")
	host, ps := hp, "5060"
	if ap, err := netip.ParseAddrPort(hp); err == nil {
		return ap.Addr().Unmap() == ip && int(ap.Port()) == port
	}
	if i := strings.LastIndexByte(hp, ':'); i > 0 && !strings.Contains(hp[:i], ":") {
		host, ps = hp[:i], hp[i+1:]
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && a.Unmap() == ip && ps == strconv.Itoa(port)
}
