package sip

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestDialLeavesFromTheListener: an INVITE to a phone that never sent us
// anything (a seat registered from elsewhere, a department) leaves from the
// SIP listener's address, not from a socket of its own: the far side
// answers the address it knows, and nothing listens on other interfaces.
func TestDialLeavesFromTheListener(t *testing.T) {
	s, ctx := serveConfig(t, Config{Address: netip.MustParseAddrPort("127.0.0.1:0"), Transports: []string{"udp"}})

	phone, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer phone.Close()
	if _, err := s.Dial(ctx, DialOptions{Target: "sip:2001@" + phone.LocalAddr().String(), FromUser: "12345",
		SDP: []byte("v=0\r\n")}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	_ = phone.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := phone.ReadFromUDP(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(buf[:n]), "INVITE ") {
		t.Fatalf("got %q", buf[:n])
	}
	if want := s.BoundAddr("udp"); from.AddrPort() != want {
		t.Fatalf("INVITE from %s, want the listener %s", from, want)
	}
}

// waitServing waits until the listener at addr answers an OPTIONS (from a
// socket of its own, so the phone of the test stays unknown to it).
func waitServing(t *testing.T, addr netip.AddrPort) {
	t.Helper()
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 4096)
	for i := range 50 {
		req := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-wait%d\r\n"+
			"From: <sip:probe@127.0.0.1>;tag=w\r\nTo: <sip:%s>\r\nCall-ID: wait-%d\r\nCSeq: 1 OPTIONS\r\n"+
			"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", addr, c.LocalAddr(), i, addr, i)
		if _, err := c.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := c.Read(buf); err == nil {
			return
		}
	}
	t.Fatal("the SIP listener never answered")
}
