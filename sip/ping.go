package sip

import (
	"context"
	"fmt"
	"net/netip"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Ping sends an out-of-dialog OPTIONS to uri (a trunk's outbound address)
// and returns the final response's status code. Any final response means
// the peer is there (a carrier may answer OPTIONS with 405 or 404); an
// error (no answer before ctx ends, transport failure) means it is not.
func (s *Server) Ping(ctx context.Context, uri string) (int, error) {
	return s.ping(ctx, uri, netip.AddrPort{})
}

// ping sends the OPTIONS to uri, at dest when it is valid (a seat's
// source, keepalive.go) and else where uri says.
func (s *Server) ping(ctx context.Context, uri string, dest netip.AddrPort) (int, error) {
	var u sipmsg.Uri
	if err := sipmsg.ParseUri(uri, &u); err != nil {
		return 0, fmt.Errorf("sip: ping %q: %w", uri, err)
	}
	req := sipmsg.NewRequest(sipmsg.OPTIONS, u)
	if tr, ok := u.UriParams.Get("transport"); ok && tr != "" {
		req.SetTransport(tr)
	}
	if dest.IsValid() {
		req.SetDestination(dest.String())
	}
	s.fromListener(req)
	req.AppendHeader(sipmsg.NewHeader("Accept", "application/sdp"))
	if s.cfg.Observer != nil {
		s.cfg.Observer.SIPRequest("OPTIONS_OUT")
	}
	res, err := s.client.Do(ctx, req)
	if err != nil {
		return 0, fmt.Errorf("sip: ping %s: %w", uri, err)
	}
	return res.StatusCode, nil
}
