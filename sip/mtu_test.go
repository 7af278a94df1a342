package sip

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// servedEdge is a Server listening on UDP and TCP of 127.0.0.1, serving
// until the test ends.
func servedEdge(t *testing.T) (*Server, context.Context) {
	t.Helper()
	return serveConfig(t, Config{Address: netip.MustParseAddrPort("127.0.0.1:0"), Transports: []string{"udp", "tcp"}})
}

// serveConfig is a Server made of cfg, listening and serving until the
// test ends.
func serveConfig(t *testing.T, cfg Config) (*Server, context.Context) {
	t.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-served })
	waitServing(t, s.BoundAddr("udp"))
	return s, ctx
}

// TestLargeRequestTransport: an INVITE under 1300 bytes goes over UDP; one
// over it goes over TCP to the same host and port, its Via saying TCP (RFC
// 3261 18.1.1); and where nothing listens on TCP there (connection
// refused) it goes over UDP after all, in one datagram.
func TestLargeRequestTransport(t *testing.T) {
	s, ctx := servedEdge(t)
	phone, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer phone.Close()
	pad := ";x-pad=" + strings.Repeat("p", 1400)
	dial := func(params string) {
		t.Helper()
		if _, err := s.Dial(ctx, DialOptions{Target: "sip:2001@" + phone.LocalAddr().String() + params,
			FromUser: "12345", SDP: []byte("v=0\r\n")}); err != nil {
			t.Fatal(err)
		}
	}
	read := func() string {
		t.Helper()
		buf := make([]byte, 65536)
		_ = phone.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := phone.ReadFromUDP(buf)
		if err != nil {
			t.Fatal(err)
		}
		return string(buf[:n])
	}

	dial("")
	if msg := read(); !strings.Contains(msg, "Via: SIP/2.0/UDP ") || len(msg) > udpRequestLimit {
		t.Fatalf("small INVITE: %d bytes\n%s", len(msg), msg)
	}

	// Nothing listens on TCP at the phone's port: refused, then UDP.
	dial(pad)
	if msg := read(); !strings.HasPrefix(msg, "INVITE ") || len(msg) <= udpRequestLimit || !strings.Contains(msg, "Via: SIP/2.0/UDP ") {
		t.Fatalf("large INVITE after a refused connection: %d bytes\n%.300s", len(msg), msg)
	}

	// A TCP listener at the same port as the phone's UDP: the large INVITE
	// comes there.
	tl, err := net.Listen("tcp", phone.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	dial(pad)
	_ = tl.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	c, err := tl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got []byte
	buf := make([]byte, 4096)
	for !strings.Contains(string(got), "\r\n\r\nv=0") {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("%v after %q", err, got)
		}
		got = append(got, buf[:n]...)
	}
	if msg := string(got); !strings.HasPrefix(msg, "INVITE ") || !strings.Contains(msg, "Via: SIP/2.0/TCP ") {
		t.Fatalf("large INVITE over TCP:\n%.300s", msg)
	}
}

// BenchmarkOverTCPIfLarge: the size check every request over UDP pays
// (serialising it once more to measure it), for a seat INVITE with SDP.
func BenchmarkOverTCPIfLarge(b *testing.B) {
	s := &Server{addrs: map[string]netip.AddrPort{"udp": {}, "tcp": {}}}
	var u sipmsg.Uri
	if err := sipmsg.ParseUri("sip:1001@127.0.0.1:5070", &u); err != nil {
		b.Fatal(err)
	}
	req := sipmsg.NewRequest(sipmsg.INVITE, u)
	req.AppendHeader(&sipmsg.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "127.0.0.1", Port: 5060, Params: sipmsg.NewParams()})
	req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	req.SetBody([]byte("v=0\r\no=hotline 1 1 IN IP4 127.0.0.1\r\ns=hotline\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 20000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"))
	b.ReportAllocs()
	for b.Loop() {
		if undo := s.overTCPIfLarge(req); undo != nil {
			b.Fatal("a small INVITE moved to TCP")
		}
	}
}
