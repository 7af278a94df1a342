package main

// Set-up for the benchmark runs (bench_test.go): an engine tuned for load
// (info logging, a wide RTP port range, a 2 s greeting made with sox), seat
// registration at speed, and the process figures read from /proc.

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's utime and stime (100
// on every Linux this runs on; getconf CLK_TCK).
const clockTicks = 100

// benchOut is where profiles and the figures table are kept: HOTLINE_BENCH_OUT
// (the Makefile sets bin/bench), else a temporary folder.
func benchOut(t *testing.T) string {
	dir := os.Getenv("HOTLINE_BENCH_OUT")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "hotline-bench")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// benchPrompts writes a 2 s welcome (a 440 Hz tone) and a 2 s hold music
// with sox, so that benchmark calls are short.
func benchPrompts(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, freq := range map[string]string{"welcome.wav": "440", "hold.wav": "330"} {
		out, err := exec.Command("sox", "-D", "-n", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer",
			filepath.Join(dir, name), "synth", "2", "sine", freq, "vol", "0.3").CombinedOutput()
		if err != nil {
			t.Fatalf("sox %s: %v\n%s (is sox installed? apt-get install -y sox)", name, err, out)
		}
	}
	return dir
}

// benchFastPath is the rtp.fast_path line for mode ("": none).
func benchFastPath(mode string) string {
	if mode == "" {
		return ""
	}
	return "\n  fast_path: " + mode
}

// benchEngineOpts shape a bench engine: its seats, its RTP timeout (default
// 60s), YAML appended at the top level (a store), and where the engine
// writes a CPU profile ("" for none).
type benchEngineOpts struct {
	prompts    string
	seats      int
	fastPath   string // rtp.fast_path; "": the default (auto)
	rtpTimeout string
	extra      string
	limits     string
	profile    string
	rtp        string // more keys of the rtp section, indented
}

// benchCentre writes a centre with seats extensions 1001.. and returns its path.
func benchCentre(t *testing.T, dir string, o benchEngineOpts) string {
	t.Helper()
	if o.rtpTimeout == "" {
		o.rtpTimeout = "60s"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `centre: bench-centre
sip:
  address: 127.0.0.1:0
  transports: [udp]
  seat_ring_timeout: 8s
rtp:
  address: 127.0.0.1
  ports: 10000-31998
  timeout: %s%s
%shttp:
  address: 127.0.0.1:0
  token: '%s'
data_dir: %s
shutdown_grace: 5s
prompts:
  dir: %s
  welcome: welcome.wav
  hold_music: hold.wav
skills: [general]
trunks:
  - name: carrier
    acl: [%s/32]
lines:
  - {number: "12345", mode: main, skill: general}
seats:
`, o.rtpTimeout, benchFastPath(o.fastPath), o.rtp, testToken, filepath.Join(dir, "data"), o.prompts, carrierIP)
	for i := range o.seats {
		ext := 1001 + i
		fmt.Fprintf(&b, "  - {extension: \"%d\", password: demo-%d, skills: [general]}\n", ext, ext)
	}
	b.WriteString(o.extra)
	b.WriteString(seatFarmLimits)
	b.WriteString(o.limits) // more keys of the limits section, indented
	path := filepath.Join(dir, "centre.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startBenchEngine starts the (non-race) binary at info level, optionally
// with a CPU profile, and waits for its ready line.
func startBenchEngine(t *testing.T, o benchEngineOpts) *engine {
	t.Helper()
	dir := t.TempDir()
	var extra []string
	if o.profile != "" {
		extra = append(extra, "-cpuprofile", o.profile)
	}
	return launch(t, dir, benchCentre(t, dir, o), "info", extra...)
}

// registerBenchSeats registers extensions 1001..1000+n, Contact at contact,
// faster than the e2e tests do, and waits for the engine to log them all.
func registerBenchSeats(t *testing.T, e *engine, n int, contact string) {
	t.Helper()
	registerSeatsAt(t, e, n, contact, 500, 200)
}

// procSample is a process's CPU time and RSS, and the machine's busy time.
type procSample struct {
	at          time.Time
	cpu         time.Duration // utime + stime of the process
	rssKiB      int64
	machineBusy time.Duration // all CPUs, from /proc/stat
	machineAll  time.Duration
}

func sampleProc(t *testing.T, pid int) procSample {
	t.Helper()
	s := procSample{at: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	s.cpu = ticks(utime + stime)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			s.rssKiB, _ = strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
	}
	s.machineBusy, s.machineAll = machineCPU(t)
	return s
}

func ticks(n int64) time.Duration { return time.Duration(n) * time.Second / clockTicks }

// machineCPU reads the "cpu" line of /proc/stat: busy and total time.
func machineCPU(t *testing.T) (busy, all time.Duration) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	for i, v := range strings.Fields(line)[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		all += ticks(n)
		if i != 3 && i != 4 { // idle, iowait
			busy += ticks(n)
		}
	}
	return busy, all
}

// cores is the process's CPU use between two samples, in cores.
func cores(a, b procSample) float64 {
	return (b.cpu - a.cpu).Seconds() / b.at.Sub(a.at).Seconds()
}

// machineCores is how many of the machine's cores were busy between samples.
func machineCores(a, b procSample) float64 {
	all := (b.machineAll - a.machineAll).Seconds()
	if all == 0 {
		return 0
	}
	return float64(runtime.NumCPU()) * (b.machineBusy - a.machineBusy).Seconds() / all
}

// selfCPU is this test process's CPU time (the RTP generator and the harness).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rtpSink is a UDP socket that reads and counts whatever the engine sends
// the callers (their greeting) when no generator plays them.
type rtpSink struct {
	conn    *net.UDPConn
	packets atomic.Uint64
	done    chan struct{}
}

func newRTPSink(t *testing.T) *rtpSink {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadBuffer(4 << 20)
	s := &rtpSink{conn: conn, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		buf := make([]byte, 2048)
		for {
			if _, _, err := conn.ReadFromUDPAddrPort(buf); err != nil {
				return
			}
			s.packets.Add(1)
		}
	}()
	t.Cleanup(func() { conn.Close(); <-s.done })
	return s
}

func (s *rtpSink) port() int { return s.conn.LocalAddr().(*net.UDPAddr).Port }

// childPID is the PID of a process this test started (its parent is us)
// whose /proc/PID/comm is comm and whose command line, NUL-separated,
// contains arg ("" for any): how the bench reads the CPU of the
// redis-server that redistest starts and signals the SIPp that testpeer
// starts. 0 when there is none.
func childPID(t *testing.T, comm, arg string) int {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		name, err := os.ReadFile(filepath.Join(d, "comm"))
		if err != nil || strings.TrimSpace(string(name)) != comm {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		if ppid, _ := strconv.Atoi(f[1]); ppid != os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), arg) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(d))
		return pid
	}
	return 0
}

// apiGet decodes one of the engine's /api/v1 snapshots into v.
func apiGet(t *testing.T, e *engine, path string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(httpGet(t, "http://"+e.HTTP+"/api/v1/"+path)), v); err != nil {
		t.Fatalf("/api/v1/%s: %v", path, err)
	}
}

// queueWaiting is how many calls wait in the engine's queues.
func queueWaiting(t *testing.T, e *engine) int {
	t.Helper()
	var qs []struct {
		Waiting int `json:"waiting"`
	}
	apiGet(t, e, "queues", &qs)
	n := 0
	for _, q := range qs {
		n += q.Waiting
	}
	return n
}

// agentStates counts the seats of /api/v1/agents by state.
func agentStates(t *testing.T, e *engine) map[string]int {
	t.Helper()
	var agents []struct {
		State string `json:"state"`
	}
	apiGet(t, e, "agents", &agents)
	states := map[string]int{}
	for _, a := range agents {
		states[a.State]++
	}
	return states
}

// leftBehind lists what the engine still holds once every caller has
// finished: live calls, waiting calls, seats not ready, open media
// sessions. Empty when nothing is stuck.
func leftBehind(t *testing.T, e *engine) []string {
	t.Helper()
	var out []string
	var calls []json.RawMessage
	apiGet(t, e, "calls", &calls)
	if len(calls) > 0 {
		out = append(out, fmt.Sprintf("%d calls in /api/v1/calls", len(calls)))
	}
	if n := queueWaiting(t, e); n > 0 {
		out = append(out, fmt.Sprintf("%d calls waiting in /api/v1/queues", n))
	}
	states := agentStates(t, e)
	delete(states, "ready")
	if len(states) > 0 {
		out = append(out, fmt.Sprintf("seats not ready in /api/v1/agents: %v", states))
	}
	if n := metricValue(t, e, "hotline_rtp_sessions_active"); n != 0 {
		out = append(out, fmt.Sprintf("hotline_rtp_sessions_active %v", n))
	}
	return out
}
