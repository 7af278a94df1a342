package media

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// blasterEnv makes the test binary a packet source for BenchmarkRelayCPU
// (see TestRelayBlasterProcess).
const blasterEnv = "MEDIA_RELAY_BLASTER"

// BenchmarkRelayCPU measures the CPU the relay itself spends per packet,
// in this process only: a separate process (this test binary re-run as
// TestRelayBlasterProcess) sends every caller's 20 ms frames, paced like
// real calls (each leg 50 packets/s, so each packet finds its reader
// asleep, as in production), and receives what is relayed. cpu-ns/pkt is
// this process's user+system CPU (getrusage) over packets relayed: socket
// read, parse, rewrite, socket write, the kernel's loopback delivery of
// the write, and the Go scheduler's wake-ups. ns/op is wall time per packet
// and only reflects the pacing. The plain-* cases relay the same way with
// a bare read-then-write loop per socket and no RTP work at all: the floor
// that the kernel and Go's netpoller set for this design.
func BenchmarkRelayCPU(b *testing.B) {
	for _, calls := range []int{100, 500} {
		b.Run(fmt.Sprintf("calls=%d", calls), func(b *testing.B) { benchRelayCPU(b, calls) })
		b.Run(fmt.Sprintf("plain-calls=%d", calls), func(b *testing.B) { benchPlainRelayCPU(b, calls) })
	}
}

// benchPlainRelayCPU is benchRelayCPU with plain sockets in place of
// sessions: one goroutine per socket reading into its own buffer and
// writing to the agent.
func benchPlainRelayCPU(b *testing.B, calls int) {
	bl := startBlaster(b)
	var relayed atomic.Uint64
	dsts := make([]string, calls)
	for i := range dsts {
		conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		b.Cleanup(func() { conn.Close(); <-done })
		go func() {
			defer close(done)
			buf := make([]byte, maxPacket)
			for {
				n, _, err := conn.ReadFromUDPAddrPort(buf)
				if err != nil {
					return
				}
				if _, err := conn.WriteToUDPAddrPort(buf[:n], bl.agent); err == nil {
					relayed.Add(1)
				}
			}
		}()
		dsts[i] = conn.LocalAddr().String()
	}
	bl.run(b, dsts, 5*calls)
	relayed0, cpu0 := relayed.Load(), processCPU()
	start := time.Now()
	b.ResetTimer()
	received := bl.run(b, dsts, b.N)
	b.StopTimer()
	reportRelayCPU(b, relayed.Load()-relayed0, processCPU()-cpu0, time.Since(start), received)
}

func reportRelayCPU(b *testing.B, relayed uint64, cpu, wall time.Duration, received int) {
	if relayed == 0 {
		b.Fatal("nothing relayed")
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(relayed), "cpu-ns/pkt")
	b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cores")
	b.ReportMetric(float64(b.N-received), "lost")
}

func benchRelayCPU(b *testing.B, calls int) {
	bl := startBlaster(b)
	m := newTestManager(b)
	dsts := make([]string, calls)
	for i := range dsts {
		a := newTestSession(b, m, SessionConfig{Params: Params{Remote: bl.caller, Codec: PCMA, DTMF: 101}})
		to := newTestSession(b, m, SessionConfig{Params: Params{Remote: bl.agent, Codec: PCMA, DTMF: 101}})
		a.RelayTo(to)
		dsts[i] = a.LocalAddr().String()
	}
	bl.run(b, dsts, 5*calls) // warm up: every session learns its peer
	relayed0, cpu0 := m.stats.packetsRelayed.Load(), processCPU()
	start := time.Now()
	b.ResetTimer()
	received := bl.run(b, dsts, b.N)
	b.StopTimer()
	reportRelayCPU(b, m.stats.packetsRelayed.Load()-relayed0, processCPU()-cpu0, time.Since(start), received)
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// blaster is the packet-source process seen from the benchmark.
type blaster struct {
	caller, agent netip.AddrPort
	in            io.WriteCloser
	out           *bufio.Scanner
}

func startBlaster(b *testing.B) *blaster {
	return spawnBlaster(b, "TestRelayBlasterProcess", blasterEnv)
}

// spawnBlaster runs this test binary as the packet source test (with
// env=1 set), reads the caller and agent addresses it prints first, and
// stops it when the test ends.
func spawnBlaster(tb testing.TB, test, env string) *blaster {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(os.Environ(), env+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { in.Close(); _ = cmd.Wait() })
	bl := &blaster{in: in, out: bufio.NewScanner(out)}
	bl.out.Buffer(make([]byte, 1<<20), 1<<20)
	var c, a string
	if !bl.out.Scan() {
		tb.Fatal("blaster said nothing")
	}
	if _, err := fmt.Sscan(bl.out.Text(), &c, &a); err != nil {
		tb.Fatalf("blaster: %q: %v", bl.out.Text(), err)
	}
	bl.caller, bl.agent = netip.MustParseAddrPort(c), netip.MustParseAddrPort(a)
	return bl
}

// run has the blaster send n packets round-robin to dsts at 50 packets/s
// per destination, and returns how many came back through the relay.
func (bl *blaster) run(b *testing.B, dsts []string, n int) int {
	b.Helper()
	if _, err := fmt.Fprintf(bl.in, "%d %s\n", n, strings.Join(dsts, " ")); err != nil {
		b.Fatal(err)
	}
	if !bl.out.Scan() {
		b.Fatal("blaster ended")
	}
	got, err := strconv.Atoi(strings.TrimPrefix(bl.out.Text(), "done "))
	if err != nil {
		b.Fatalf("blaster: %q", bl.out.Text())
	}
	return got
}

// TestRelayBlasterProcess is not a test: run with MEDIA_RELAY_BLASTER=1 by
// BenchmarkRelayCPU, it is the packet source. It prints its caller and
// agent addresses, then for each line "N DST..." on stdin sends N PCMA
// frames round-robin to the DSTs, paced at 50 frames/s per DST, waits for
// stragglers and prints "done RECEIVED".
func TestRelayBlasterProcess(t *testing.T) {
	if os.Getenv(blasterEnv) == "" {
		return
	}
	caller := blasterSocket(t)
	agent := blasterSocket(t)
	var received atomic.Int64
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := agent.ReadFromUDPAddrPort(buf); err != nil {
				return
			}
			received.Add(1)
		}
	}()
	fmt.Printf("%s %s\n", caller.LocalAddr(), agent.LocalAddr())
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for in.Scan() {
		f := strings.Fields(in.Text())
		n, _ := strconv.Atoi(f[0])
		dsts := make([]netip.AddrPort, len(f)-1)
		for i, s := range f[1:] {
			dsts[i] = netip.MustParseAddrPort(s)
		}
		before := received.Load()
		blast(t, caller, dsts, n)
		settle := time.NewTimer(200 * time.Millisecond)
		<-settle.C
		fmt.Printf("done %d\n", received.Load()-before)
	}
	os.Exit(0)
}

func blasterSocket(t *testing.T) *net.UDPConn {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadBuffer(4 << 20)
	_ = c.SetWriteBuffer(4 << 20)
	return c
}

// blast sends n frames round-robin over dsts from one ticker, 5 ms apart,
// so that each destination gets one frame per 20 ms.
func blast(t *testing.T, conn *net.UDPConn, dsts []netip.AddrPort, n int) {
	pkt := make([]byte, 12+samplesPerFrame)
	pkt[0], pkt[1] = 0x80, PCMA.PayloadType
	binary.BigEndian.PutUint32(pkt[8:], 0x5eed)
	perTick := max(1, len(dsts)/4)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	next := 0
	for sent := 0; sent < n; {
		<-tick.C
		for i := 0; i < perTick && sent < n; i++ {
			binary.BigEndian.PutUint16(pkt[2:], uint16(sent))
			binary.BigEndian.PutUint32(pkt[4:], uint32(sent)*samplesPerFrame)
			if _, err := conn.WriteToUDPAddrPort(pkt, dsts[next]); err != nil {
				t.Fatal(err)
			}
			next = (next + 1) % len(dsts)
			sent++
		}
	}
}
