package rtpload

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync/atomic"
)

// side is which end of the calls an endpoint plays.
type side uint8

const (
	callerSide side = iota
	seatSide
)

func (s side) String() string {
	if s == callerSide {
		return "caller"
	}
	return "seat"
}

// endpoint is one socket playing one side of every call.
type endpoint struct {
	side    side
	conn    *net.UDPConn
	other   *endpoint
	pt      uint8
	streams []stream     // fixed at New: publishing never reallocates
	count   atomic.Int32 // streams[:count] are published

	index map[netip.AddrPort]uint32 // the reader goroutine's own
	wbuf  []byte                    // the pacer goroutine's own

	foreign    atomic.Uint64 // packets without our tag (prompts, music)
	invalid    atomic.Uint64 // not RTP version 2
	overflow   atomic.Uint64 // packets from new sources beyond MaxStreams
	sendErrors atomic.Uint64
}

func newEndpoint(s side, addr netip.Addr, cfg Config) (*endpoint, error) {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
	if err != nil {
		return nil, err
	}
	// Best effort: the kernel caps these at net.core.[rw]mem_max.
	_ = conn.SetReadBuffer(cfg.SocketBuffer)
	_ = conn.SetWriteBuffer(cfg.SocketBuffer)
	e := &endpoint{
		side: s, conn: conn, pt: cfg.PayloadType,
		streams: make([]stream, cfg.MaxStreams),
		index:   make(map[netip.AddrPort]uint32, cfg.MaxStreams),
		wbuf:    make([]byte, headerBytes+frameBytes),
	}
	silence := byte(0xd5) // A-law
	if cfg.PayloadType == 0 {
		silence = 0xff // µ-law
	}
	for i := headerBytes; i < len(e.wbuf); i++ {
		e.wbuf[i] = silence
	}
	e.wbuf[0] = 0x80
	e.wbuf[1] = cfg.PayloadType & 0x7f
	return e, nil
}

func (e *endpoint) addr() netip.AddrPort {
	return e.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// read is the endpoint's only reader: one buffer, each packet handled in
// place. It returns when the socket is closed.
func (e *endpoint) read() {
	buf := make([]byte, 2048)
	for {
		n, src, err := e.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		e.handle(buf[:n], src)
	}
}

func (e *endpoint) handle(p []byte, src netip.AddrPort) {
	payload, ok := rtpPayload(p)
	if !ok {
		e.invalid.Add(1)
		return
	}
	e.learn(src)
	s, index, counter, tagged := untag(payload)
	if !tagged || s != e.other.side {
		e.foreign.Add(1)
		return
	}
	if int32(index) < e.other.count.Load() {
		e.other.streams[index].note(counter)
	}
}

// learn publishes a stream for a source seen for the first time.
func (e *endpoint) learn(src netip.AddrPort) {
	if _, known := e.index[src]; known {
		return
	}
	n := e.count.Load()
	if int(n) >= len(e.streams) {
		e.overflow.Add(1)
		return
	}
	st := &e.streams[n]
	st.dest = src
	st.ssrc = rand.Uint32()
	st.seq = uint16(rand.Uint32())
	e.index[src] = uint32(n)
	e.count.Store(n + 1)
}

// send writes the next frame of stream i (pacer goroutine only).
func (e *endpoint) send(i int) {
	st := &e.streams[i]
	counter := st.sent.Load()
	st.seq++
	b := e.wbuf
	binary.BigEndian.PutUint16(b[2:], st.seq)
	binary.BigEndian.PutUint32(b[4:], counter*samplesFrame)
	binary.BigEndian.PutUint32(b[8:], st.ssrc)
	tag(b[headerBytes:], e.side, uint32(i), counter)
	if _, err := e.conn.WriteToUDPAddrPort(b, st.dest); err != nil {
		e.sendErrors.Add(1)
		return
	}
	st.sent.Store(counter + 1)
}

// rtpPayload returns the payload of an RTP packet (version 2; CSRCs,
// extension and padding skipped).
func rtpPayload(p []byte) ([]byte, bool) {
	if len(p) < headerBytes || p[0]>>6 != 2 {
		return nil, false
	}
	off := headerBytes + 4*int(p[0]&0x0f)
	if p[0]&0x10 != 0 {
		if len(p) < off+4 {
			return nil, false
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(p[off+2:]))
	}
	end := len(p)
	if p[0]&0x20 != 0 && end > off {
		end -= int(p[end-1])
	}
	if off > end {
		return nil, false
	}
	return p[off:end], true
}

// direction sums what this endpoint's streams sent and what of it came out
// of the relay on the other side.
func (e *endpoint) direction() Direction {
	d := Direction{From: e.side.String(), Streams: int(e.count.Load())}
	for i := range d.Streams {
		st := &e.streams[i]
		d.Sent += uint64(st.sent.Load())
		got := uint64(st.received.Load())
		d.Relayed += got
		d.Lost += st.lost()
		if got == 0 && st.sent.Load() > 0 {
			d.Silent++
		}
	}
	return d
}
