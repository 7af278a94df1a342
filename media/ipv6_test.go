package media

import (
	"errors"
	"net/netip"
	"testing"
)

// TestSessionIPv6: a session asked for IPv6 binds the manager's Address6
// and reports it; a manager without one refuses it.
func TestSessionIPv6(t *testing.T) {
	for _, tc := range []struct {
		name  string
		addr6 netip.Addr
	}{{"with address6", netip.IPv6Loopback()}, {"without", netip.Addr{}}} {
		m, err := NewManager(Config{Address: netip.MustParseAddr("127.0.0.1"), Address6: tc.addr6})
		if err != nil {
			t.Fatal(err)
		}
		s, err := m.NewSession(SessionConfig{Params: Params{Codec: PCMU}, IPv6: true})
		if !tc.addr6.IsValid() {
			if !errors.Is(err, ErrConfig) {
				t.Errorf("%s: %v", tc.name, err)
			}
			m.Close()
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := s.LocalAddr().Addr(); got != tc.addr6 {
			t.Errorf("%s: bound %v", tc.name, got)
		}
		v4, err := m.NewSession(SessionConfig{Params: Params{Codec: PCMU}})
		if err != nil {
			t.Fatal(err)
		}
		if got := v4.LocalAddr().Addr(); !got.Is4() {
			t.Errorf("%s: the IPv4 session bound %v", tc.name, got)
		}
		_ = s.Close()
		_ = v4.Close()
		m.Close()
	}
}
