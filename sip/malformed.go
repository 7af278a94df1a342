package sip

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/hotline-cc/hotline/internal/guard"
)

// maxMessage is the largest SIP message the edge takes: sipgo reads a
// datagram into a buffer of this size, so a datagram that fills it may have
// been cut short; a TCP message as long is refused too.
var maxMessage = int(sipmsg.TransportBufferReadSize)

// screenResult is what screen decides for one raw message: pass it to sipgo,
// and/or send reply (already serialised) back to where it came from.
type screenResult struct {
	pass  bool
	reply []byte
}

// screen runs on the transport's read goroutine for every message (a UDP
// datagram, a framed TCP message) before sipgo parses it, so nothing sipgo
// would choke on reaches its parser or transaction layer: messages too large,
// NUL bytes in the header, requests that do not parse or fail the header
// guard, and requests over their source's rate. A request it refuses is
// answered statelessly (RFC 3261 8.2.2 / 16.3; an ACK never) and dropped.
// Responses and keep-alives pass through once they parse.
//
// The extra parse costs a few microseconds per message; docs/BENCHMARKS.md
// measures the whole path with it in place.
func (s *Server) screen(src netip.AddrPort, data []byte) (r screenResult) {
	if len(bytes.TrimSpace(data)) == 0 {
		return screenResult{pass: true}
	}
	defer guard.Recover(s.log, "sip", func(any) {
		s.log.Error("sip: message dropped after a panic in its parse", "source", src)
		r = screenResult{}
	})
	response := bytes.HasPrefix(data, []byte("SIP/"))
	switch {
	case len(data) >= maxMessage:
		return s.rawReply(src, data, response, 513, "Message Too Large")
	case bytes.IndexByte(headerPart(data), 0) >= 0:
		return s.rawReply(src, data, response, 400, "Bad Request: NUL byte in header")
	}
	trunk := s.isTrunk(src.Addr())
	if !response && !trunk {
		if v := s.sources.check(src.Addr(), false); v != allow {
			return s.limited(src, data, v)
		}
	}
	msg, err := s.parser.ParseSIP(data)
	if err != nil {
		s.log.Warn("sip: malformed message", "source", src, "error", err)
		return s.rawReply(src, data, response, 400, "Bad Request")
	}
	req, ok := msg.(*sipmsg.Request)
	if !ok {
		return screenResult{pass: true}
	}
	if bad := checkRequest(req); bad != nil {
		s.log.Warn("sip: request refused by the header guard", "method", req.Method,
			"source", src, "code", bad.code, "reason", bad.reason)
		if req.Method == sipmsg.ACK {
			return screenResult{}
		}
		s.observeResponse(req.Method.String(), bad.code)
		return screenResult{reply: []byte(sipmsg.NewResponseFromRequest(req, bad.code, bad.reason, nil).String())}
	}
	if req.Method == sipmsg.REGISTER && !trunk {
		if v := s.sources.check(src.Addr(), true); v != allow {
			return s.limited(src, data, v)
		}
	}
	return screenResult{pass: true}
}

// limited answers a request over its source's rate with 503 and Retry-After,
// or drops it when the source is far over.
func (s *Server) limited(src netip.AddrPort, data []byte, v verdict) screenResult {
	s.observeResponse(rawMethod(data), 503)
	if v == discard || rawMethod(data) == "ACK" {
		return screenResult{}
	}
	s.log.Debug("sip: source over its request rate", "source", src)
	return screenResult{reply: rawResponse(data, 503, "Service Unavailable", s.retryAfterSeconds())}
}

// rawReply answers a request that cannot be parsed from its raw header lines;
// a response that cannot be parsed is dropped.
func (s *Server) rawReply(src netip.AddrPort, data []byte, response bool, code int, reason string) screenResult {
	s.log.Warn("sip: malformed message rejected", "source", src, "code", code, "reason", reason, "bytes", len(data))
	if response || rawMethod(data) == "ACK" {
		return screenResult{}
	}
	res := rawResponse(data, code, reason, 0)
	if res != nil {
		s.observeResponse("MALFORMED", code)
	}
	return screenResult{reply: res}
}

// readFilter runs on sipgo's UDP read loop (and sees the TCP byte stream,
// which tcpConn has already framed and screened): it screens each datagram
// and sends the reply from the listener it came in on.
func (s *Server) readFilter(info sipmsg.TransportReadProps, data []byte) ([]byte, error) {
	if !strings.EqualFold(info.Transport, "udp") {
		return data, nil
	}
	src := addrPortOf(info.RemoteAddr)
	r := s.screen(src, data)
	if r.reply != nil {
		for _, pc := range s.udp {
			if pc.LocalAddr().String() == info.LocalAddr.String() {
				_, _ = pc.WriteTo(r.reply, info.RemoteAddr)
			}
		}
	}
	if !r.pass {
		return nil, nil
	}
	return data, nil
}

// addrPortOf is a net.Addr's IP and port (IPv4-mapped addresses unmapped).
func addrPortOf(a net.Addr) netip.AddrPort {
	var ap netip.AddrPort
	switch a := a.(type) {
	case *net.UDPAddr:
		ap = a.AddrPort()
	case *net.TCPAddr:
		ap = a.AddrPort()
	default:
		ap, _ = netip.ParseAddrPort(a.String())
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// headerPart is a message up to its blank line (all of it when it has none).
func headerPart(data []byte) []byte {
	if i := bytes.Index(data, []byte("\r\n\r\n")); i >= 0 {
		return data[:i]
	}
	return data
}

// rawMethod is the first word of a request line, for the response counter
// (which folds unknown methods into one label).
func rawMethod(data []byte) string {
	m, _, _ := bytes.Cut(data[:min(len(data), 32)], []byte(" "))
	return string(m)
}

// rawResponse builds a response from the raw lines of a request that was not
// (or could not be) parsed: its Via, From, To, Call-ID and CSeq header lines
// are copied as they are, which is all a client needs to match it. nil when
// the data does not look like a SIP request (then silence is the right
// answer). retryAfter > 0 adds a Retry-After header.
func rawResponse(data []byte, code int, reason string, retryAfter int) []byte {
	head := headerPart(data)
	lines := bytes.Split(head, []byte("\n"))
	if len(lines) < 2 || !bytes.Contains(lines[0], []byte("SIP/2.0")) {
		return nil
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", code, reason)
	found := false
	for _, l := range lines[1:] {
		l = bytes.TrimRight(l, "\r")
		name, _, ok := bytes.Cut(l, []byte(":"))
		if !ok || bytes.IndexByte(l, 0) >= 0 {
			continue
		}
		switch string(bytes.ToLower(bytes.TrimSpace(name))) {
		case "via", "v", "from", "f", "to", "t", "call-id", "i", "cseq":
			b.Write(l)
			b.WriteString("\r\n")
			found = true
		}
	}
	if !found {
		return nil
	}
	if retryAfter > 0 {
		fmt.Fprintf(&b, "Retry-After: %d\r\n", retryAfter)
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.Bytes()
}
