package sip

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
)

// TestListenPortTakenForTCP: with a fixed port whose TCP side another
// program holds, Listen fails with EADDRINUSE and lets go of the UDP port
// it had bound; with port 0 every transport shares one free port.
func TestListenPortTakenForTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).AddrPort()
	s, err := NewServer(Config{Address: taken, Transports: []string{"udp", "tcp"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Listen on a taken TCP port: %v", err)
	}
	pc, err := net.ListenPacket("udp", taken.String())
	if err != nil {
		t.Fatalf("the UDP port was not let go: %v", err)
	}
	pc.Close()

	s, err = NewServer(Config{Address: netip.MustParseAddrPort("127.0.0.1:0"), Transports: []string{"udp", "tcp"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, pc := range s.udp {
			pc.Close()
		}
		for _, l := range s.tcp {
			l.Close()
		}
	}()
	if u, c := s.BoundAddr("udp"), s.BoundAddr("tcp"); u != c || u.Port() == 0 {
		t.Fatalf("udp %v, tcp %v", u, c)
	}
}
