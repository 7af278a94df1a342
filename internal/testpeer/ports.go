package testpeer

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
)

// ErrNoFreePort is returned (and fails the test) when no suitable loopback
// port could be found after many attempts.
var ErrNoFreePort = errors.New("testpeer: no free loopback port")

// portLedger remembers every port handed out in this test binary, so two
// parallel tests never receive the same number even though the kernel may
// hand a just-released port out again. It is state, not a tunable.
var portLedger = struct {
	sync.Mutex
	used map[int]bool
}{used: map[int]bool{}}

const portAttempts = 200

// FreeUDPPort returns a loopback port that is free for both UDP and TCP right
// now, never 5060 or 8080 (or their neighbours) and never one already handed
// out in this process. Safe for concurrent use; it does not block.
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	return freePort(t, 1, false)
}

// FreePortPair returns a port p such that p and p+1 are both free for UDP and
// TCP (baresip binds TLS on its SIP port + 1). Both numbers are reserved.
func FreePortPair(t testing.TB) int {
	t.Helper()
	return freePort(t, 2, false)
}

// FreeRTPPort returns an even port p with p and p+1 free (RTP and RTCP).
func FreeRTPPort(t testing.TB) int {
	t.Helper()
	return freePort(t, 2, true)
}

func freePort(t testing.TB, span int, even bool) int {
	t.Helper()
	for range portAttempts {
		p, err := kernelPort()
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		if even && p%2 == 1 {
			p--
		}
		if reservePorts(p, span) {
			return p
		}
	}
	t.Fatalf("%v (span %d)", ErrNoFreePort, span)
	return 0
}

// kernelPort asks the kernel for an unused UDP port on 127.0.0.1.
func kernelPort() (int, error) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrNoFreePort, err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// reservePorts checks p..p+span-1 and records them in the ledger if all are
// usable.
func reservePorts(p, span int) bool {
	portLedger.Lock()
	defer portLedger.Unlock()
	for q := p; q < p+span; q++ {
		if forbiddenPort(q) || portLedger.used[q] || !portFree(q) {
			return false
		}
	}
	for q := p; q < p+span; q++ {
		portLedger.used[q] = true
	}
	return true
}

func forbiddenPort(p int) bool {
	switch {
	case p < 1024 || p > 65534:
		return true
	case p >= 5060 && p <= 5061, p >= 8080 && p <= 8081:
		return true
	}
	return false
}

// portFree reports whether UDP and TCP can both bind 127.0.0.1:p right now.
func portFree(p int) bool {
	addr := fmt.Sprintf("127.0.0.1:%d", p)
	u, err := net.ListenPacket("udp4", addr)
	if err != nil {
		return false
	}
	defer u.Close()
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		return false
	}
	return l.Close() == nil
}
