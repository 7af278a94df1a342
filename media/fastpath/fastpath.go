// Package fastpath is the kernel fast path of the media relay: an eBPF TC
// program (relay.c, compiled to the committed relay_bpfel.o) attached to
// the ingress of the interface RTP arrives on, and its map of bridged legs.
// For a leg in the map, the kernel rewrites each plain RTP packet from the
// leg's peer as the engine would write it on the other leg and sends it
// on, so the packet never reaches the engine's socket; anything else goes
// to user space as before.
//
// The media package is its only user: it decides which legs go in the map
// (a plain same-codec bridge) and takes them out when a leg needs user
// space again. This package knows addresses, SSRCs and offsets, nothing of
// sessions. It imports no hotline package.
package fastpath

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// ErrUnsupported is wrapped by Open when the fast path cannot be used for
// the address (IPv6, an address on no interface).
var ErrUnsupported = errors.New("fastpath: unsupported")

// loopbackIndex is lo's interface index, the same in every network namespace.
const loopbackIndex = 1

// Path is the program attached to one interface and its map of legs.
// Safe from any goroutine (each map operation is one system call).
type Path struct {
	objs    relayObjects
	link    link.Link
	iface   string
	ifindex int
}

// Open loads the program and attaches it (TCX, kernel 6.6 and later) to
// the ingress of the interface that holds addr. The error says what the
// kernel refused (no privileges, no BPF, an old kernel): the caller falls
// back to the user-space relay.
func Open(addr netip.Addr) (*Path, error) {
	addr = addr.Unmap()
	if !addr.Is4() {
		return nil, fmt.Errorf("%w: %s is not IPv4", ErrUnsupported, addr)
	}
	ifc, err := interfaceOf(addr)
	if err != nil {
		return nil, err
	}
	_ = rlimit.RemoveMemlock() // kernels before 5.11 charge maps to RLIMIT_MEMLOCK
	p := &Path{iface: ifc.Name, ifindex: ifc.Index}
	if ifc.Flags&net.FlagLoopback != 0 {
		p.ifindex = loopbackIndex
	}
	if err := loadRelayObjects(&p.objs, nil); err != nil {
		return nil, fmt.Errorf("fastpath: load: %w", err)
	}
	p.link, err = link.AttachTCX(link.TCXOptions{
		Interface: ifc.Index,
		Program:   p.objs.RtpRelay,
		Attach:    ebpf.AttachTCXIngress,
	})
	if err != nil {
		_ = p.objs.Close()
		return nil, fmt.Errorf("fastpath: attach to %s: %w", ifc.Name, err)
	}
	return p, nil
}

// interfaceOf finds the interface that holds addr.
func interfaceOf(addr netip.Addr) (*net.Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("fastpath: interfaces: %w", err)
	}
	for i := range ifs {
		as, err := ifs[i].Addrs()
		if err != nil {
			continue
		}
		for _, a := range as {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap() == addr {
					return &ifs[i], nil
				}
			}
		}
	}
	return nil, fmt.Errorf("%w: no interface holds %s", ErrUnsupported, addr)
}

// Interface names the interface the program is attached to.
func (p *Path) Interface() string { return p.iface }

// Close detaches the program and frees the map. The kernel also does so
// when the process exits, however it exits.
func (p *Path) Close() error {
	return errors.Join(p.link.Close(), p.objs.Close())
}

// Leg is one direction of a bridge as the kernel relays it: packets that
// arrive at Local from Remote with SSRC InSSRC and payload type PT leave
// from OutLocal to OutRemote, with SSRC OutSSRC and sequence numbers and
// timestamps shifted by SeqOff and TSOff. All addresses are IPv4.
type Leg struct {
	Local, Remote       netip.AddrPort
	OutLocal, OutRemote netip.AddrPort
	InSSRC, OutSSRC     uint32
	SeqOff              uint16
	TSOff               uint32
	PT                  uint8
}

// Counters are what the kernel relayed for a leg since Put.
type Counters struct {
	Packets, Bytes uint64
	Last           time.Time // arrival of the last one; zero if none
	LastSeq        uint16    // the last one's sequence number, timestamp and payload length, as sent
	LastTS         uint32
	LastLen        uint16
}

// Put adds or replaces the leg (its counters start at zero).
func (p *Path) Put(l Leg) error {
	for _, a := range []netip.AddrPort{l.Local, l.Remote, l.OutLocal, l.OutRemote} {
		if !a.Addr().Unmap().Is4() {
			return fmt.Errorf("%w: %s is not IPv4", ErrUnsupported, a)
		}
	}
	v := relayLeg{
		OutSaddr:   addr4(l.OutLocal),
		OutDaddr:   addr4(l.OutRemote),
		OutSport:   port(l.OutLocal),
		OutDport:   port(l.OutRemote),
		InSsrc:     be32(l.InSSRC),
		OutSsrc:    be32(l.OutSSRC),
		TsOff:      l.TSOff,
		SeqOff:     l.SeqOff,
		Pt:         l.PT,
		OutIfindex: uint32(p.ifindex),
	}
	k := key(l.Local, l.Remote)
	if err := p.objs.Legs.Update(&k, &v, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("fastpath: put leg %s<-%s: %w", l.Local, l.Remote, err)
	}
	return nil
}

// Read returns the leg's counters; false when the leg is not in the map.
func (p *Path) Read(local, remote netip.AddrPort) (Counters, bool) {
	var v relayLeg
	k := key(local, remote)
	if err := p.objs.Legs.Lookup(&k, &v); err != nil {
		return Counters{}, false
	}
	return counters(&v), true
}

// Take removes the leg and returns its last counters in one step, so no
// packet the kernel relays goes uncounted; false when it was not there.
func (p *Path) Take(local, remote netip.AddrPort) (Counters, bool) {
	var v relayLeg
	k := key(local, remote)
	if err := p.objs.Legs.LookupAndDelete(&k, &v); err != nil {
		return Counters{}, false
	}
	return counters(&v), true
}

func counters(v *relayLeg) Counters {
	c := Counters{Packets: v.Packets, Bytes: v.Bytes, LastSeq: v.LastSeq, LastTS: v.LastTs, LastLen: v.LastLen}
	if v.LastNs != 0 {
		var ts unix.Timespec
		if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) == nil {
			c.Last = time.Now().Add(-time.Duration(ts.Nano() - int64(v.LastNs)))
		}
	}
	return c
}

func key(local, remote netip.AddrPort) relayLegKey {
	return relayLegKey{Laddr: addr4(local), Raddr: addr4(remote), Lport: port(local), Rport: port(remote)}
}

// addr4, port and be32 give the value whose in-memory bytes are the
// network-order field the program compares.
func addr4(a netip.AddrPort) uint32 {
	b := a.Addr().Unmap().As4()
	return binary.NativeEndian.Uint32(b[:])
}

func port(a netip.AddrPort) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], a.Port())
	return binary.NativeEndian.Uint16(b[:])
}

func be32(x uint32) uint32 {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], x)
	return binary.NativeEndian.Uint32(b[:])
}

// EnableStats turns on the kernel's run-time accounting of every BPF
// program until the closer is closed (it costs a little on each run:
// benchmarks only).
func EnableStats() (io.Closer, error) {
	return ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
}

// ProgramStats is how often the program ran and for how long in all,
// counted while stats are enabled.
func (p *Path) ProgramStats() (runs uint64, total time.Duration, err error) {
	st, err := p.objs.RtpRelay.Stats()
	if err != nil {
		return 0, 0, err
	}
	return st.RunCount, st.Runtime, nil
}
