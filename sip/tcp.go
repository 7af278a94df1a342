package sip

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/internal/guard"
)

// tcpListener is the listener sipgo's ServeTCP is given: it refuses a
// connection past the per-source cap (closing it at once) and hands out
// tcpConns, which frame, screen and time out what they read.
type tcpListener struct {
	net.Listener
	s *Server

	mu   sync.Mutex
	open map[netip.Addr]int
}

func (s *Server) wrapTCP(l net.Listener) net.Listener {
	return &tcpListener{Listener: l, s: s, open: make(map[netip.Addr]int)}
}

// Accept returns the next connection within its source's cap; connections
// over it are closed here and never reach sipgo.
func (l *tcpListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		src := addrPortOf(c.RemoteAddr())
		per := l.s.limits().TCPConnectionsPerSource
		l.mu.Lock()
		n := l.open[src.Addr()]
		full := per > 0 && n >= per
		if !full {
			l.open[src.Addr()] = n + 1
		}
		l.mu.Unlock()
		if full {
			l.s.log.Warn("sip: tcp connection over the per-source cap closed", "source", src, "open", n)
			_ = c.Close()
			continue
		}
		return &tcpConn{Conn: c, l: l, src: src}, nil
	}
}

func (l *tcpListener) release(ip netip.Addr) {
	l.mu.Lock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
	}
	l.mu.Unlock()
}

// tcpConn frames the byte stream into SIP messages (RFC 3261 18.3: by
// Content-Length), screens each as a datagram is screened, and passes to
// sipgo only whole messages that passed. A message that leaves no boundary to
// resync on (no or a bad Content-Length, too large) is answered and the
// connection closed. Reads wait at most the idle timeout.
type tcpConn struct {
	net.Conn
	l   *tcpListener
	src netip.AddrPort

	in, out []byte
	buf     []byte
	once    sync.Once
	shaken  bool // a TLS connection's handshake is done (tls.go); reader only
}

// errFraming ends a connection whose stream cannot be framed.
var errFraming = errors.New("sip: tcp stream cannot be framed")

// Read is called by sipgo's connection reader goroutine only.
func (c *tcpConn) Read(p []byte) (n int, err error) {
	defer guard.Recover(c.l.s.log, "sip", func(any) { n, err = 0, errFraming })
	for len(c.out) == 0 {
		if err := c.fill(); err != nil {
			return 0, err
		}
		if err := c.frame(); err != nil {
			return 0, err
		}
	}
	n = copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// fill reads what the peer sent next, within the idle timeout.
func (c *tcpConn) fill() error {
	idle := c.handshakeBound(c.l.s.limits().TCPIdleTimeout)
	if idle > 0 {
		_ = c.Conn.SetReadDeadline(time.Now().Add(idle))
	}
	if c.buf == nil {
		c.buf = make([]byte, 16<<10)
	}
	n, err := c.Conn.Read(c.buf)
	c.in = append(c.in, c.buf[:n]...)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.l.s.log.Info("sip: idle tcp connection closed", "source", c.src, "idle", idle)
		return io.EOF
	}
	return err
}

// frame moves every whole message in c.in to c.out (or answers it), keeping
// a partial one for the next read.
func (c *tcpConn) frame() error {
	for {
		// Keep-alives between messages (RFC 5626 3.5.1) are answered here:
		// a double CRLF ping gets a CRLF pong; sipgo never sees them, so a
		// read it gets always starts a message.
		if k := len(c.in) - len(bytes.TrimLeft(c.in, "\r\n")); k > 0 {
			if k >= 4 {
				if _, err := c.Conn.Write([]byte("\r\n")); err != nil {
					return err
				}
			}
			c.in = c.in[k:]
		}
		if len(c.in) == 0 {
			return nil
		}
		end := bytes.Index(c.in, []byte("\r\n\r\n"))
		if end < 0 {
			if len(c.in) >= maxMessage {
				return c.refuse(c.in, 513, "Message Too Large")
			}
			return nil
		}
		body, ok := contentLength(c.in[:end])
		switch {
		case !ok:
			return c.refuse(c.in[:end], 400, "Bad Request: Content-Length missing or malformed on a stream")
		case end+4+body >= maxMessage:
			return c.refuse(c.in[:end], 513, "Message Too Large")
		case len(c.in) < end+4+body:
			return nil
		}
		msg := c.in[:end+4+body]
		r := c.l.s.screen(c.src, msg)
		if r.reply != nil {
			if _, err := c.Conn.Write(r.reply); err != nil {
				return err
			}
		}
		if r.pass {
			c.out = append(c.out, msg...)
		}
		c.in = c.in[len(msg):]
	}
}

// refuse answers a request whose stream cannot be framed and ends the
// connection.
func (c *tcpConn) refuse(head []byte, code int, reason string) error {
	c.l.s.log.Warn("sip: tcp message refused, connection closed", "source", c.src, "code", code, "reason", reason)
	if !bytes.HasPrefix(head, []byte("SIP/")) && rawMethod(head) != "ACK" {
		if res := rawResponse(head, code, reason, 0); res != nil {
			_, _ = c.Conn.Write(res)
			c.l.s.observeResponse("MALFORMED", code)
		}
	}
	return errFraming
}

// contentLength reads the Content-Length (or compact l) of a header block;
// ok is false when it is missing, repeated or not a number.
func contentLength(head []byte) (n int, ok bool) {
	found := false
	for _, line := range bytes.Split(head, []byte("\r\n"))[1:] {
		name, val, has := bytes.Cut(line, []byte(":"))
		if !has {
			continue
		}
		name = bytes.TrimSpace(name)
		if !bytes.EqualFold(name, []byte("content-length")) && !bytes.EqualFold(name, []byte("l")) {
			continue
		}
		v, err := strconv.Atoi(string(bytes.TrimSpace(val)))
		if found || err != nil || v < 0 {
			return 0, false
		}
		n, found = v, true
	}
	return n, found
}

// Close closes the connection and gives its place back to its source.
func (c *tcpConn) Close() error {
	c.once.Do(func() { c.l.release(c.src.Addr()) })
	return c.Conn.Close()
}
