package sip

import (
	"bytes"
	"context"
	"strings"
	"sync"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// udpRequestLimit is the size above which a request that would go over UDP
// goes over TCP instead (RFC 3261 18.1.1: larger than 1300 bytes with the
// path MTU unknown).
const udpRequestLimit = 1300

// udpMTUOnce sets sipgo's UDP size limit once for every Server: it is a
// package global of sipgo, which refuses (silently, to the sender of a
// response) any UDP message over UDPMTUSize-200 bytes, 1300 by default.
// Responses have no other way back (RFC 3261 18.2.2: a response to a
// request that came over UDP goes back over UDP), so a 200 OK that grew
// past 1300 bytes with four Via and four Record-Route headers was never
// sent. With the limit at the largest message the edge itself reads
// (maxMessage), such a response goes out as one datagram that IP may
// fragment, which is what RFC 3261 allows when TCP is not an option;
// requests are kept under 1300 bytes on UDP by sizeRouter.
var udpMTUOnce sync.Once

func raiseUDPLimit() {
	udpMTUOnce.Do(func() { sipmsg.UDPMTUSize = maxMessage + 200 })
}

// sizeRouter is the client's transaction requester: every request the
// engine sends (INVITEs, in-dialog requests, pings, ACKs) passes through
// it fully built, Via included, on the sending goroutine. A request for
// UDP over udpRequestLimit bytes is moved to TCP, to the same host and port,
// with its top Via saying TCP (RFC 3261 18.1.1); when the TCP connection
// is refused it goes over UDP after all, as the same section says it
// should be retried.
type sizeRouter struct {
	s  *Server
	tx *sipmsg.TransactionLayer
	tp *sipmsg.TransportLayer
}

var _ sipgo.ClientTransactionRequester = (*sizeRouter)(nil)

// Request sends req: through a client transaction, or directly for an ACK
// (sipgo's WriteRequest hands ACKs here too, and ignores the transaction).
func (r *sizeRouter) Request(ctx context.Context, req *sipmsg.Request) (sipmsg.ClientTransaction, error) {
	undo := r.s.overTCPIfLarge(req)
	tx, err := r.send(ctx, req)
	if err != nil && undo != nil {
		r.s.log.Info("sip: large request refused over tcp, sent over udp", "method", req.Method.String(),
			"destination", req.Destination(), "error", err)
		undo()
		tx, err = r.send(ctx, req)
	}
	return tx, err
}

func (r *sizeRouter) send(ctx context.Context, req *sipmsg.Request) (sipmsg.ClientTransaction, error) {
	if req.IsAck() {
		return nil, r.tp.WriteMsg(req)
	}
	tx, err := r.tx.Request(ctx, req)
	if err != nil {
		return nil, err
	}
	if req.IsInvite() {
		return r.s.watchForks(req, tx), nil
	}
	return tx, nil
}

// overTCPIfLarge moves req from UDP to TCP when it is over the UDP request
// limit and the edge listens on TCP (so the far side can answer a new
// request the same way); it returns the func that moves it back, or nil
// when req stays where it was.
func (s *Server) overTCPIfLarge(req *sipmsg.Request) (undo func()) {
	if _, tcp := s.addrs["tcp"]; !tcp || !strings.EqualFold(req.Transport(), "udp") {
		return nil
	}
	if messageSize(req) <= udpRequestLimit {
		return nil
	}
	via := req.Via()
	if via == nil {
		return nil
	}
	laddr, viaTr, dest := req.Laddr, via.Transport, req.Destination()
	req.SetDestination(dest) // the host and port the UDP request would have gone to
	req.SetTransport("TCP")
	via.Transport = "TCP"
	req.Laddr = sipmsg.Addr{} // a new connection from any port, not the listener's
	s.log.Debug("sip: request over the udp size limit sent over tcp", "method", req.Method.String(),
		"destination", dest, "bytes", messageSize(req))
	return func() {
		req.SetTransport("UDP")
		via.Transport = viaTr
		req.Laddr = laddr
	}
}

// messageSize is the size of msg on the wire.
func messageSize(msg sipmsg.Message) int {
	var b bytes.Buffer
	msg.StringWrite(&b)
	return b.Len()
}
