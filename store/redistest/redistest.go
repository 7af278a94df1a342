// Package redistest starts a real redis-server for tests: on a free loopback
// port, without persistence, stopped by PID when the test ends. It is used
// only by tests (store, acd) and imports nothing of hotline's.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is one redis-server process.
type Server struct {
	Addr string
	t    testing.TB
	bin  string
	port int
	stop func()
}

// Start runs redis-server and returns once it accepts connections. A
// missing redis-server fails the test.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is needed (apt-get install redis-server): %v", err)
	}
	s := &Server{t: t, bin: bin}
	var last error
	for range 5 {
		if last = s.run(freePort(t)); last == nil {
			t.Cleanup(s.Stop)
			return s
		}
	}
	t.Fatalf("redis-server did not start: %v", last)
	return nil
}

// Stop kills the server (idempotent); Restart starts a fresh, empty one on
// the same port, for reconnection tests.
func (s *Server) Stop() {
	if s.stop != nil {
		s.stop()
		s.stop = nil
	}
}

func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.run(s.port); err != nil {
		s.t.Fatalf("redis-server restart: %v", err)
	}
}

// freePort asks the kernel for a free port and releases it for
// redis-server (another process may take it in between: Start retries).
func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *Server) run(port int) error {
	cmd := exec.Command(s.bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return err
	}
	ready := make(chan error, 1)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		sc := bufio.NewScanner(out)
		var lines []string
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Ready to accept connections") {
				ready <- nil
				for sc.Scan() {
				}
				return
			}
			lines = append(lines, sc.Text())
		}
		ready <- fmt.Errorf("exited: %s", strings.Join(lines, "\n"))
	}()
	stop := func() {
		_ = cmd.Process.Kill()
		<-drained // the reader sees EOF once the process is gone
		_ = cmd.Wait()
	}
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case err := <-ready:
		if err != nil {
			stop()
			return err
		}
	case <-timer.C:
		stop()
		return fmt.Errorf("not ready after 10 s on port %d", port)
	}
	s.port, s.stop = port, stop
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	return nil
}
