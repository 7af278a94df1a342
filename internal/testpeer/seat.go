package testpeer

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Errors of the baresip seat.
var (
	ErrSeatStart    = errors.New("testpeer: baresip seat did not start")
	ErrSeatTimeout  = errors.New("testpeer: timed out waiting for the seat")
	ErrSeatCommand  = errors.New("testpeer: seat command failed")
	ErrSeatStopped  = errors.New("testpeer: seat stopped")
	ErrSeatRegister = errors.New("testpeer: seat registration failed")
)

const (
	seatConnectTimeout = 5 * time.Second
	seatCommandTimeout = 5 * time.Second
	seatStopGrace      = 2 * time.Second
)

// Seat is one running baresip softphone driven over ctrl_tcp. Its methods are
// safe for concurrent use; waits block the calling goroutine only.
type Seat struct {
	Dir       string // config folder; recordings land here
	Extension string
	SIPPort   int    // baresip's SIP port on 127.0.0.1 (UDP and TCP)
	URI       string // sip:EXT@127.0.0.1:SIPPort, to call the seat directly

	t    testing.TB
	cmd  *exec.Cmd
	ctrl *seatCtrl
	out  *seatLog
	done chan struct{} // closed when the process has exited
	stop sync.Once
}

// StartSeat writes a config folder in t.TempDir(), starts `baresip -f DIR`,
// and connects to its ctrl_tcp port at once (retrying until it answers) so no
// event is lost. t.Cleanup stops it by PID.
func StartSeat(t testing.TB, o SeatOptions) *Seat {
	t.Helper()
	if o.SIPPort == 0 {
		o.SIPPort = FreePortPair(t)
	}
	ports := seatPorts{sip: o.SIPPort, ctrl: FreeUDPPort(t)}
	s := &Seat{
		Dir: t.TempDir(), Extension: o.Extension, SIPPort: o.SIPPort,
		URI: fmt.Sprintf("sip:%s@127.0.0.1:%d", o.Extension, o.SIPPort),
		t:   t, out: newSeatLog(), done: make(chan struct{}),
	}
	if err := writeSeatFiles(s.Dir, o, ports); err != nil {
		t.Fatalf("%v: %v", ErrSeatStart, err)
	}
	s.cmd = exec.Command(BaresipBinary, "-f", s.Dir)
	s.cmd.Dir = s.Dir
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("%v: %v (is baresip installed? apt-get install -y baresip-core)", ErrSeatStart, err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(s.Stop)
	conn, err := s.dialCtrl(ports.ctrl)
	if err != nil {
		s.Stop()
		t.Fatalf("%v: %v\n%s", ErrSeatStart, err, s.Log())
	}
	s.ctrl = newSeatCtrl(conn)
	return s
}

// dialCtrl connects to ctrl_tcp, retrying until baresip listens.
func (s *Seat) dialCtrl(port int) (net.Conn, error) {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.NewTimer(seatConnectTimeout)
	defer deadline.Stop()
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	for {
		conn, err := net.Dial("tcp4", addr)
		if err == nil {
			return conn, nil
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("baresip exited: %w", err)
		case <-deadline.C:
			return nil, fmt.Errorf("ctrl_tcp %s: %w", addr, err)
		case <-poll.C:
		}
	}
}

// regFailure matches baresip's log line for a failed REGISTER, e.g.
// "reg: sip:1001@127.0.0.1:5070: 403 Forbidden" (a 401 challenge is answered
// internally and never logged as a failure).
var regFailure = regexp.MustCompile(`reg: \S+: (?:[3-6]\d\d [^\n]*|Register: [^\n]*)`)

// WaitRegistered waits for the REGISTER_OK event or the "[1 binding]" log
// line (whichever comes first: the first REGISTER may finish before the
// control connection exists). REGISTER_FAIL returns ErrSeatRegister at once.
func (s *Seat) WaitRegistered(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if s.out.contains("[1 binding]") || s.ctrl.has("REGISTER_OK") {
			return nil
		}
		if ev, ok := s.ctrl.find("REGISTER_FAIL"); ok {
			return fmt.Errorf("%w: %s", ErrSeatRegister, ev.Param)
		}
		if line := regFailure.FindString(s.Log()); line != "" {
			return fmt.Errorf("%w: %s", ErrSeatRegister, line)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("%w: not registered after %v\n%s", ErrSeatTimeout, timeout, tail(s.Log(), 3000))
		}
		s.waitChange(min(left, 50*time.Millisecond))
	}
}

// waitChange returns when an event or log line arrives, or after d.
func (s *Seat) waitChange(d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-s.ctrl.changed():
	case <-s.out.changed():
	case <-s.done:
	case <-timer.C:
	}
}

// WaitEvent returns the oldest not yet returned event of type kind
// ("CALL_INCOMING", "CALL_RINGING", "CALL_ESTABLISHED", "CALL_CLOSED",
// "CALL_DTMF_START", "REGISTER_OK", ...), waiting up to timeout for it.
// Events are buffered from the moment of connection.
func (s *Seat) WaitEvent(kind string, timeout time.Duration) (Event, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		changed := s.ctrl.changed()
		if ev, ok := s.ctrl.take(kind); ok {
			return ev, nil
		}
		select {
		case <-changed:
		case <-s.done:
			return Event{}, fmt.Errorf("%w: waiting for %s", ErrSeatStopped, kind)
		case <-deadline.C:
			return Event{}, fmt.Errorf("%w: no %s after %v; events: %v", ErrSeatTimeout, kind, timeout, s.ctrl.types())
		}
	}
}

// Events returns every event received so far, in order.
func (s *Seat) Events() []Event { return s.ctrl.all() }

// Dial calls uri (e.g. "sip:12345@127.0.0.1:5070").
func (s *Seat) Dial(uri string) error { return s.ctrl.command("dial", uri) }

// Hangup ends the current call.
func (s *Seat) Hangup() error { return s.ctrl.command("hangup", "") }

// Accept answers the ringing incoming call.
func (s *Seat) Accept() error { return s.ctrl.command("accept", "") }

// SendDTMF sends digits as RFC 4733 events in the current call, one command
// per digit so baresip queues them in order.
func (s *Seat) SendDTMF(digits string) error {
	for _, d := range digits {
		if err := s.ctrl.command("sndcode", string(d)); err != nil {
			return err
		}
	}
	return nil
}

// Command sends any baresip command (e.g. "quit", "callstat") and returns its
// response text.
func (s *Seat) Command(name, params string) (string, error) {
	return s.ctrl.commandData(name, params)
}

// Recording returns the newest dump-*-dec.wav in Dir (what the seat heard),
// or "" if there is none. libsndfile completes the WAV header when the call
// closes; ReadWAV also reads a file still being written.
func (s *Seat) Recording() string {
	files, _ := filepath.Glob(filepath.Join(s.Dir, "dump-*-dec.wav"))
	if len(files) == 0 {
		return ""
	}
	sort.Strings(files)
	return files[len(files)-1]
}

// Log returns baresip's output so far.
func (s *Seat) Log() string { return s.out.String() }

// Stop ends baresip by PID: SIGTERM, then SIGKILL after a grace period.
// Idempotent; returns once the process has exited.
func (s *Seat) Stop() {
	s.stop.Do(func() {
		if s.ctrl != nil {
			defer s.ctrl.close()
		}
		for _, sig := range []os.Signal{syscall.SIGTERM, syscall.SIGKILL} {
			_ = s.cmd.Process.Signal(sig)
			timer := time.NewTimer(seatStopGrace)
			select {
			case <-s.done:
				timer.Stop()
				return
			case <-timer.C:
			}
		}
		<-s.done
	})
}

// seatLog collects baresip's stdout and stderr.
type seatLog struct {
	mu     sync.Mutex
	b      strings.Builder
	notify chan struct{}
}

func newSeatLog() *seatLog { return &seatLog{notify: make(chan struct{})} }

func (l *seatLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	close(l.notify)
	l.notify = make(chan struct{})
	return len(p), nil
}

func (l *seatLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *seatLog) contains(s string) bool { return strings.Contains(l.String(), s) }

func (l *seatLog) changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.notify
}
