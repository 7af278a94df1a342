package sip

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// SIP over TLS (RFC 3261 §26.2, RFC 5630). The listener is sipgo's TLS
// transport given our own listener: TCP accepted under the per-source
// cap, the handshake run by crypto/tls on the connection's first read
// (bounded by the TCP idle timeout, so a peer that never finishes it is
// dropped), and the decrypted stream framed and screened as a TCP one is
// (tcpConn). A peer that is no TLS client (plain SIP on the TLS port, a
// bad handshake) fails the handshake and its connection is closed; it
// never reaches sipgo's parser.
//
// Dialogs over TLS are answered and held with a TLS Contact, and every
// request within them goes over the connection the dialog came on
// (sipgo's RewriteContact: to the INVITE's or 200's source, which the
// connection pool knows): a phone that registered over TLS from behind
// NAT is reached over its own connection, never by a new one to the
// Contact it cannot accept on.

// tlsMinVersion: TLS 1.2 at least (RFC 8996 retires older ones).
const tlsMinVersion = tls.VersionTLS12

// tlsHandshakeTimeout bounds a TLS client's handshake (the first read of
// its connection), however long the idle timeout: a stranger that
// connects and says nothing holds a connection for this long only.
const tlsHandshakeTimeout = 10 * time.Second

// handshakeBound is the read timeout of c's next read: idle, or, while
// c is a TLS connection whose handshake is not done, at most
// tlsHandshakeTimeout. Called by the connection's reader only.
func (c *tcpConn) handshakeBound(idle time.Duration) time.Duration {
	if c.shaken {
		return idle
	}
	tc, ok := c.Conn.(*tls.Conn)
	if !ok || tc.ConnectionState().HandshakeComplete {
		c.shaken = true
		return idle
	}
	if idle <= 0 || idle > tlsHandshakeTimeout {
		return tlsHandshakeTimeout
	}
	return idle
}

// serverTLS is the listener's tls.Config.
func serverTLS(cert tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tlsMinVersion}
}

// clientTLS is the config of the connections we open (trunks, seats
// whose connection is gone): roots nil means the system's.
func clientTLS(c *TLSConfig) *tls.Config {
	conf := &tls.Config{MinVersion: tlsMinVersion}
	if c != nil {
		conf.RootCAs = c.Roots
	}
	return conf
}

// bindTLS binds the TLS listener, when there is one.
func (s *Server) bindTLS() error {
	c := s.cfg.TLS
	if c == nil || !c.Listen.IsValid() {
		return nil
	}
	l, err := net.Listen("tcp", c.Listen.String())
	if err != nil {
		return fmt.Errorf("sip: listen tls %s: %w", c.Listen, err)
	}
	s.tls = append(s.tls, s.wrapTCP(tls.NewListener(l, serverTLS(c.Certificate))))
	s.addrs["tls"] = l.Addr().(*net.TCPAddr).AddrPort()
	return nil
}

// tlsDialogUAs make the dialog UAs of TLS dialogs: a sip: Contact with
// transport=tls, and a sips: one for dialogs whose request URI was sips:
// (RFC 3261 §8.1.1.8). Both send in-dialog requests over the dialog's
// connection.
func (s *Server) tlsDialogUAs(client *sipgo.Client) {
	addr, ok := s.addrs["tls"]
	if !ok {
		return
	}
	host := addr.Addr().String()
	if addr.Addr().IsUnspecified() {
		host = s.dua.ContactHDR.Address.Host
	}
	tlsURI := sipmsg.Uri{Scheme: "sip", User: "hotline", Host: host, Port: int(addr.Port()),
		UriParams: sipmsg.NewParams()}
	tlsURI.UriParams.Add("transport", "tls")
	s.duaTLS = &sipgo.DialogUA{Client: client, ContactHDR: sipmsg.ContactHeader{Address: tlsURI}, RewriteContact: true}
	s.duaSIPS = &sipgo.DialogUA{Client: client, RewriteContact: true, ContactHDR: sipmsg.ContactHeader{
		Address: sipmsg.Uri{Scheme: "sips", User: "hotline", Host: host, Port: int(addr.Port())}}}
}

// duaFor is the dialog UA of a dialog whose first request is req.
func (s *Server) duaFor(req *sipmsg.Request) *sipgo.DialogUA {
	if !strings.EqualFold(req.Transport(), "tls") || s.duaTLS == nil {
		return s.dua
	}
	if req.Recipient.Scheme == "sips" {
		return s.duaSIPS
	}
	return s.duaTLS
}

// viaConnection sends an INVITE to a seat over the connection it
// registered on, when it registered over a stream (TCP, TLS) and target
// is the Contact it registered: the seat is behind NAT or accepts no
// connection of ours (RFC 5626's flow reuse, without its Path). A sips:
// or transport=tls target goes over TLS.
func (s *Server) viaConnection(req *sipmsg.Request, target string) {
	if req.Recipient.Scheme == "sips" {
		req.SetTransport("TLS")
	}
	tr := strings.ToLower(req.Transport())
	r := s.cfg.Registrar
	if r == nil || (tr != "tls" && tr != "tcp") {
		return
	}
	reg, ok := r.byContact(target)
	if !ok || (reg.Transport != "tls" && reg.Transport != "tcp") {
		return
	}
	req.SetTransport(strings.ToUpper(reg.Transport))
	req.SetDestination(reg.Source.String())
}

// sipsOverTLS: a sips: request that came over TLS, which we serve.
func sipsOverTLS(req *sipmsg.Request) bool {
	return strings.EqualFold(req.Recipient.Scheme, "sips") && strings.EqualFold(req.Transport(), "tls")
}

// TLSConfig is the SIP edge's TLS: the listener's address and
// certificate, and the roots of peers we dial.
type TLSConfig struct {
	Listen      netip.AddrPort // the zero value: no listener
	Certificate tls.Certificate
	Roots       *x509.CertPool // nil = the system's
}

// byContact finds the live binding whose Contact is contact (a phone's
// Contact user is its own, not the extension: baresip's "1001-0x…").
// It scans the bindings: called only for targets over a stream transport.
func (r *Registrar) byContact(contact string) (Registration, bool) {
	now := r.cfg.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, reg := range r.byExt {
		if reg.Contact == contact && now.Before(reg.Expires) {
			return reg, true
		}
	}
	return Registration{}, false
}
