//go:build linux

package media

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// batchSize is how many packets one sendmmsg carries: a 20 ms tick of
// 1,000 playing sessions is four system calls instead of 1,000.
const batchSize = 256

// ipUDPHeader is the IPv4 header (no options) and the UDP header a raw
// packet carries in front of its RTP.
const ipUDPHeader = 20 + 8

// mmsghdr is struct mmsghdr of sendmmsg(2).
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
	_   [4]byte
}

// sendBatch sends the pacer's packets (prompts, music, DTMF, mixed frames)
// with one sendmmsg per batchSize packets on one raw IPv4 socket, instead
// of one sendto per packet on each session's own socket. Each packet is
// built whole, IP and UDP headers included, with the session's own address
// and port as its source, so the peer sees exactly what the session's
// socket would have sent (symmetric RTP holds: replies still arrive on the
// session's socket). It needs CAP_NET_RAW; newSendBatch fails without it
// and the pacer sends as before. Used by the pacer goroutine only; it
// allocates nothing after newSendBatch.
type sendBatch struct {
	fd     int
	n      int
	owners [batchSize]*Session
	hdrs   [batchSize]mmsghdr
	iov    [batchSize]unix.Iovec
	names  [batchSize]unix.RawSockaddrInet4
	bufs   [batchSize][ipUDPHeader + maxPacket]byte
}

// newSendBatch opens the raw socket (IPPROTO_RAW: the header is ours).
func newSendBatch() (*sendBatch, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
	if err != nil {
		return nil, fmt.Errorf("raw socket: %w", err)
	}
	b := &sendBatch{fd: fd}
	for i := range b.hdrs {
		b.iov[i].Base = &b.bufs[i][0]
		b.names[i].Family = unix.AF_INET
		b.hdrs[i].hdr.Iov = &b.iov[i]
		b.hdrs[i].hdr.Iovlen = 1
		b.hdrs[i].hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		b.hdrs[i].hdr.Namelen = unix.SizeofSockaddrInet4
	}
	return b, nil
}

// add queues pkt from src to dst for the next flush (flushing first when
// the batch is full); false when it cannot carry it (not IPv4), and the
// caller sends it on the session's socket.
func (b *sendBatch) add(owner *Session, src, dst netip.AddrPort, pkt []byte) bool {
	if !src.Addr().Is4() || !dst.Addr().Is4() || len(pkt) > maxPacket {
		return false
	}
	if b.n == batchSize {
		b.flush()
	}
	i := b.n
	p := b.bufs[i][:ipUDPHeader+len(pkt)]
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	// IPv4: version 4, IHL 5; the kernel fills the total length, the
	// identification (left 0) and the header checksum (raw(7)).
	p[0], p[1] = 0x45, 0 // TOS 0, as the session's socket sends
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	binary.BigEndian.PutUint32(p[4:], 0x4000) // id 0, don't fragment
	p[8], p[9] = 64, unix.IPPROTO_UDP
	p[10], p[11] = 0, 0
	copy(p[12:16], s4[:])
	copy(p[16:20], d4[:])
	u := p[20:]
	binary.BigEndian.PutUint16(u[0:], src.Port())
	binary.BigEndian.PutUint16(u[2:], dst.Port())
	binary.BigEndian.PutUint16(u[4:], uint16(8+len(pkt)))
	u[6], u[7] = 0, 0
	copy(u[8:], pkt)
	binary.BigEndian.PutUint16(u[6:], udpChecksum(s4, d4, u))
	b.iov[i].SetLen(len(p))
	b.names[i].Addr = d4
	b.owners[i] = owner
	b.n++
	return true
}

// flush sends what is queued. A packet the kernel refuses is a drop of
// its session's output (DropOutput), like a failed sendto; the rest go on.
func (b *sendBatch) flush() {
	for off := 0; off < b.n; {
		r, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(b.fd),
			uintptr(unsafe.Pointer(&b.hdrs[off])), uintptr(b.n-off), 0, 0, 0)
		switch {
		case errno == syscall.EINTR:
		case errno != 0:
			s := b.owners[off]
			s.packetsOut.Add(^uint64(0))
			s.m.stats.packetsOut.Add(^uint64(0))
			s.drop(DropOutput)
			off++
		default:
			off += int(r)
		}
	}
	clear(b.owners[:b.n])
	b.n = 0
}

func (b *sendBatch) close() { unix.Close(b.fd) }

// udpChecksum is the UDP checksum over the IPv4 pseudo-header and u (the
// UDP header, checksum field zero, and payload); 0 is sent as 0xffff.
func udpChecksum(src, dst [4]byte, u []byte) uint16 {
	sum := uint32(src[0])<<8 | uint32(src[1])
	sum += uint32(src[2])<<8 | uint32(src[3])
	sum += uint32(dst[0])<<8 | uint32(dst[1])
	sum += uint32(dst[2])<<8 | uint32(dst[3])
	sum += unix.IPPROTO_UDP + uint32(len(u))
	for len(u) >= 2 {
		sum += uint32(u[0])<<8 | uint32(u[1])
		u = u[2:]
	}
	if len(u) == 1 {
		sum += uint32(u[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	c := ^uint16(sum)
	if c == 0 {
		c = 0xffff
	}
	return c
}
