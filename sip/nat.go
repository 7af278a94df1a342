package sip

import (
	"net/netip"
	"strings"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// Seats behind NAT. A desk phone on a private network registers with a
// Via and a Contact that name its private address (10.0.0.5:5060), which
// the engine cannot reach; the REGISTER itself came from the address the NAT
// gave it. As Kamailio's nathelper (nat_uac_test: the Via is not where the
// request came from) and Asterisk's force_rport/comedia do, the engine sends
// the seat's INVITEs to where its REGISTER came from when its Via says
// another address and the Contact is not that source either (the
// Request-URI stays the Contact), and in-dialog requests to where the
// seat's answers come from (sipgo's RewriteContact). A REGISTER whose Via is
// its source, with a Contact elsewhere, is a registration on the phone's
// behalf (RFC 3261 10.2: a provisioning system, a test harness): its
// Contact is reachable as it stands. A seat
// registered over TCP is reached over the connection it registered on (the
// pool keys it by its remote address) while that is open, not over a new
// one to its Contact.
// Responses already follow rport/received (RFC 3581; sipgo adds received
// and rport to the top Via of what it serves, and answers there).

// BindingFor returns the live binding whose Contact is contact (the string
// Registration.Contact holds, which is what the engine dials). Linear in
// the number of seats; called once per seat INVITE.
func (r *Registrar) BindingFor(contact string) (Registration, bool) {
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

// viaBehindNAT reports whether a REGISTER's top Via sent-by (host, and
// port, 5060 when it names none) is not src, where it came from.
func viaBehindNAT(req *sipmsg.Request, src netip.AddrPort) bool {
	via := req.Via()
	if via == nil || !src.IsValid() {
		return false
	}
	return !sameHostPort(sipmsg.Uri{Host: via.Host, Port: via.Port}, src)
}

// behindNAT reports whether reg must be reached at its source rather than
// at its Contact: always over TCP (the connection it registered on), over
// UDP when its REGISTER's Via was not its source (NAT) and the Contact names
// another host or port than the source.
func behindNAT(reg Registration) bool {
	if !reg.Source.IsValid() {
		return false
	}
	if reg.Transport == "tcp" {
		return true
	}
	if reg.Transport != "udp" && reg.Transport != "" || !reg.NAT {
		return false
	}
	var u sipmsg.Uri
	if sipmsg.ParseUri(reg.Contact, &u) != nil {
		return true
	}
	return !sameHostPort(u, reg.Source)
}

// sameHostPort reports whether u's host and port (5060 when it names none)
// are ap.
func sameHostPort(u sipmsg.Uri, ap netip.AddrPort) bool {
	ip, err := netip.ParseAddr(strings.Trim(u.Host, "[]"))
	if err != nil {
		return false
	}
	port := u.Port
	if port == 0 {
		port = 5060
	}
	return ip.Unmap() == ap.Addr().Unmap() && port == int(ap.Port())
}

// seatDialog returns the dialog UA for an INVITE to target, pointing req at
// the seat's source when the seat registered target from behind a NAT or
// over TCP.
func (s *Server) seatDialog(req *sipmsg.Request, target string) *sipgo.DialogUA {
	if s.cfg.Registrar == nil {
		return s.dua
	}
	reg, ok := s.cfg.Registrar.BindingFor(target)
	if !ok || !behindNAT(reg) {
		return s.dua
	}
	if reg.Transport == "tcp" && !s.connected("tcp", reg.Source) {
		// Its connection is gone (the phone will register again on a new
		// one): the Contact is all there is to try.
		return s.dua
	}
	req.SetDestination(reg.Source.String())
	req.SetTransport(strings.ToUpper(reg.Transport))
	req.Laddr = sipmsg.Addr{}
	s.fromListener(req)
	s.log.Debug("sip: seat reached at its source", "ext", reg.Extension, "contact", target,
		"source", reg.Source, "transport", reg.Transport)
	return s.duaNAT
}

// inviteDialog is the dialog UA for an INVITE from a seat at src: the NAT
// one (in-dialog requests to the source) when the INVITE's Contact is not
// src or it came over TCP.
func (s *Server) inviteDialog(req *sipmsg.Request, origin Origin, src netip.AddrPort) *sipgo.DialogUA {
	if origin.Seat == "" {
		return s.dua
	}
	c := req.Contact()
	if strings.EqualFold(req.Transport(), "tcp") || c == nil || !sameHostPort(c.Address, src) {
		return s.duaNAT
	}
	return s.dua
}

// reachAt is where requests to reg's Contact are sent: its source when it
// is behind NAT or on TCP, else the zero AddrPort (where the Contact says).
func reachAt(reg Registration) netip.AddrPort {
	if behindNAT(reg) {
		return reg.Source
	}
	return netip.AddrPort{}
}

// connected reports whether the transport holds a live connection with
// peer (one it accepted or opened).
func (s *Server) connected(network string, peer netip.AddrPort) bool {
	c, err := s.ua.TransportLayer().GetConnection(network, peer.String())
	if err != nil || c == nil {
		return false
	}
	_, _ = c.TryClose() // GetConnection took a reference
	return true
}
