package config

import (
	"errors"
	"net/netip"
	"testing"
)

// TestSeatAllowed: where a seat may register from and what its Contact may
// be, with the trunk carrier at 10.0.0.0/24 (outbound sip:10.0.0.9:5080)
// and another trunk whose outbound address is a host on the seat network.
func TestSeatAllowed(t *testing.T) {
	probs, c := problems(t, edit(t,
		"sip:\n", "sip:\n  seat_networks: [192.168.0.0/16, 10.0.0.0/8, \"fd00::/8\"]\n",
		"    acl: [127.0.0.1/32]\n", "    acl: [10.0.0.0/24]\n    outbound: sip:10.0.0.9:5080\n  - {name: pbx, acl: [10.9.0.1], outbound: \"sip:192.168.5.5\"}\n",
	))
	if probs != nil {
		t.Fatalf("refused:\n%v", (&Errors{probs}).Error())
	}
	cases := []struct {
		name string
		src  string
		host string
		port int
		want error
	}{
		{"seat on the LAN", "192.168.1.10", "192.168.1.10", 5060, nil},
		{"contact another LAN host", "192.168.1.10", "10.1.2.3", 0, nil},
		{"IPv6 seat", "fd00::10", "[fd00::10]", 5070, nil},
		{"mapped source", "::ffff:192.168.1.10", "192.168.1.10", 5060, nil},
		{"source in a trunk ACL", "10.0.0.5", "192.168.1.10", 5060, ErrSeatFromTrunk},
		{"source outside", "203.0.113.7", "192.168.1.10", 5060, ErrSeatOutside},
		{"contact outside", "192.168.1.10", "203.0.113.7", 5060, ErrSeatOutside},
		{"contact in a trunk ACL", "192.168.1.10", "10.0.0.77", 5060, ErrSeatContactTrunk},
		{"contact is a trunk's outbound address", "192.168.1.10", "192.168.5.5", 0, ErrSeatContactTrunk},
		{"same host, other port than the outbound", "192.168.1.10", "192.168.5.5", 5070, nil},
		{"contact host name", "192.168.1.10", "carrier.example.com", 5060, ErrSeatContactNotIP},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.SeatAllowed(netip.MustParseAddr(tc.src), tc.host, tc.port)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("SeatAllowed = %v, want %v", err, tc.want)
			}
		})
	}
}
