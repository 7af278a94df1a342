package sip

import (
	"bytes"
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"
)

// readFilter runs on the UDP read loop before sipgo parses a datagram. sipgo
// drops a datagram it cannot parse without a word, and the sender would
// retransmit into the void; hotline answers a request it cannot parse with a
// stateless 400 built from whatever header lines it can find (RFC 3261
// 8.2.2 / 16.3) and drops it. Responses and keep-alives pass through.
//
// The extra parse costs a few microseconds per datagram; docs/BENCHMARKS.md
// measures the whole path with it in place.
func (s *Server) readFilter(info sipmsg.TransportReadProps, data []byte) ([]byte, error) {
	if !strings.EqualFold(info.Transport, "udp") || len(bytes.TrimSpace(data)) == 0 || bytes.HasPrefix(data, []byte("SIP/")) {
		return data, nil
	}
	_, err := s.parser.ParseSIP(data)
	if err == nil {
		return data, nil
	}
	s.log.Warn("sip: malformed request rejected with 400", "from", info.RemoteAddr, "error", err)
	if res := badRequest(data); res != nil {
		for _, pc := range s.udp {
			if pc.LocalAddr().String() == info.LocalAddr.String() {
				if _, err := pc.WriteTo(res, info.RemoteAddr); err == nil {
					s.observeResponse("MALFORMED", 400)
				}
			}
		}
	}
	return nil, nil
}

// badRequest builds a 400 from the raw lines of an unparseable request: its
// Via, From, To, Call-ID and CSeq header lines are copied as they are, which is
// all a client needs to match the response. nil when the datagram does not
// look like a SIP request at all (then silence is the right answer).
func badRequest(data []byte) []byte {
	head, _, _ := bytes.Cut(data, []byte("\r\n\r\n"))
	lines := bytes.Split(head, []byte("\n"))
	if len(lines) < 2 || !bytes.Contains(lines[0], []byte("SIP/2.0")) {
		return nil
	}
	var b bytes.Buffer
	b.WriteString("SIP/2.0 400 Bad Request\r\n")
	found := false
	for _, l := range lines[1:] {
		l = bytes.TrimRight(l, "\r")
		name, _, ok := bytes.Cut(l, []byte(":"))
		if !ok {
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
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.Bytes()
}
