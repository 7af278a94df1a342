package testpeer

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// readyTimeout bounds the wait for a started SIPp to bind its SIP port.
const readyTimeout = 5 * time.Second

// stopGrace is how long Stop waits after each polite signal before the next.
const stopGrace = time.Second

// SippProc is a SIPp process running in the background (a UAS far end, or a
// load generator). Its methods are safe for concurrent use.
type SippProc struct {
	// Port is SIPp's local SIP port on 127.0.0.1; Addr is "127.0.0.1:Port".
	Port      int
	Addr      string
	MediaPort int // -mp: where -rtp_echo listens and scenarios' [media_port] points

	t       testing.TB
	cmd     *exec.Cmd
	dir     string
	stderr  bytes.Buffer
	started time.Time
	done    chan struct{} // closed when the process has exited and res is set
	once    sync.Once
	res     SippResult
}

// StartSipp starts SIPp in the background and returns once it has bound its
// SIP port (so a UAS is ready for calls). It fails the test if SIPp cannot be
// started or exits before binding. t.Cleanup stops the process by PID.
func StartSipp(t testing.TB, o SippOptions) *SippProc {
	t.Helper()
	o = o.withDefaults(t)
	p := startSipp(t, o)
	if err := p.waitBound(o.Transport); err != nil {
		p.Stop()
		t.Fatalf("%v\n%s", err, p.Wait())
	}
	return p
}

// startSipp starts the process and its reaper; it does not wait for the bind.
func startSipp(t testing.TB, o SippOptions) *SippProc {
	t.Helper()
	p := &SippProc{
		Port: o.LocalPort, Addr: o.LocalIP + ":" + itoa(o.LocalPort), MediaPort: o.MediaPort,
		t: t, dir: t.TempDir(), done: make(chan struct{}),
	}
	p.cmd = exec.Command(SippBinary, sippArgs(o, p.dir)...)
	p.cmd.Dir = p.dir
	p.cmd.Stdin = nil
	p.cmd.Stderr = &p.stderr
	stdout, err := os.Create(filepath.Join(p.dir, "stdout.log"))
	if err != nil {
		t.Fatalf("%v: %v", ErrSippStart, err)
	}
	p.cmd.Stdout = stdout
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		stdout.Close()
		t.Fatalf("%v: %v (is sip-tester installed? apt-get install -y sip-tester)", ErrSippStart, err)
	}
	go p.reap(stdout, o.Timeout+killGrace)
	t.Cleanup(p.Stop)
	return p
}

// reap waits for the process, killing it by PID past the hard deadline, and
// then collects the result. It runs on its own goroutine.
func (p *SippProc) reap(stdout *os.File, hard time.Duration) {
	kill := time.AfterFunc(hard, func() { _ = p.cmd.Process.Kill() })
	err := p.cmd.Wait()
	kill.Stop()
	stdout.Close()
	p.res = collectResult(p.dir, exitCode(err), p.stderr.String(), time.Since(p.started))
	close(p.done)
}

// Wait blocks until SIPp exits (by itself, by Stop, or killed at its timeout)
// and returns its result.
func (p *SippProc) Wait() SippResult {
	<-p.done
	return p.res
}

// Done is closed when the process has exited.
func (p *SippProc) Done() <-chan struct{} { return p.done }

// Stop ends SIPp: SIGUSR1 (SIPp's graceful quit, which waits for live calls),
// a second SIGUSR1 (force quit) and finally SIGKILL, each by PID after a
// grace period. Idempotent; returns once the process has exited.
func (p *SippProc) Stop() {
	p.once.Do(func() {
		for _, sig := range []os.Signal{syscall.SIGUSR1, syscall.SIGUSR1, syscall.SIGKILL} {
			if p.signalAndWait(sig, stopGrace) {
				return
			}
		}
		<-p.done
	})
}

// Kill ends SIPp at once with SIGKILL, as a phone that loses power: no
// BYE, no CANCEL answered, no more RTP. Returns once it has exited.
func (p *SippProc) Kill() {
	p.once.Do(func() { p.signalAndWait(syscall.SIGKILL, time.Hour) })
	<-p.done
}

func (p *SippProc) signalAndWait(sig os.Signal, d time.Duration) bool {
	select {
	case <-p.done:
		return true
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-p.done:
		return true
	case <-timer.C:
		return false
	}
}

// waitBound polls the kernel's socket table (without touching the port) until
// SIPp has bound its SIP port, or the process exits, or readyTimeout passes.
// A process that already exited cleanly (a very short UAC run) counts as ready.
func (p *SippProc) waitBound(transport string) error {
	tcp := len(transport) > 0 && transport[0] == 't'
	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	for !portBound(p.Port, tcp) {
		select {
		case <-p.done:
			if p.res.ExitCode == 0 {
				return nil
			}
			return ErrSippStart
		case <-deadline.C:
			return ErrSippNotReady
		case <-poll.C:
		}
	}
	return nil
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return -1
}
