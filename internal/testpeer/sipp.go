package testpeer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Errors of the SIPp runner.
var (
	ErrSippStart    = errors.New("testpeer: sipp did not start")
	ErrSippNotReady = errors.New("testpeer: sipp did not bind its port in time")
)

// SippBinary is the SIPp executable the harness runs (from Debian's
// sip-tester package).
const SippBinary = "sipp"

// defaultSippTimeout bounds a SIPp run when SippOptions.Timeout is zero.
const defaultSippTimeout = 30 * time.Second

// killGrace is how long the harness waits past SIPp's own -timeout before it
// kills the process by PID.
const killGrace = 5 * time.Second

// SippOptions describes one SIPp process. Zero values mean SIPp's defaults,
// except where noted.
type SippOptions struct {
	Scenario      string            // path to a scenario XML (see ScenarioPath), or "" with SN
	SN            string            // built-in scenario name (uac, uas, ...)
	Target        string            // "127.0.0.1:PORT" remote host; "" for a pure UAS
	LocalPort     int               // -p; 0 = FreeUDPPort
	LocalIP       string            // -i: the SIP address SIPp sends from; "" = 127.0.0.1 (a carrier may sit on another loopback address)
	Transport     string            // -t: "u1" (default), "un", "t1", "tn"
	Service       string            // -s (Request-URI user)
	Calls         int               // -m; 0 = unlimited
	Rate          float64           // -r calls per period
	RatePeriodMs  int               // -rp
	Limit         int               // -l concurrent calls
	Vars          map[string]string // -set NAME VALUE (scenario variables)
	InfFile       string            // -inf CSV (see WriteInf)
	MediaPort     int               // -mp; 0 = a free even port (SIPp binds mp and mp+2)
	RTPEcho       bool              // -rtp_echo: send every RTP packet back (UAS seats)
	BufferSize    int               // -buff_size in bytes (socket buffers; 4194304 for load)
	TraceMessages bool              // -trace_msg into Dir/messages.log (needed by FinalCodes)
	Extra         []string          // more arguments, appended last
	Timeout       time.Duration     // -timeout (global, also for StartSipp) and, plus 5 s, a hard kill; 0 = 30 s
}

// SippResult is what a finished SIPp run left behind.
type SippResult struct {
	ExitCode   int            // 0 all calls succeeded, 1 some failed, 97 internal exit, 99 no calls, 255 fatal
	Successful int            // SuccessfulCall(C) from the statistics file
	Failed     int            // FailedCall(C)
	Counters   map[string]int // every cumulative "(C)" counter of the statistics file, by name without "(C)"
	Stderr     string         // SIPp's stderr
	Log        string         // -log_file: <log> actions of the scenario
	Errors     string         // -error_file: SIPp's error trace
	Messages   string         // -message_file when TraceMessages was set
	Screen     string         // -screen_file: the final screens
	Dir        string         // the folder holding every trace file of this run
	Duration   time.Duration  // wall time of the process
}

// String summarises a result for test failure messages.
func (r SippResult) String() string {
	s := fmt.Sprintf("sipp exit %d: %d successful, %d failed in %v (traces in %s)\nstderr: %s\nerrors: %s",
		r.ExitCode, r.Successful, r.Failed, r.Duration.Round(time.Millisecond), r.Dir,
		strings.TrimSpace(r.Stderr), tail(r.Errors, 2000))
	if r.Messages != "" {
		s += "\nlast messages: " + tail(r.Messages, 3000)
	}
	return s
}

// FinalCodes returns the final status code (>= 200) received for the INVITE of
// each call, in the order the calls first appear in the message trace.
// It needs SippOptions.TraceMessages.
func (r SippResult) FinalCodes() []int {
	return FinalStatusCodes(r.Messages)
}

// RunSipp runs SIPp in the foreground until it exits (or is killed past its
// timeout) and returns its counts. It fails the test only when SIPp cannot be
// started at all; the exit code and counts are the caller's to assert.
// Blocks; call from the test goroutine.
func RunSipp(t testing.TB, o SippOptions) SippResult {
	t.Helper()
	return startSipp(t, o.withDefaults(t)).Wait()
}

// ScenarioPath returns the absolute path of testdata/sipp/NAME in this
// module, found by walking up from the working directory to go.mod, so tests
// in any package can name scenarios the same way.
func ScenarioPath(t testing.TB, name string) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatalf("scenario %s: %v", name, err)
	}
	p := filepath.Join(root, "testdata", "sipp", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("scenario %s: %v", name, err)
	}
	return p
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory: %w", os.ErrNotExist)
		}
		dir = parent
	}
}

// WriteInf writes rows as a SIPp -inf file (SEQUENTIAL, fields separated by
// ';') in a temporary folder and returns its path. Row i feeds call i as
// [field0], [field1], ...
func WriteInf(t testing.TB, rows [][]string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("SEQUENTIAL\n")
	for _, r := range rows {
		b.WriteString(strings.Join(r, ";"))
		b.WriteString("\n")
	}
	p := filepath.Join(t.TempDir(), "fields.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatalf("write inf: %v", err)
	}
	return p
}

// RegistrationRow is one -inf row for register_auth.xml, unregister.xml and
// register_wrong.xml: extension, password, Contact host:port, then the
// digest credentials as SIPp keywords (right, and with "wrong-" + password).
func RegistrationRow(ext, password, contact string) []string {
	return []string{ext, password, contact,
		fmt.Sprintf("[authentication username=%s password=%s]", ext, password),
		fmt.Sprintf("[authentication username=%s password=wrong-%s]", ext, password)}
}

// sippArgs builds the command line; dir receives every trace file.
func sippArgs(o SippOptions, dir string) []string {
	var a []string
	if o.Target != "" {
		a = append(a, o.Target)
	}
	if o.Scenario != "" {
		a = append(a, "-sf", o.Scenario)
	} else {
		a = append(a, "-sn", o.SN)
	}
	a = append(a, "-i", o.LocalIP, "-mi", "127.0.0.1",
		"-p", strconv.Itoa(o.LocalPort), "-mp", strconv.Itoa(o.MediaPort),
		"-t", o.Transport, "-nostdin", "-aa",
		"-timeout", fmt.Sprintf("%dms", o.Timeout.Milliseconds()), "-timeout_error",
		"-trace_stat", "-stf", filepath.Join(dir, "stat.csv"),
		"-trace_screen", "-screen_file", filepath.Join(dir, "screen.log"),
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log"),
		"-trace_logs", "-log_file", filepath.Join(dir, "log.log"))
	if o.TraceMessages {
		a = append(a, "-trace_msg", "-message_file", filepath.Join(dir, "messages.log"))
	}
	a = append(a, numericArgs(o)...)
	for _, k := range sortedKeys(o.Vars) {
		a = append(a, "-set", k, o.Vars[k])
	}
	return append(a, o.Extra...)
}

func numericArgs(o SippOptions) []string {
	var a []string
	if o.Service != "" {
		a = append(a, "-s", o.Service)
	}
	if o.Calls > 0 {
		a = append(a, "-m", strconv.Itoa(o.Calls))
	}
	if o.Rate > 0 {
		a = append(a, "-r", strconv.FormatFloat(o.Rate, 'f', -1, 64))
	}
	if o.RatePeriodMs > 0 {
		a = append(a, "-rp", strconv.Itoa(o.RatePeriodMs))
	}
	if o.Limit > 0 {
		a = append(a, "-l", strconv.Itoa(o.Limit))
	}
	if o.InfFile != "" {
		a = append(a, "-inf", o.InfFile)
	}
	if o.RTPEcho {
		a = append(a, "-rtp_echo")
	}
	if o.BufferSize > 0 {
		a = append(a, "-buff_size", strconv.Itoa(o.BufferSize))
	}
	return a
}

// withDefaults fills the zero fields the harness decides for the caller and
// makes file paths absolute (SIPp runs in its own trace folder).
func (o SippOptions) withDefaults(t testing.TB) SippOptions {
	t.Helper()
	for _, p := range []*string{&o.Scenario, &o.InfFile} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			t.Fatalf("sipp: %v", err)
		}
		*p = abs
	}
	if o.Transport == "" {
		o.Transport = "u1"
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultSippTimeout
	}
	if o.LocalPort == 0 {
		o.LocalPort = FreeUDPPort(t)
	}
	if o.LocalIP == "" {
		o.LocalIP = "127.0.0.1"
	}
	if o.MediaPort == 0 {
		o.MediaPort = freePort(t, 4, true)
	}
	return o
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
