package sip

import "net/netip"

// ACL is an allow-list of IP prefixes, used to tell trunk traffic (a carrier's
// signalling addresses) from everything else. The zero ACL allows nothing.
// An ACL is immutable once built, so it is safe for concurrent use.
type ACL struct {
	prefixes []netip.Prefix
}

// NewACL builds an ACL from prefixes. Each prefix is masked; an IPv4-mapped
// IPv6 prefix (::ffff:10.0.0.0/104) is stored as its IPv4 form, so both
// spellings of an IPv4 network match both spellings of an IPv4 address.
// Invalid (zero) prefixes are dropped.
func NewACL(prefixes []netip.Prefix) ACL {
	out := make([]netip.Prefix, 0, len(prefixes))
	for _, p := range prefixes {
		if !p.IsValid() {
			continue
		}
		out = append(out, normalizePrefix(p))
	}
	return ACL{prefixes: out}
}

// normalizePrefix masks p, drops any zone and turns an IPv4-mapped IPv6 prefix
// of at least 96 bits into the IPv4 prefix it denotes.
func normalizePrefix(p netip.Prefix) netip.Prefix {
	addr := p.Addr().WithZone("")
	bits := p.Bits()
	if addr.Is4In6() && bits >= 96 {
		addr = addr.Unmap()
		bits -= 96
	}
	return netip.PrefixFrom(addr, bits).Masked()
}

// Allows reports whether ip falls in one of the ACL's prefixes. An
// IPv4-mapped IPv6 address is checked as the IPv4 address it carries.
func (a ACL) Allows(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	ip = ip.Unmap().WithZone("")
	for _, p := range a.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Prefixes returns a copy of the ACL's normalised prefixes.
func (a ACL) Prefixes() []netip.Prefix {
	return append([]netip.Prefix(nil), a.prefixes...)
}
