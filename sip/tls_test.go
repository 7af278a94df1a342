package sip

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// tlsServer runs a Server with a TLS listener on a free port.
func tlsServer(t *testing.T) (*Server, *x509.CertPool) {
	t.Helper()
	certs := testpeer.MakeCerts(t)
	cert, err := tls.LoadX509KeyPair(certs.Chain, certs.Key)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(certs.CACert)
	s, err := NewServer(Config{
		Address: netip.MustParseAddrPort("127.0.0.1:0"), Transports: []string{"udp"},
		TLS:    &TLSConfig{Listen: netip.MustParseAddrPort("127.0.0.1:0"), Certificate: cert, Roots: roots},
		Limits: Limits{TCPIdleTimeout: time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return s, roots
}

const tlsOptions = "OPTIONS sip:hotline@127.0.0.1 SIP/2.0\r\n" +
	"Via: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-%s\r\n" +
	"From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:hotline@127.0.0.1>\r\n" +
	"Call-ID: tls-%s\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"

// optionsOverTLS sends an OPTIONS over a new TLS connection and returns
// the status line of the answer.
func optionsOverTLS(t *testing.T, addr netip.AddrPort, roots *x509.CertPool, id string) string {
	t.Helper()
	c, err := tls.Dial("tcp", addr.String(), &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, strings.ReplaceAll(tlsOptions, "%s", id)); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("no answer over TLS: %v", err)
	}
	return strings.TrimSpace(line)
}

// TestTLSListener: OPTIONS over TLS is answered over the connection; the
// certificate is the configured one.
func TestTLSListener(t *testing.T) {
	s, roots := tlsServer(t)
	addr := s.BoundAddr("tls")
	if !addr.IsValid() || addr.Port() == 0 {
		t.Fatalf("tls bound at %v", addr)
	}
	if got := optionsOverTLS(t, addr, roots, "a"); !strings.HasPrefix(got, "SIP/2.0 200") {
		t.Fatalf("answer %q", got)
	}
	if s.duaTLS == nil || !strings.Contains(s.duaTLS.ContactHDR.Address.String(), "transport=tls") {
		t.Fatalf("TLS contact %v", s.duaTLS)
	}
	// sips: is served over TLS (RFC 3261 §26.2); over UDP it stays 416.
	c, err := tls.Dial("tcp", addr.String(), &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	msg := strings.ReplaceAll(strings.Replace(tlsOptions, "OPTIONS sip:", "OPTIONS sips:", 1), "%s", "sips")
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || !strings.HasPrefix(line, "SIP/2.0 200") {
		t.Fatalf("sips: OPTIONS over TLS: %q %v", line, err)
	}
}

// TestTLSStrangers: a plain SIP request on the TLS port, garbage, a
// client that trusts not our certificate, and one that connects and
// never says hello each lose their connection without an answer; a good
// client is answered after each.
func TestTLSStrangers(t *testing.T) {
	s, roots := tlsServer(t)
	addr := s.BoundAddr("tls")
	raw := func(payload string) {
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if payload != "" {
			if _, err := io.WriteString(c, payload); err != nil {
				t.Fatal(err)
			}
		}
		b, err := io.ReadAll(c)
		if strings.Contains(string(b), "SIP/2.0") {
			t.Errorf("a SIP answer to a stranger: %q", b)
		}
		if err != nil && !errors.Is(err, io.EOF) && !isReset(err) {
			t.Errorf("connection not closed by the engine: %v", err)
		}
	}
	for i, stranger := range []func(){
		func() { raw(strings.ReplaceAll(tlsOptions, "%s", "plain")) },
		func() { raw("\x16\x03\x01\x00\x05hello garbage that is no ClientHello") },
		func() { raw("") }, // silent: closed at the idle timeout
		func() {
			_, err := tls.Dial("tcp", addr.String(), &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "127.0.0.1"})
			if err == nil {
				t.Error("a client without our CA completed the handshake")
			}
		},
	} {
		stranger()
		if got := optionsOverTLS(t, addr, roots, string(rune('b'+i))); !strings.HasPrefix(got, "SIP/2.0 200") {
			t.Fatalf("after stranger %d: %q", i, got)
		}
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && strings.Contains(op.Err.Error(), "reset")
}

// TestTLSHandshakeBound: until its handshake is done a TLS connection's
// reads wait at most tlsHandshakeTimeout, whatever the idle timeout; a
// plain TCP one waits the idle timeout.
func TestTLSHandshakeBound(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := &tcpConn{Conn: tls.Server(a, &tls.Config{})}
	for _, tc := range []struct{ idle, want time.Duration }{
		{20 * time.Minute, tlsHandshakeTimeout}, {time.Second, time.Second}, {0, tlsHandshakeTimeout},
	} {
		if got := c.handshakeBound(tc.idle); got != tc.want {
			t.Errorf("TLS, idle %v: %v, want %v", tc.idle, got, tc.want)
		}
	}
	plain := &tcpConn{Conn: b}
	if got := plain.handshakeBound(20 * time.Minute); got != 20*time.Minute || !plain.shaken {
		t.Errorf("TCP: %v", got)
	}
}
