package media

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/media/fastpath"
)

// pathsBlasterEnv makes the test binary the packet source of
// TestRelayPaths (see TestRelayPathsBlaster).
const pathsBlasterEnv = "MEDIA_PATHS_BLASTER"

// TestRelayPaths compares the relay paths side by side in one run (a
// benchmark: it runs only with HOTLINE_BENCH=1). For each number of
// bridged calls (HOTLINE_BENCH_LEVELS, default 200,500,1000) and each path
// (HOTLINE_BENCH_PATHS, default floor,user,kernel) a separate process
// (this test binary as TestRelayPathsBlaster) plays both phones of every
// call: a PCMA frame every 20 ms each way, each stamped with its send time
// and stream, and receives what comes out of the relay, so it measures
// latency, jitter (RFC 3550, per stream) and loss.
//
//   - floor: the phones send to each other directly, no relay: what the
//     generator and the kernel's loopback delivery cost by themselves.
//   - user: two sessions per call bridged by this process's Manager with
//     the kernel fast path off (socket, reader goroutine, recvfrom, sendto).
//   - kernel: the same with Config.FastPath: the eBPF program relays.
//
// CPU is counted where the work runs: this process (the engine), the
// blaster, and the ksoftirqd threads (from /proc), because a packet the
// kernel relays is processed inside the sender's system call or in
// softirq, never in the engine. The relay's own cost per packet is the
// path's total minus the floor's. /proc/stat's machine busy is shown for
// reference (other processes on the machine count there).
func TestRelayPaths(t *testing.T) {
	if os.Getenv("HOTLINE_BENCH") == "" {
		t.Skip("a benchmark: HOTLINE_BENCH=1 runs it")
	}
	levels := envList("HOTLINE_BENCH_LEVELS", "200,500,1000")
	paths := envWords("HOTLINE_BENCH_PATHS", "floor,user,kernel")
	window := 10 * time.Second
	if v := os.Getenv("HOTLINE_BENCH_WINDOW"); v != "" {
		window, _ = time.ParseDuration(v)
	}
	started, load := time.Now().UTC(), loadAvg()
	bl := spawnBlaster(t, "TestRelayPathsBlaster", pathsBlasterEnv)
	var rows []pathRow
	for _, calls := range levels {
		var floor *pathRow
		for _, path := range paths {
			r := runPath(t, bl, path, calls, window)
			if path == "floor" {
				floor = &r
			}
			if floor != nil && path != "floor" {
				r.ownNs = r.totalNs() - floor.totalNs()
				r.addedP50, r.addedP99 = r.latP50-floor.latP50, r.latP99-floor.latP99
			}
			t.Logf("%s", r.line())
			rows = append(rows, r)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "relay paths, %s window, %s to %s, load average before: %s, after: %s\n\n",
		window, started.Format(time.RFC3339), time.Now().UTC().Format(time.RFC3339), load, loadAvg())
	b.WriteString("| calls | path | relayed packets/s (nominal) | lost | latency p50 / p99 | added vs floor p50 / p99 | jitter p50 / p99 | engine CPU | blaster CPU | ksoftirqd CPU | CPU per packet, all three | relay's own per packet (− floor) | = % of a core per call | engine allocs per packet | machine busy (of 2 cores) |\n")
	b.WriteString("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range rows {
		b.WriteString(r.markdown())
	}
	t.Log("\n" + b.String())
	if dir := os.Getenv("HOTLINE_BENCH_OUT"); dir != "" {
		_ = os.MkdirAll(dir, 0o755)
		_ = os.WriteFile(filepath.Join(dir, "relay-paths.md"), []byte(b.String()), 0o644)
	}
}

// pathRow is one path at one level.
type pathRow struct {
	path                     string
	calls                    int
	window                   time.Duration
	sent, received           int64
	latP50, latP99           time.Duration
	jitP50, jitP99           time.Duration
	engine, blaster, softirq time.Duration
	machine                  float64 // cores busy, /proc/stat
	mallocs                  uint64
	kernelLegs               int
	progRuns                 uint64        // the eBPF program's runs in the window (kernel path)
	progTime                 time.Duration // and their total run time
	ownNs                    float64       // relay's own CPU per packet (path − floor); 0 for the floor
	addedP50, addedP99       time.Duration
}

func (r *pathRow) totalNs() float64 {
	if r.received == 0 {
		return 0
	}
	return float64((r.engine + r.blaster + r.softirq).Nanoseconds()) / float64(r.received)
}

func (r *pathRow) line() string {
	return fmt.Sprintf("%d calls %s: sent %d received %d, latency p50 %v p99 %v, jitter p50 %v p99 %v, CPU engine %v blaster %v softirq %v, %.0f ns/pkt all, own %.0f ns/pkt, kernel legs %d, machine %.2f cores, mallocs %d",
		r.calls, r.path, r.sent, r.received, r.latP50, r.latP99, r.jitP50, r.jitP99, r.engine, r.blaster, r.softirq, r.totalNs(), r.ownNs, r.kernelLegs, r.machine, r.mallocs)
}

func (r *pathRow) markdown() string {
	w := r.window.Seconds()
	own, share, added, allocs := "—", "—", "—", "—"
	if r.path != "floor" {
		own = fmt.Sprintf("%.2f µs", r.ownNs/1000)
		share = fmt.Sprintf("%.3f%%", r.ownNs*100/1e9*100)
		added = fmt.Sprintf("%d / %d µs", r.addedP50.Microseconds(), r.addedP99.Microseconds())
		allocs = fmt.Sprintf("%.4f", float64(r.mallocs)/float64(max(r.received, 1)))
	}
	path := r.path
	if r.path == "kernel" {
		path = fmt.Sprintf("kernel (%d legs in it; the program: %.2f runs, %.0f ns per packet)", r.kernelLegs,
			float64(r.progRuns)/float64(max(r.received, 1)), float64(r.progTime.Nanoseconds())/float64(max(r.received, 1)))
	}
	return fmt.Sprintf("| %d | %s | %.0f (%d) | %d of %d | %d / %d µs | %s | %d / %d µs | %.1f%% | %.1f%% | %.1f%% | %.2f µs | %s | %s | %s | %.2f |\n",
		r.calls, path, float64(r.received)/w, r.calls*100, r.sent-r.received, r.sent,
		r.latP50.Microseconds(), r.latP99.Microseconds(), added, r.jitP50.Microseconds(), r.jitP99.Microseconds(),
		100*r.engine.Seconds()/w, 100*r.blaster.Seconds()/w, 100*r.softirq.Seconds()/w,
		r.totalNs()/1000, own, share, allocs, r.machine)
}

// runPath sets up calls bridged calls on one path, warms them up (every
// leg learns its peer; on the kernel path, moves to the kernel), and
// measures one window.
func runPath(t *testing.T, bl *blaster, path string, calls int, window time.Duration) pathRow {
	t.Helper()
	pairs := make([]string, calls)
	var m *Manager
	if path == "floor" {
		for i := range pairs {
			pairs[i] = bl.agent.String() + "," + bl.caller.String()
		}
	} else {
		var err error
		m, err = NewManager(Config{Address: netip.MustParseAddr("127.0.0.1"), FastPath: path == "kernel"})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if path == "kernel" && m.FastPath() != "kernel" {
			t.Fatalf("the kernel fast path did not load here")
		}
		for i := range pairs {
			a, err := m.NewSession(SessionConfig{Params: Params{Remote: bl.caller, Codec: PCMA, DTMF: 101}})
			if err != nil {
				t.Fatal(err)
			}
			b, err := m.NewSession(SessionConfig{Params: Params{Remote: bl.agent, Codec: PCMA, DTMF: 101}})
			if err != nil {
				t.Fatal(err)
			}
			Bridge(a, b)
			pairs[i] = a.LocalAddr().String() + "," + b.LocalAddr().String()
		}
	}
	playCalls(t, bl, pairs, 2*time.Second) // warm-up
	r := pathRow{path: path, calls: calls, window: window}
	if m != nil {
		r.kernelLegs = m.KernelLegs()
	}
	if m != nil && m.kernel != nil {
		if c, err := fastpath.EnableStats(); err == nil {
			defer c.Close()
		}
	}
	progRuns0, progTime0 := programStats(m)
	soft := softirqThreads()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs0, engine0, soft0, busy0, wall0 := ms.Mallocs, processCPU(), threadsCPU(soft), machineBusy(), time.Now()
	res := playCalls(t, bl, pairs, window)
	busy1, wall1 := machineBusy(), time.Now()
	r.engine, r.softirq = processCPU()-engine0, threadsCPU(soft)-soft0
	runtime.ReadMemStats(&ms)
	r.mallocs = ms.Mallocs - mallocs0
	progRuns1, progTime1 := programStats(m)
	r.progRuns, r.progTime = progRuns1-progRuns0, progTime1-progTime0
	r.machine = (busy1 - busy0).Seconds() / wall1.Sub(wall0).Seconds()
	r.sent, r.received, r.blaster = res.sent, res.received, res.cpu
	r.latP50, r.latP99, r.jitP50, r.jitP99 = res.latP50, res.latP99, res.jitP50, res.jitP99
	return r
}

// programStats reads the eBPF program's run count and time (kernel path).
func programStats(m *Manager) (uint64, time.Duration) {
	if m == nil || m.kernel == nil {
		return 0, 0
	}
	runs, total, _ := m.kernel.p.ProgramStats()
	return runs, total
}

func envList(name, def string) []int {
	var out []int
	for _, w := range envWords(name, def) {
		n, err := strconv.Atoi(w)
		if err == nil {
			out = append(out, n)
		}
	}
	return out
}

func envWords(name, def string) []string {
	v := os.Getenv(name)
	if v == "" {
		v = def
	}
	return strings.Split(v, ",")
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// machineBusy is the machine's non-idle CPU time so far (/proc/stat).
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0])
	var busy int64
	for i, s := range f[1:] {
		n, _ := strconv.ParseInt(s, 10, 64)
		if i != 3 && i != 4 && i < 8 { // not idle, iowait; not guest (counted in user)
			busy += n
		}
	}
	return time.Duration(busy) * time.Second / 100 // USER_HZ
}

// softirqThreads lists the ksoftirqd threads' stat files.
func softirqThreads() []string {
	var out []string
	ds, _ := os.ReadDir("/proc")
	for _, d := range ds {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		comm, _ := os.ReadFile("/proc/" + d.Name() + "/comm")
		if strings.HasPrefix(string(comm), "ksoftirqd/") {
			out = append(out, "/proc/"+d.Name()+"/stat")
		}
	}
	return out
}

// threadsCPU sums utime+stime of the stat files.
func threadsCPU(stats []string) time.Duration {
	var sum time.Duration
	for _, p := range stats {
		sum += statCPU(p)
	}
	return sum
}

func statCPU(path string) time.Duration {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100
}

type blastResult struct {
	sent, received                 int64
	latP50, latP99, jitP50, jitP99 time.Duration
	cpu                            time.Duration
}

// playCalls has the blaster (TestRelayPathsBlaster) play every call
// (pairs: "A,B": the caller sends to A, the agent to B) for d and report.
func playCalls(t *testing.T, bl *blaster, pairs []string, d time.Duration) blastResult {
	t.Helper()
	if _, err := fmt.Fprintf(bl.in, "%d %s\n", d.Milliseconds(), strings.Join(pairs, " ")); err != nil {
		t.Fatal(err)
	}
	if !bl.out.Scan() {
		t.Fatal("blaster ended")
	}
	var r blastResult
	var lat50, lat99, jit50, jit99, cpu int64
	if _, err := fmt.Sscanf(bl.out.Text(), "done %d %d %d %d %d %d %d", &r.sent, &r.received, &lat50, &lat99, &jit50, &jit99, &cpu); err != nil {
		t.Fatalf("blaster: %q: %v", bl.out.Text(), err)
	}
	r.latP50, r.latP99, r.jitP50, r.jitP99, r.cpu = time.Duration(lat50), time.Duration(lat99), time.Duration(jit50), time.Duration(jit99), time.Duration(cpu)
	return r
}

// TestRelayPathsBlaster is not a test: run with MEDIA_PATHS_BLASTER=1 by
// TestRelayPaths, it plays both phones of every call. It prints its caller
// and agent addresses, then for each line "MS A,B..." sends, for MS
// milliseconds, a PCMA frame every 20 ms from the caller socket to each A
// and from the agent socket to each B (payload: send time, stream), reads
// what comes back on both, waits 300 ms for stragglers and prints "done
// SENT RECEIVED LAT50 LAT99 JIT50 JIT99 CPU" (nanoseconds).
func TestRelayPathsBlaster(t *testing.T) {
	if os.Getenv(pathsBlasterEnv) == "" {
		return
	}
	caller, agent := blasterSocket(t), blasterSocket(t)
	_ = caller.SetReadBuffer(16 << 20)
	_ = agent.SetReadBuffer(16 << 20)
	fmt.Printf("%s %s\n", caller.LocalAddr(), agent.LocalAddr())
	rx := &pathsReceiver{epoch: time.Now()}
	for _, c := range []*net.UDPConn{caller, agent} {
		go rx.read(c)
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<22), 1<<22)
	for in.Scan() {
		f := strings.Fields(in.Text())
		ms, _ := strconv.Atoi(f[0])
		dsts := make([]netip.AddrPort, 0, 2*(len(f)-1))
		for _, p := range f[1:] {
			a, b, _ := strings.Cut(p, ",")
			dsts = append(dsts, netip.MustParseAddrPort(a), netip.MustParseAddrPort(b))
		}
		rx.reset(len(dsts))
		cpu0 := processCPU()
		sent := blastPaths(t, rx.epoch, caller, agent, dsts, time.Duration(ms)*time.Millisecond)
		settle := time.NewTimer(300 * time.Millisecond)
		<-settle.C
		cpu := processCPU() - cpu0
		lat50, lat99, jit50, jit99, got := rx.summary()
		fmt.Printf("done %d %d %d %d %d %d %d\n", sent, got, lat50, lat99, jit50, jit99, cpu.Nanoseconds())
	}
	os.Exit(0)
}

// blastPaths sends every stream (even: caller → dsts[i], odd: agent →
// dsts[i]) one frame per 20 ms for d, the streams spread over four 5 ms
// slots, each frame stamped just before its own send.
func blastPaths(t *testing.T, epoch time.Time, caller, agent *net.UDPConn, dsts []netip.AddrPort, d time.Duration) int64 {
	pkt := make([]byte, 12+samplesPerFrame)
	pkt[0], pkt[1] = 0x80, PCMA.PayloadType
	binary.BigEndian.PutUint32(pkt[8:], 0x5eed)
	seqs := make([]uint16, len(dsts))
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	end := time.Now().Add(d)
	var sent int64
	for slot := 0; time.Now().Before(end); slot = (slot + 1) % 4 {
		<-tick.C
		for i := slot; i < len(dsts); i += 4 {
			conn := caller
			if i%2 == 1 {
				conn = agent
			}
			binary.BigEndian.PutUint16(pkt[2:], seqs[i])
			binary.BigEndian.PutUint32(pkt[4:], uint32(seqs[i])*samplesPerFrame)
			seqs[i]++
			binary.BigEndian.PutUint32(pkt[20:], uint32(i))
			binary.BigEndian.PutUint64(pkt[12:], uint64(time.Since(epoch)))
			if _, err := conn.WriteToUDPAddrPort(pkt, dsts[i]); err != nil {
				t.Fatal(err)
			}
			sent++
		}
	}
	return sent
}

// pathsReceiver counts what comes back: a latency histogram (1 µs
// buckets up to 100 ms, the last one for everything later) and each
// stream's RFC 3550 jitter. No allocation per packet.
type pathsReceiver struct {
	epoch    time.Time
	mu       sync.Mutex
	hist     [100001]int64
	streams  []streamJitter
	received atomic.Int64
}

type streamJitter struct {
	transit int64 // the last packet's arrival − send time, ns; 0: none yet
	jitter  float64
}

func (r *pathsReceiver) reset(streams int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.hist[:])
	r.streams = make([]streamJitter, streams)
	r.received.Store(0)
}

func (r *pathsReceiver) read(c *net.UDPConn) {
	buf := make([]byte, 2048)
	for {
		n, _, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		now := int64(time.Since(r.epoch))
		if n < 24 {
			continue
		}
		sentAt := int64(binary.BigEndian.Uint64(buf[12:]))
		stream := int(binary.BigEndian.Uint32(buf[20:]))
		transit := now - sentAt
		r.mu.Lock()
		if stream < len(r.streams) {
			r.hist[min(max(transit/1000, 0), int64(len(r.hist)-1))]++
			s := &r.streams[stream]
			if s.transit != 0 {
				d := float64(transit - s.transit)
				if d < 0 {
					d = -d
				}
				s.jitter += (d - s.jitter) / 16
			}
			s.transit = transit
			r.received.Add(1)
		}
		r.mu.Unlock()
	}
}

// summary: latency p50/p99, jitter p50/p99 over the streams (ns), packets.
func (r *pathsReceiver) summary() (lat50, lat99, jit50, jit99, got int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	got = r.received.Load()
	pct := func(p float64) int64 {
		want, acc := int64(float64(got)*p), int64(0)
		for i, n := range r.hist {
			if acc += n; acc > want {
				return int64(i) * 1000
			}
		}
		return int64(len(r.hist)) * 1000
	}
	jit := make([]float64, 0, len(r.streams))
	for _, s := range r.streams {
		jit = append(jit, s.jitter)
	}
	slices.Sort(jit)
	if len(jit) > 0 {
		jit50, jit99 = int64(jit[len(jit)/2]), int64(jit[len(jit)*99/100])
	}
	return pct(0.5), pct(0.99), jit50, jit99, got
}
