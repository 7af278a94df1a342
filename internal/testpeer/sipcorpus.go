package testpeer

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// CorpusCase is one file of testdata/sip/: a parseable-but-wrong (or plain
// wrong) SIP message and the answer it must get.
//
// File format: header lines "# expect: 400" (an exact code, a class such as
// "4xx", or "no response"), optionally "# expect-tcp: ..." where TCP framing
// makes the answer differ, and "# why: ..."; then the message with LF or
// CRLF line ends (sent as CRLF). In the message, <NUL> stands for a NUL byte
// and <PAD:N> for N bytes of 'x'.
type CorpusCase struct {
	Name              string
	Expect, ExpectTCP string
	Why               string
	Raw               []byte
}

var padRE = regexp.MustCompile(`<PAD:(\d+)>`)

// LoadSIPCorpus reads every *.sip file of dir.
func LoadSIPCorpus(dir string) ([]CorpusCase, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.sip"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("sip corpus %s: no files (%v)", dir, err)
	}
	var out []CorpusCase
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		c := CorpusCase{Name: strings.TrimSuffix(filepath.Base(f), ".sip")}
		text := strings.ReplaceAll(string(data), "\r\n", "\n")
		for strings.HasPrefix(text, "# ") {
			line, rest, _ := strings.Cut(text, "\n")
			text = rest
			k, v, _ := strings.Cut(strings.TrimPrefix(line, "# "), ":")
			switch strings.TrimSpace(k) {
			case "expect":
				c.Expect = strings.TrimSpace(v)
			case "expect-tcp":
				c.ExpectTCP = strings.TrimSpace(v)
			case "why":
				c.Why = strings.TrimSpace(v)
			}
		}
		if c.Expect == "" {
			return nil, fmt.Errorf("%s: no '# expect:' line", f)
		}
		if c.ExpectTCP == "" {
			c.ExpectTCP = c.Expect
		}
		text = strings.ReplaceAll(text, "\n", "\r\n")
		text = strings.ReplaceAll(text, "<NUL>", "\x00")
		text = padRE.ReplaceAllStringFunc(text, func(m string) string {
			n, _ := strconv.Atoi(padRE.FindStringSubmatch(m)[1])
			return strings.Repeat("x", n)
		})
		c.Raw = []byte(text)
		out = append(out, c)
	}
	return out, nil
}

// ForTransport is the message as sent over transport ("udp" or "tcp") as
// the n-th send: Via names the transport and branches are made unique, so
// the same file sent twice is two transactions.
func (c CorpusCase) ForTransport(transport string, n int) []byte {
	msg := bytes.ReplaceAll(c.Raw, []byte("SIP/2.0/UDP"), []byte("SIP/2.0/"+strings.ToUpper(transport)))
	return bytes.ReplaceAll(msg, []byte("branch=z9hG4bK"), []byte(fmt.Sprintf("branch=z9hG4bK%s%d", transport, n)))
}

// Matches reports whether a reply's first line ("" for none) is what expect
// asks for.
func Matches(expect, firstLine string) bool {
	if expect == "no response" {
		return firstLine == ""
	}
	f := strings.Fields(firstLine)
	if len(f) < 2 || f[0] != "SIP/2.0" {
		return false
	}
	if strings.HasSuffix(expect, "xx") {
		return len(f[1]) == 3 && f[1][0] == expect[0]
	}
	return f[1] == expect
}

// CorpusReply sends c's message over transport ("udp" or "tcp", from a
// fresh socket on 127.0.0.1) to target, then an OPTIONS probe, and returns
// the first line of the reply to the message ("" when the probe's reply, the
// end of the connection or wait came first: no reply). probeOK reports
// whether the probe itself got its 200.
func CorpusReply(transport string, target netip.AddrPort, c CorpusCase, n int, wait time.Duration) (first string, probeOK bool, err error) {
	return CorpusReplyFrom(netip.MustParseAddr("127.0.0.1"), transport, target, c, n, wait)
}

// CorpusReplyFrom is CorpusReply from a socket on from (e.g. the address of
// a trunk, so INVITEs reach the trunk's path).
func CorpusReplyFrom(from netip.Addr, transport string, target netip.AddrPort, c CorpusCase, n int, wait time.Duration) (first string, probeOK bool, err error) {
	d := net.Dialer{LocalAddr: &net.UDPAddr{IP: from.AsSlice()}}
	if transport == "tcp" {
		d.LocalAddr = &net.TCPAddr{IP: from.AsSlice()}
	}
	conn, err := d.Dial(transport, target.String())
	if err != nil {
		return "", false, err
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	probeID := fmt.Sprintf("probe-%s-%d", transport, n)
	probe := OptionsProbe(transport, target, local, probeID)
	if _, err := conn.Write(c.ForTransport(transport, n)); err != nil {
		return "", false, err
	}
	if _, err := conn.Write(probe); err != nil && transport == "udp" {
		return "", false, err
	}
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	next := udpReplies(conn)
	if transport == "tcp" {
		next = tcpReplies(bufio.NewReader(conn))
	}
	for {
		msg, err := next()
		if err != nil {
			return first, probeOK, nil
		}
		line, _, _ := strings.Cut(msg, "\r\n")
		switch {
		case strings.HasPrefix(line, "SIP/2.0 100 "):
		case strings.Contains(msg, "Call-ID: "+probeID):
			// The message's own reply may come from another goroutine of
			// the server than the probe's: allow it a moment more.
			probeOK = strings.HasPrefix(line, "SIP/2.0 200 ")
			_ = conn.SetReadDeadline(time.Now().Add(probeGrace))
		case first == "":
			first = line
		}
		if first != "" && probeOK {
			return first, probeOK, nil
		}
	}
}

// probeGrace is how long a reply may trail the probe's.
const probeGrace = 300 * time.Millisecond

func udpReplies(conn net.Conn) func() (string, error) {
	buf := make([]byte, 65535)
	return func() (string, error) {
		n, err := conn.Read(buf)
		return string(buf[:n]), err
	}
}

func tcpReplies(r *bufio.Reader) func() (string, error) {
	return func() (string, error) {
		var b strings.Builder
		length := 0
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return "", err
			}
			b.WriteString(line)
			if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "content-length") {
				length, _ = strconv.Atoi(strings.TrimSpace(v))
			}
			if line == "\r\n" {
				break
			}
		}
		body := make([]byte, length)
		if _, err := io.ReadFull(r, body); err != nil {
			return "", err
		}
		return b.String() + string(body), nil
	}
}

// OptionsProbe is an OPTIONS request from local to target with Call-ID id.
func OptionsProbe(transport string, target netip.AddrPort, local, id string) []byte {
	return []byte(fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/%s %s;rport;branch=z9hG4bK-%s\r\n"+
		"From: <sip:probe@127.0.0.1>;tag=p-%s\r\nTo: <sip:%s>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\n"+
		"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", target, strings.ToUpper(transport), local, id, id, target, id))
}
