package testpeer

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// StunnelBinary is Debian's stunnel4: a TLS proxy in front of a peer that
// speaks SIP over TCP only (this machine's SIPp is built without TLS).
const StunnelBinary = "stunnel4"

// ErrStunnel: stunnel did not start or bind.
var ErrStunnel = errors.New("testpeer: stunnel did not start")

// StunnelOptions describe one stunnel service.
type StunnelOptions struct {
	// Client: accept plain TCP and connect with TLS (a carrier's SIPp
	// calling a TLS port); else accept TLS and connect plain TCP (a
	// carrier's SIPp answering calls placed over TLS).
	Client  bool
	Accept  string // "IP:PORT" to listen on
	Connect string // "IP:PORT" to connect to
	// Local is the source address of client connections (the carrier's
	// address the engine sees); "" lets the kernel choose.
	Local string
	// CAFile verifies the TLS server (client mode); CertFile is the key
	// and certificate presented (server mode).
	CAFile, CertFile string
}

// Stunnel is a running stunnel4, stopped by PID at the test's end.
type Stunnel struct {
	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	log  strings.Builder
	stop sync.Once
}

// StartStunnel writes a config into t.TempDir(), starts stunnel in the
// foreground and waits until its service is bound.
func StartStunnel(t testing.TB, o StunnelOptions) *Stunnel {
	t.Helper()
	dir := t.TempDir()
	lines := []string{"foreground = yes", "pid =", "debug = 6", "[sip]",
		"accept = " + o.Accept, "connect = " + o.Connect}
	if o.Client {
		lines = append(lines, "client = yes", "verifyChain = yes", "checkIP = 127.0.0.1", "CAfile = "+o.CAFile)
		if o.Local != "" {
			lines = append(lines, "local = "+o.Local)
		}
	} else {
		lines = append(lines, "cert = "+o.CertFile)
	}
	conf := filepath.Join(dir, "stunnel.conf")
	if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &Stunnel{cmd: exec.Command(StunnelBinary, conf), done: make(chan struct{})}
	out, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stdout = nil
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("%v: %v (apt-get install -y stunnel4)", ErrStunnel, err)
	}
	bound := make(chan struct{})
	go s.read(bufio.NewScanner(out), bound)
	t.Cleanup(s.Stop)
	select {
	case <-bound:
	case <-s.done:
		t.Fatalf("%v:\n%s", ErrStunnel, s.Log())
	case <-time.After(10 * time.Second):
		t.Fatalf("%v: not bound in 10 s:\n%s", ErrStunnel, s.Log())
	}
	return s
}

// read keeps stunnel's log and closes bound at the bind line; it reaps
// the process when the log ends.
func (s *Stunnel) read(sc *bufio.Scanner, bound chan struct{}) {
	once := sync.Once{}
	for sc.Scan() {
		line := sc.Text()
		s.mu.Lock()
		fmt.Fprintln(&s.log, line)
		s.mu.Unlock()
		if strings.Contains(line, "] (FD=") && strings.Contains(line, "bound to") {
			once.Do(func() { close(bound) })
		}
	}
	_ = s.cmd.Wait()
	close(s.done)
}

// Log is what stunnel logged so far.
func (s *Stunnel) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// Stop ends stunnel by PID and waits for it.
func (s *Stunnel) Stop() {
	s.stop.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
}
