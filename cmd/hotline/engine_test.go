package main

// The end-to-end tests start the real hotline binary on free loopback ports
// with a generated centre config, and talk SIP and RTP to it with real peers
// (SIPp as the carrier, baresip as agent seats, a Go RTP endpoint as the
// caller's ear and mouth). They wait on events — a log line, a SIP answer, a
// record line — never on bare sleeps.

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/records"
)

// testToken is the HTTP API's bearer token in every config the tests write.
const testToken = "test-token-123"

// carrierIP is the loopback address the carrier (SIPp callers) sends from:
// the trunk ACL of every generated config. Seats sit on 127.0.0.1, and the
// engine refuses REGISTERs from a trunk address, so the two must differ.
const carrierIP = "127.0.0.20"

// seatFarmLimits lifts the per-source request and REGISTER rates for tests
// whose hundreds of seats all sit on one SIPp process (one address): a real
// centre's phones each have their own. The carrier is a trunk, never limited
// per source.
const seatFarmLimits = "limits:\n  source_requests_per_second: 0\n  source_registers_per_second: 0\n"

// hotlineBin is built once by TestMain.
var hotlineBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hotline-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	hotlineBin = filepath.Join(dir, "hotline")
	build := exec.Command("go", "build", "-race", "-o", hotlineBin, ".")
	if os.Getenv("HOTLINE_BENCH") != "" {
		build = exec.Command("go", "build", "-o", hotlineBin, ".")
	}
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building hotline:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// repoDir is the repository root (tests run in cmd/hotline).
func repoDir(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// centreOpts shape the generated config.
type centreOpts struct {
	Seats       int    // extensions 1001.. with password demo-<ext>
	RTPTimeout  string // default 10s
	RingTimeout string // default 8s
	Grace       string // shutdown grace, default 10s
	Extra       string // appended YAML (top-level keys)
	TrunkACL    string // default carrierIP/32
	Outbound    string // the trunk's outbound address (callbacks), e.g. sip:127.0.0.1:PORT
	HTTPExtra   string // appended to the http section (indented keys)
	SIPExtra    string // appended to the sip section (indented keys)
	SIPAddress  string // default 127.0.0.1:0
	RTPExtra    string // appended to the rtp section (indented keys)
}

// engine is a running hotline process.
type engine struct {
	t    testing.TB
	cmd  *exec.Cmd
	dir  string
	cfg  string
	SIP  netip.AddrPort // UDP and TCP share the port
	HTTP string
	log  *logWatch
	done chan struct{}
	exit error
}

// writeCentre writes a centre config for a test and returns its path.
func writeCentre(t testing.TB, dir string, o centreOpts) string {
	if o.Seats == 0 {
		o.Seats = 4
	}
	if o.RTPTimeout == "" {
		o.RTPTimeout = "10s"
	}
	if o.RingTimeout == "" {
		o.RingTimeout = "8s"
	}
	if o.Grace == "" {
		o.Grace = "10s"
	}
	if o.TrunkACL == "" {
		o.TrunkACL = carrierIP + "/32"
	}
	if o.SIPAddress == "" {
		o.SIPAddress = "127.0.0.1:0"
	}
	outbound := ""
	if o.Outbound != "" {
		outbound = "\n    outbound: " + o.Outbound
	}
	// Each engine gets its own slice of RTP ports; the media layer skips ports
	// that happen to be taken, so overlap with other processes is harmless.
	base := 20000 + 2*rand.IntN(4000)
	var b strings.Builder
	fmt.Fprintf(&b, `centre: test-centre
sip:
  address: %s
  transports: [udp, tcp]
  seat_ring_timeout: %s
%srtp:
  address: 127.0.0.1
  ports: %d-%d
  timeout: %s%s
%shttp:
  address: 127.0.0.1:0
  token: %s
%sdata_dir: %s
shutdown_grace: %s
prompts:
  dir: %s
  welcome: welcome.wav
  hold_music: hold.wav
skills: [general, agriculture, environment, social_security, market]
trunks:
  - name: carrier
    acl: [%s]%s
lines:
  - {number: "12345", mode: main, skill: general}
  - {number: "12316", mode: merge, skill: agriculture}
  - number: "12369"
    mode: merge
    skill: environment
    announcement: {prompt: transition-12369.wav, from: 2020-01-01, until: 2099-01-01}
emergency:
  - {number: "110", target: "sip:110@127.0.0.1:5094"}
seats:
`, o.SIPAddress, o.RingTimeout, o.SIPExtra, base, base+1998, o.RTPTimeout, fastPathLine(), o.RTPExtra, testToken, o.HTTPExtra, filepath.Join(dir, "data"), o.Grace,
		filepath.Join(repoDir(t), "testdata", "prompts"), o.TrunkACL, outbound)
	for i := 0; i < o.Seats; i++ {
		ext := 1001 + i
		fmt.Fprintf(&b, "  - {extension: \"%d\", password: demo-%d, skills: [general]}\n", ext, ext)
	}
	b.WriteString(o.Extra)
	path := filepath.Join(dir, "centre.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// fastPathLine is the rtp.fast_path line of a test centre: HOTLINE_FAST_PATH
// (auto or off) if set, else none (the default, auto).
func fastPathLine() string {
	if v := os.Getenv("HOTLINE_FAST_PATH"); v != "" {
		return "\n  fast_path: " + v
	}
	return ""
}

// demoOpts adapt the demo centre for a test.
type demoOpts struct {
	Now     string            // -now: the engine's clock starts here (RFC 3339)
	Replace map[string]string // text replacements in demo.yaml (e.g. a department's target)
}

// writeDemo writes a copy of testdata/demo.yaml that listens on free ports,
// reads the repository's prompts and writes records under dir.
func writeDemo(t testing.TB, dir string, o demoOpts) string {
	raw, err := os.ReadFile(filepath.Join(repoDir(t), "testdata", "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	base := 20000 + 2*rand.IntN(4000)
	text := strings.NewReplacer(
		"127.0.0.1:5060", "127.0.0.1:0",
		"127.0.0.1:8080", "127.0.0.1:0",
		"20000-29999", fmt.Sprintf("%d-%d\n  timeout: 120s", base, base+1998),
		"data_dir: ./data", "data_dir: "+filepath.Join(dir, "data"),
		"token: demo-token", "token: "+testToken,
		"  dir: prompts", "  dir: "+filepath.Join(repoDir(t), "testdata", "prompts"),
		"acl: [127.0.0.2/32]", "acl: ["+carrierIP+"/32]",
	).Replace(string(raw))
	for from, to := range o.Replace {
		if !strings.Contains(text, from) {
			t.Fatalf("demo.yaml has no %q to replace", from)
		}
		text = strings.ReplaceAll(text, from, to)
	}
	path := filepath.Join(dir, "centre.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startDemo starts hotline on the demo centre (adapted by o).
func startDemo(t testing.TB, o demoOpts) *engine {
	t.Helper()
	dir := t.TempDir()
	var args []string
	if o.Now != "" {
		args = append(args, "-now", o.Now)
	}
	return launch(t, dir, writeDemo(t, dir, o), "debug", args...)
}

// startEngine starts hotline on a generated config and waits until it is
// ready; the process is stopped (by PID) when the test ends.
func startEngine(t testing.TB, o centreOpts) *engine {
	t.Helper()
	dir := t.TempDir()
	return launch(t, dir, writeCentre(t, dir, o), "debug")
}

// launch runs the binary on cfg at a log level and waits for its ready line.
func launch(t testing.TB, dir, cfg, level string, extra ...string) *engine {
	t.Helper()
	e := &engine{t: t, dir: dir, cfg: cfg, done: make(chan struct{}), log: newLogWatch()}
	e.cmd = exec.Command(hotlineBin, append([]string{"-config", cfg, "-log-level", level}, extra...)...)
	e.cmd.Dir = dir
	stderr, err := e.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go e.log.consume(stderr)
	go func() { e.exit = e.cmd.Wait(); close(e.done) }()
	t.Cleanup(e.kill)
	m, err := e.log.wait(`msg="hotline ready".* sip_udp=(\S+) .*http=(\S+)`, 20*time.Second)
	if err != nil {
		t.Fatalf("engine did not start: %v\n%s", err, e.log.text())
	}
	e.SIP = netip.MustParseAddrPort(m[1])
	e.HTTP = m[2]
	return e
}

// kill stops the engine by PID if it still runs, and reports a data race
// or panic found in its log.
func (e *engine) kill() {
	select {
	case <-e.done:
	default:
		_ = e.cmd.Process.Signal(syscall.SIGKILL)
		<-e.done
	}
	if l := e.log.text(); strings.Contains(l, "WARNING: DATA RACE") || strings.Contains(l, "panic:") {
		e.t.Errorf("engine log shows a race or panic:\n%s", l)
	}
}

// signal sends a signal to the engine.
func (e *engine) signal(s os.Signal) {
	if err := e.cmd.Process.Signal(s); err != nil {
		e.t.Fatal(err)
	}
}

// waitExit waits for the process to end and returns its exit code.
func (e *engine) waitExit(timeout time.Duration) int {
	select {
	case <-e.done:
	case <-time.After(timeout):
		e.t.Fatalf("engine still running after %v", timeout)
	}
	if e.exit == nil {
		return 0
	}
	if ee, ok := e.exit.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// target is the SIP address for SIPp and baresip.
func (e *engine) target() string { return e.SIP.String() }

// records reads every call record written so far.
func (e *engine) records() []records.Record {
	files, _ := filepath.Glob(filepath.Join(e.dir, "data", "records", "*.jsonl"))
	var out []records.Record
	for _, f := range files {
		rs, err := records.ReadFile(f)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, rs...)
	}
	return out
}

// waitRecords waits until at least n call records exist.
func (e *engine) waitRecords(n int, timeout time.Duration) []records.Record {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if rs := e.records(); len(rs) >= n {
			return rs
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("want %d call records, have %d\n%s", n, len(e.records()), e.log.tail(60))
		}
		// Records are written at the end of each call; the log says so first.
		_, _ = e.log.waitCount(`msg="call ended"`, n, time.Until(deadline))
	}
}

// logWatch collects a process's log lines and lets tests wait for a match.
type logWatch struct {
	mu    sync.Mutex
	lines []string
	cond  *sync.Cond
	eof   bool
}

func newLogWatch() *logWatch {
	l := &logWatch{}
	l.cond = sync.NewCond(&l.mu)
	return l
}

func (l *logWatch) consume(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l.mu.Lock()
		l.lines = append(l.lines, sc.Text())
		l.cond.Broadcast()
		l.mu.Unlock()
	}
	l.mu.Lock()
	l.eof = true
	l.cond.Broadcast()
	l.mu.Unlock()
}

// wait returns the submatches of the first line matching pattern.
func (l *logWatch) wait(pattern string, timeout time.Duration) ([]string, error) {
	re := regexp.MustCompile(pattern)
	var found []string
	err := l.until(timeout, func(lines []string) bool {
		for _, s := range lines {
			if m := re.FindStringSubmatch(s); m != nil {
				found = m
				return true
			}
		}
		return false
	})
	return found, err
}

// waitCount waits until n lines match pattern.
func (l *logWatch) waitCount(pattern string, n int, timeout time.Duration) (int, error) {
	re := regexp.MustCompile(pattern)
	count := 0
	err := l.until(timeout, func(lines []string) bool {
		count = 0
		for _, s := range lines {
			if re.MatchString(s) {
				count++
			}
		}
		return count >= n
	})
	return count, err
}

// count is how many lines match pattern now.
func (l *logWatch) count(pattern string) int {
	n, _ := l.waitCount(pattern, 1<<30, 0)
	return n
}

// until waits (on the log's own condition variable, woken per line or by a
// timer at the deadline) until ok holds for the lines so far.
func (l *logWatch) until(timeout time.Duration, ok func([]string) bool) error {
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() {
		l.mu.Lock()
		l.cond.Broadcast()
		l.mu.Unlock()
	})
	defer timer.Stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		if ok(l.lines) {
			return nil
		}
		if l.eof {
			return fmt.Errorf("log ended")
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("timed out after %v", timeout)
		}
		l.cond.Wait()
	}
}

func (l *logWatch) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func (l *logWatch) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	from := max(0, len(l.lines)-n)
	return strings.Join(l.lines[from:], "\n")
}
