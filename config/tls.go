package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// SRTP policies of a trunk or seat (RFC 3711 media keyed by SDES, RFC 4568).
const (
	// SRTPOff: plain RTP only; an offer of SRTP only gets 488.
	SRTPOff = "off"
	// SRTPOffer: SRTP when the peer offers or accepts it, else plain RTP.
	SRTPOffer = "offer"
	// SRTPRequire: SRTP only; a plain RTP offer or answer gets 488.
	SRTPRequire = "require"
)

var srtpPolicies = []string{SRTPOff, SRTPOffer, SRTPRequire}

// TransportTLS is SIP over TLS (RFC 3261 §26.2), for sip.tls and a
// trunk's transport.
const TransportTLS = "tls"

// TLS is the sip.tls section: a listener for SIP over TLS, with the
// certificate and key it presents, and the roots the engine trusts when
// it dials a TLS peer (a trunk with transport: tls).
type TLS struct {
	Listen    netip.AddrPort
	Cert, Key string // file names as written
	CA        string // "" = the system's roots
	// Certificate and Roots are loaded and checked at load time.
	Certificate tls.Certificate
	Roots       *x509.CertPool // nil = the system's
}

// tlsSection decodes sip.tls; its files are read here, so that a
// missing, unreadable or mismatched one is refused with its line.
func (p *parser) tlsSection(path string, n *yaml.Node) {
	t := &TLS{}
	var certLine, keyLine, caLine int
	seen := p.mapping(path, n, fields{
		"listen": func(path string, v *yaml.Node) { p.addrPort(path, v, &t.Listen) },
		"cert":   p.fileName(&t.Cert, &certLine),
		"key":    p.fileName(&t.Key, &keyLine),
		"ca":     p.fileName(&t.CA, &caLine),
	})
	p.require(path, n, seen, "listen", "cert", "key")
	if seen == nil || t.Cert == "" || t.Key == "" {
		return
	}
	ok := true
	certPEM, err := p.readFile(t.Cert)
	if err != nil {
		p.problem(certLine, join(path, "cert"), "%v", err)
		ok = false
	}
	keyPEM, err := p.readFile(t.Key)
	if err != nil {
		p.problem(keyLine, join(path, "key"), "%v", err)
		ok = false
	}
	if ok {
		t.Certificate, err = tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			p.problem(keyLine, join(path, "key"), "%q with %q: %v", t.Key, t.Cert, err)
			ok = false
		}
	}
	if ok {
		p.checkLeaf(join(path, "cert"), certLine, t)
	}
	if t.CA != "" {
		ok = p.loadRoots(join(path, "ca"), caLine, t) && ok
	}
	if ok && t.Listen.IsValid() {
		p.c.SIP.TLS = t
	}
}

// fileName decodes a file name and remembers its line.
func (p *parser) fileName(dst *string, line *int) func(string, *yaml.Node) {
	return func(path string, v *yaml.Node) {
		if s, ok := p.nonEmpty(path, v); ok {
			*dst, *line = s, v.Line
		}
	}
}

// checkLeaf refuses a certificate that has expired or is not valid yet.
func (p *parser) checkLeaf(path string, line int, t *TLS) {
	leaf, err := x509.ParseCertificate(t.Certificate.Certificate[0])
	if err != nil {
		p.problem(line, path, "%q: %v", t.Cert, err)
		return
	}
	now := time.Now()
	switch {
	case now.After(leaf.NotAfter):
		p.problem(line, path, "%q expired on %s", t.Cert, leaf.NotAfter.Format(time.DateOnly))
	case now.Before(leaf.NotBefore):
		p.problem(line, path, "%q is valid only from %s", t.Cert, leaf.NotBefore.Format(time.DateOnly))
	}
}

func (p *parser) loadRoots(path string, line int, t *TLS) bool {
	pem, err := p.readFile(t.CA)
	if err != nil {
		p.problem(line, path, "%v", err)
		return false
	}
	t.Roots = x509.NewCertPool()
	if !t.Roots.AppendCertsFromPEM(pem) {
		p.problem(line, path, "%q holds no PEM certificate", t.CA)
		return false
	}
	return true
}

// readFile reads a file named in the config: an absolute name as it is,
// a relative one in the config's folder.
func (p *parser) readFile(name string) ([]byte, error) {
	var (
		data []byte
		err  error
	)
	switch {
	case filepath.IsAbs(name):
		data, err = os.ReadFile(name)
	case p.osDir != "":
		data, err = os.ReadFile(filepath.Join(p.osDir, name))
	case p.base != nil:
		data, err = fs.ReadFile(p.base, filepath.ToSlash(name))
	default:
		err = fs.ErrNotExist
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read %q: %w", name, err)
	}
	return data, nil
}

// srtpPolicy decodes an srtp: key.
func (p *parser) srtpPolicy(dst *string) func(string, *yaml.Node) {
	return func(path string, v *yaml.Node) {
		if s, ok := p.str(path, v); ok && p.oneOf(path, v, s, "srtp policy", srtpPolicies) {
			*dst = s
		}
	}
}

// SeatSRTP is the SRTP policy of seat ext: its own srtp:, else
// sip.seat_srtp.
func (c *Config) SeatSRTP(ext string) string {
	if s, ok := c.Seat(ext); ok && s.SRTP != "" {
		return s.SRTP
	}
	return c.SIP.SeatSRTP
}

// TrunkSRTP is the SRTP policy of the trunk named name (off for none).
func (c *Config) TrunkSRTP(name string) string {
	for _, t := range c.Trunks {
		if t.Name == name && t.SRTP != "" {
			return t.SRTP
		}
	}
	return SRTPOff
}

// checkTLS: the TLS listener shares no TCP port with sip.address or
// http.address, and a trunk's transport is for its outbound address.
func (p *parser) checkTLS() {
	if t := p.c.SIP.TLS; t != nil && t.Listen.Port() != 0 {
		sameHost := func(a, b netip.Addr) bool { return a == b || a.IsUnspecified() || b.IsUnspecified() }
		s, h := p.c.SIP.Address, p.c.HTTP.Address
		if t.Listen.Port() == s.Port() && p.c.SIP.HasTransport(TransportTCP) && sameHost(t.Listen.Addr(), s.Addr()) {
			p.problemAt("sip.tls.listen", "%s clashes with sip.address %s (both listen on TCP)", t.Listen, s)
		}
		if h.IsValid() && t.Listen.Port() == h.Port() && sameHost(t.Listen.Addr(), h.Addr()) {
			p.problemAt("sip.tls.listen", "%s clashes with http.address %s (both listen on TCP)", t.Listen, h)
		}
	}
	for i, t := range p.c.Trunks {
		if t.Transport != "" && t.Outbound == "" {
			p.problemAt(fmt.Sprintf("trunks[%d].transport", i), "is how calls to the trunk's outbound address go: set outbound too")
		}
	}
}

// PingURI is the URI the trunk's OPTIONS pings go to: Outbound, with the
// trunk's transport.
func (t Trunk) PingURI() string {
	if t.Transport == "" || strings.Contains(t.Outbound, ";transport=") {
		return t.Outbound
	}
	return t.Outbound + ";transport=" + t.Transport
}
