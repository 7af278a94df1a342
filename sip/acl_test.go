package sip

import (
	"net/netip"
	"testing"
)

func TestACL(t *testing.T) {
	acl := NewACL([]netip.Prefix{
		netip.MustParsePrefix("127.0.0.1/32"),
		netip.MustParsePrefix("10.1.2.3/16"), // unmasked on purpose
		netip.MustParsePrefix("2001:db8::/32"),
		netip.MustParsePrefix("::ffff:192.168.0.0/112"), // IPv4-mapped spelling of 192.168.0.0/16
		{}, // invalid: dropped
	})
	cases := []struct {
		ip   string
		want bool
	}{
		{"127.0.0.1", true},
		{"127.0.0.2", false},
		{"::ffff:127.0.0.1", true},
		{"10.1.200.9", true},
		{"10.2.0.1", false},
		{"::ffff:10.1.0.1", true},
		{"2001:db8:1::5", true},
		{"2001:db9::5", false},
		{"fe80::1%eth0", false},
		{"192.168.44.1", true},
		{"::ffff:192.168.44.1", true},
		{"192.169.0.1", false},
		{"::1", false},
	}
	for _, tc := range cases {
		if got := acl.Allows(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("Allows(%s) = %v, want %v", tc.ip, got, tc.want)
		}
	}
	if acl.Allows(netip.Addr{}) {
		t.Error("invalid address allowed")
	}
	if (ACL{}).Allows(netip.MustParseAddr("127.0.0.1")) {
		t.Error("zero ACL allowed an address")
	}
	if got := len(acl.Prefixes()); got != 4 {
		t.Errorf("%d prefixes, want 4", got)
	}
	if p := acl.Prefixes()[1]; p.String() != "10.1.0.0/16" {
		t.Errorf("prefix not masked: %s", p)
	}
}

func TestACLZonedPrefix(t *testing.T) {
	acl := NewACL([]netip.Prefix{netip.PrefixFrom(netip.MustParseAddr("fe80::1%eth0"), 64)})
	if !acl.Allows(netip.MustParseAddr("fe80::99%eth1")) {
		t.Error("link-local address not matched after dropping zones")
	}
}
