package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// Kamailio in front of engine nodes, running the shipped
// deploy/kamailio/kamailio.cfg with its sockets and dispatcher list given
// on the command line (-A), as an operator would.

// The proxy's two loopback addresses: carriers' calls reach the engines
// from kamTrunkIP (their trunk ACL), seats' REGISTERs from kamSeatIP (in
// their seat networks). Carriers (SIPp) send from carrierIP, seats sit on
// 127.0.0.1.
const (
	kamTrunkIP = "127.0.0.21"
	kamSeatIP  = "127.0.0.22"
)

// kamailio is a running Kamailio.
type kamailio struct {
	Trunk, Seat netip.AddrPort // where carriers and seats send
	cmd         *exec.Cmd
	log         *logWatch
	done        chan struct{}
}

// kamailioCentre is a centre of seats seats on the Redis store at
// redisAddr as node, whose trunk is the proxy's trunk side.
func kamailioCentre(redisAddr, node string, seats int, extra string) centreOpts {
	return centreOpts{
		Seats: seats, RTPTimeout: "30s", RingTimeout: "5s", Grace: "2s", TrunkACL: kamTrunkIP + "/32",
		Extra: seatFarmLimits + fmt.Sprintf("queues:\n  - {name: general, wrap_up: 1s}\nstore:\n  kind: redis\n  redis: {address: %q}\n  node: %s\n%s",
			redisAddr, node, extra),
	}
}

// startKamailio runs Kamailio in the foreground (-DD -E) on free ports of
// its two addresses, dispatching to nodes, and waits until it answers an
// OPTIONS. It is stopped (by PID) when the test ends.
func startKamailio(t testing.TB, nodes ...*engine) *kamailio {
	t.Helper()
	dir := t.TempDir()
	var list strings.Builder
	for _, n := range nodes {
		fmt.Fprintf(&list, "1 sip:%s 0 0\n", n.SIP)
	}
	dsList := filepath.Join(dir, "dispatcher.list")
	if err := os.WriteFile(dsList, []byte(list.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	k := &kamailio{
		Trunk: netip.AddrPortFrom(netip.MustParseAddr(kamTrunkIP), uint16(testpeer.FreeUDPPort(t))),
		Seat:  netip.AddrPortFrom(netip.MustParseAddr(kamSeatIP), uint16(testpeer.FreeUDPPort(t))),
		log:   newLogWatch(),
		done:  make(chan struct{}),
	}
	cfg := filepath.Join(repoDir(t), "deploy", "kamailio", "kamailio.cfg")
	k.cmd = exec.Command("kamailio", "-f", cfg, "-DD", "-E", "-m", "256", "-M", "16",
		"-Y", dir, "-P", filepath.Join(dir, "kamailio.pid"),
		"-A", "TRUNK_SOCKET=udp:"+k.Trunk.String(), "-A", "SEAT_SOCKET=udp:"+k.Seat.String(),
		"-A", fmt.Sprintf("DISPATCHER_LIST=%q", dsList), "-A", "LOG_LEVEL=2")
	k.cmd.Dir = dir
	k.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its children go with it
	stderr, err := k.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := k.cmd.Start(); err != nil {
		t.Fatalf("kamailio: %v", err)
	}
	go k.log.consume(stderr)
	go func() { _ = k.cmd.Wait(); close(k.done) }()
	t.Cleanup(k.stop)
	if err := sipPing(k.Trunk, 10*time.Second); err != nil {
		t.Fatalf("kamailio does not answer: %v\n%s", err, k.log.tail(40))
	}
	return k
}

// stop ends Kamailio's process group (the main process and the children
// it forked) and waits for the main process.
func (k *kamailio) stop() {
	select {
	case <-k.done:
		return
	default:
	}
	_ = syscall.Kill(-k.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-k.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-k.cmd.Process.Pid, syscall.SIGKILL)
		<-k.done
	}
}

// sipPing sends OPTIONS to addr until a 200 comes back (each try waits
// 200 ms for its answer) or limit passes.
func sipPing(addr netip.AddrPort, limit time.Duration) error {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return err
	}
	defer c.Close()
	local := c.LocalAddr().(*net.UDPAddr)
	buf := make([]byte, 4096)
	deadline := time.Now().Add(limit)
	for try := 0; time.Now().Before(deadline); try++ {
		msg := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-ping-%d;rport\r\n"+
			"From: <sip:ping@%s>;tag=p%d\r\nTo: <sip:%s>\r\nCall-ID: ping-%d@%s\r\nCSeq: 1 OPTIONS\r\n"+
			"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
			addr, local, try, local, try, addr, try, local)
		if _, err := c.WriteToUDPAddrPort([]byte(msg), addr); err != nil {
			return err
		}
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, _, err := c.ReadFromUDPAddrPort(buf)
		if err == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") {
			return nil
		}
	}
	return fmt.Errorf("no 200 to OPTIONS from %s in %v", addr, limit)
}

// registerThrough registers extensions first..first+n-1 through the
// proxy's seat side with their Contact at 127.0.0.1:port, sending from that
// port as a phone does (Kamailio reaches a seat at the address its
// REGISTER came from: the Path's received), and waits until the nodes have
// logged n registrations between them. Start the seats' SIPp on port
// afterwards.
func registerThrough(t *testing.T, k *kamailio, first, n, port int, nodes ...*engine) {
	t.Helper()
	rows := make([][]string, n)
	for i := range rows {
		ext := fmt.Sprint(first + i)
		rows[i] = testpeer.RegistrationRow(ext, "demo-"+ext, "127.0.0.1:"+strconv.Itoa(port))
	}
	res := testpeer.RunSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "register_auth.xml"), Target: k.Seat.String(), LocalPort: port,
		InfFile: testpeer.WriteInf(t, rows), Calls: n, Rate: 200, Limit: 50,
		BufferSize: 4 << 20, Timeout: 60 * time.Second,
	})
	if res.ExitCode != 0 || res.Successful != n {
		t.Fatalf("registering seats %d..%d through kamailio: %s\n%s", first, first+n-1, res, k.log.tail(20))
	}
	if !pollUntil(20*time.Second, func() bool {
		seen := 0
		for _, e := range nodes {
			seen += e.log.count(`msg=registration seat=\d+ registered=true`)
		}
		return seen >= n
	}) {
		t.Fatalf("the nodes logged fewer than %d registrations", n)
	}
}
