package media

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// netnsPair makes two network namespaces joined by a veth pair (the
// engine's at 10.231.N.1, the phones' at 10.231.N.2) and removes them when
// the test ends. It skips, saying why, where namespaces cannot be made.
func netnsPair(t *testing.T) (engineNS, phoneNS string, engineIP, phoneIP netip.Addr) {
	t.Helper()
	n := rand.IntN(250) + 1
	tag := fmt.Sprintf("hl%d%d", os.Getpid()%100000, n)
	engineNS, phoneNS = tag+"e", tag+"p"
	engineIP = netip.AddrFrom4([4]byte{10, 231, byte(n), 1})
	phoneIP = netip.AddrFrom4([4]byte{10, 231, byte(n), 2})
	run := func(args ...string) error {
		out, err := exec.Command("ip", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip %v: %v: %s", args, err, out)
		}
		return nil
	}
	t.Cleanup(func() {
		_ = run("netns", "del", engineNS)
		_ = run("netns", "del", phoneNS)
	})
	for _, args := range [][]string{
		{"netns", "add", engineNS},
		{"netns", "add", phoneNS},
		{"link", "add", tag + "a", "netns", engineNS, "type", "veth", "peer", "name", tag + "b", "netns", phoneNS},
		{"-n", engineNS, "addr", "add", engineIP.String() + "/24", "dev", tag + "a"},
		{"-n", phoneNS, "addr", "add", phoneIP.String() + "/24", "dev", tag + "b"},
		{"-n", engineNS, "link", "set", tag + "a", "up"},
		{"-n", phoneNS, "link", "set", tag + "b", "up"},
		{"-n", engineNS, "link", "set", "lo", "up"},
		{"-n", phoneNS, "link", "set", "lo", "up"},
	} {
		if err := run(args...); err != nil {
			t.Skipf("no network namespaces here: %v", err)
		}
	}
	return engineNS, phoneNS, engineIP, phoneIP
}

// inNetns runs f on an OS thread moved into the named namespace; sockets
// and attachments f makes stay in it. The thread is discarded afterwards
// (never returned to the scheduler in another namespace).
func inNetns(t *testing.T, name string, f func()) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // not unlocked: the goroutine's end ends the thread
		fd, err := unix.Open("/var/run/netns/"+name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- err
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			done <- err
			return
		}
		f()
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatalf("netns %s: %v", name, err)
	}
}

// TestKernelRelayOverVeth: the fast path on a real (virtual) Ethernet
// interface, not loopback: the engine in one namespace, both phones in
// another across a veth pair. The program redirects with a neighbour
// lookup (bpf_redirect_neigh); the phones see one continuous stream.
func TestKernelRelayOverVeth(t *testing.T) {
	engineNS, phoneNS, engineIP, phoneIP := netnsPair(t)
	var (
		m      *Manager
		err    error
		pa, pb *peer
	)
	inNetns(t, phoneNS, func() {
		pa, pb = newPeerAt(t, phoneIP.String()), newPeerAt(t, phoneIP.String())
	})
	pb.ssrc = 0x0b0b0b0b
	bp := &bridgedPair{pa: pa, pb: pb}
	inNetns(t, engineNS, func() {
		m, err = NewManager(Config{Address: engineIP, FastPath: true})
		if err != nil {
			return
		}
		bp.a, err = m.NewSession(SessionConfig{Params: Params{Remote: pa.addr(), Codec: PCMA}})
		if err != nil {
			return
		}
		bp.b, err = m.NewSession(SessionConfig{Params: Params{Remote: pb.addr(), Codec: PCMA}})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	bp.m, bp.kernel = m, m.FastPath() == "kernel"
	t.Logf("relay path over veth: %s", m.FastPath())
	Bridge(bp.a, bp.b)
	prevB, prevA := bp.round(t)
	for range 30 {
		atB, atA := bp.round(t)
		checkNext(t, "a to b", prevB, atB, false)
		checkNext(t, "b to a", prevA, atA, false)
		if !bytes.Equal(atB.Payload, bytes.Repeat([]byte{byte(pa.seq - 1)}, samplesPerFrame)) {
			t.Fatalf("payload changed on the way")
		}
		prevB, prevA = atB, atA
	}
	if !bp.kernel {
		return
	}
	waitFor(t, "both legs in the kernel", func() bool { return bp.a.InKernel() && bp.b.InKernel() })
	if st := m.Stats(); st.KernelRelayed < 50 {
		t.Errorf("the kernel relayed %d packets over veth, want >= 50", st.KernelRelayed)
	}
}
