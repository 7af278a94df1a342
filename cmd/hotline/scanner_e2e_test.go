package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// The scanner tests run Debian's sipvicious (0.3.3: svwar, svcrack) against
// the real binary, as an attacker on the seat network would.

// runVicious runs a sipvicious tool bounded by timeout (killed by PID, with
// its process group, past it) and returns its combined output.
func runVicious(t *testing.T, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s not installed (apt-get install -y sipvicious): %v", name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = t.TempDir()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %v did not finish in %v:\n%s", name, args, timeout, out.String())
	}
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out.String())
	}
	return out.String()
}

// svwarTable returns the extensions svwar reported, with their column.
func svwarTable(out string) map[string]string {
	found := map[string]string{}
	row := regexp.MustCompile(`^\|\s*(\S+)\s*\|\s*(\S+)\s*\|$`)
	for _, l := range strings.Split(out, "\n") {
		if m := row.FindStringSubmatch(strings.TrimSpace(l)); m != nil && m[1] != "Extension" {
			found[m[1]] = m[2]
		}
	}
	return found
}

// TestSvwarCannotTellExtensions: svwar scans 990-1010 (seats 1001-1004 are
// configured) by REGISTER and by INVITE. Whatever it reports, it reports
// the known extensions exactly as it reports the unknown ones: here it
// finds nothing, since every REGISTER gets the same challenge and every
// INVITE from a stranger the same 403.
func TestSvwarCannotTellExtensions(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 4})
	port := strconv.Itoa(int(e.SIP.Port()))
	for _, method := range []string{"REGISTER", "INVITE"} {
		out := runVicious(t, 90*time.Second, "svwar", "--force", "-m", method, "-e", "990-1010",
			"-p", port, "-P", strconv.Itoa(testpeer.FreeUDPPort(t)), "-t", "0.05", "--maximumtime", "10", "127.0.0.1")
		found := svwarTable(out)
		var status []string
		for ext := 990; ext <= 1010; ext++ {
			status = append(status, found[strconv.Itoa(ext)])
		}
		for i, s := range status {
			if s != status[0] {
				t.Errorf("svwar -m %s told %d (%q) from %d (%q):\n%s", method, 990+i, s, 990, status[0], out)
				break
			}
		}
		if !strings.Contains(out, "found nothing") && len(found) == 0 {
			t.Errorf("svwar -m %s: no result at all:\n%s", method, out)
		}
	}
	if agentRegistered(t, e, "1001") {
		t.Error("the scan registered a seat")
	}
}

// TestSvcrackLockedOut: svcrack tries wrong passwords for 1001 and then the
// right one. With max_auth_failures 2 the third wrong one locks 1001 (and
// the source): the right password gets 403, svcrack finds nothing, 1001 is
// not registered, and the seat's own correct REGISTER from another address
// is refused too while the lock holds. svcrack 0.3.3 always sends
// Contact sip:123@1.1.1.1, so the test's seat networks include that address
// (with the default ones svcrack is refused before any digest).
func TestSvcrackLockedOut(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 2,
		SIPExtra: "  max_auth_failures: 2\n  auth_lockout: 10m\n  seat_networks: [127.0.0.0/8, 1.1.1.1/32]\n"})
	dict := filepath.Join(t.TempDir(), "passwords.txt")
	if err := os.WriteFile(dict, []byte("wrong-1\nwrong-2\nwrong-3\nwrong-4\ndemo-1001\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := runVicious(t, 90*time.Second, "svcrack", "-u", "1001", "-d", dict,
		"-p", strconv.Itoa(int(e.SIP.Port())), "-P", strconv.Itoa(testpeer.FreeUDPPort(t)),
		"--maximumtime", "10", "127.0.0.1")
	if strings.Contains(out, "The password for") || !strings.Contains(out, "found nothing") {
		t.Fatalf("svcrack cracked 1001:\n%s", out)
	}
	if _, err := e.log.wait(`msg="auth refused while locked".* ext=1001`, 5*time.Second); err != nil {
		t.Fatalf("the right password was not refused as locked: %v\n%s", err, out)
	}
	if agentRegistered(t, e, "1001") {
		t.Fatal("1001 registered during the attack")
	}
	phone := newRawPhone(t, e, "127.0.0.5")
	reply, _ := phone.register("1001", "demo-1001", phone.c.LocalAddr().String(), "")
	wantStatus(t, "the seat's own REGISTER while 1001 is locked", reply, "403")
	other, _ := phone.register("1002", "demo-1002", phone.c.LocalAddr().String(), "")
	wantStatus(t, "another seat from another address", other, "200")
}
