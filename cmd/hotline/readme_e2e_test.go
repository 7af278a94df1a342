package main

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// readmeSeat is the baresip seat of the README's "Call it" section, taken
// from the README itself: its config heredoc and its accounts line.
func readmeSeat(t *testing.T) (config, account string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoDir(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	m := regexp.MustCompile(`(?s)cat > /tmp/seat/config <<'EOF'\n(.*?)\nEOF\n`).FindStringSubmatch(text)
	if m == nil {
		t.Fatal("README has no seat config heredoc (cat > /tmp/seat/config <<'EOF')")
	}
	a := regexp.MustCompile(`echo '([^']*)' > /tmp/seat/accounts`).FindStringSubmatch(text)
	if a == nil {
		t.Fatal("README has no seat accounts line (echo '...' > /tmp/seat/accounts)")
	}
	return m[1] + "\n", a[1] + "\n"
}

// TestReadmeSeat: the seat the README tells a newcomer to run registers with
// the demo centre, answers a call to 12345 and stays in it: the caller hears
// its 440 Hz tone and the record says the call was answered by 1001 and
// hung up by the caller.
func TestReadmeSeat(t *testing.T) {
	t.Parallel()
	config, account := readmeSeat(t)
	e := startDemo(t, demoOpts{})
	port := testpeer.FreePortPair(t)
	for from, to := range map[string]string{"127.0.0.1:5070": fmt.Sprintf("127.0.0.1:%d", port), "127.0.0.1:5060": e.target()} {
		if !strings.Contains(config+account, from) {
			t.Fatalf("README seat has no %s to point at the test's ports", from)
		}
		config, account = strings.ReplaceAll(config, from, to), strings.ReplaceAll(account, from, to)
	}
	dir := t.TempDir()
	for name, body := range map[string]string{"config": config, "accounts": account} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(testpeer.BaresipBinary, "-f", dir)
	cmd.Stdin = nil // /dev/null, as the README's command reads no keys here
	out, err := os.Create(filepath.Join(dir, "baresip.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		out.Close()
	})
	if _, err := e.log.wait(`msg=registered .*ext=1001`, 20*time.Second); err != nil {
		logText, _ := os.ReadFile(filepath.Join(dir, "baresip.log"))
		t.Fatalf("README seat did not register: %v\n%s", err, logText)
	}

	welcome := loadPCM(t, "welcome.wav")
	hold := time.Duration(len(welcome)/8)*time.Millisecond + 6*time.Second
	p, peer := e.caller(t, "12345", "0", hold)
	peer.SendTone(netip.AddrPort{}, 0, 1000, hold)
	res := p.Wait()
	if res.ExitCode != 0 || res.Successful != 1 {
		t.Fatalf("caller: %s\n%s", res, e.log.tail(40))
	}
	recs := e.waitRecords(1, 15*time.Second)
	r := recs[0]
	if r.EndReason != "answered" || r.Agent != "1001" || r.HangupBy != "caller" {
		logText, _ := os.ReadFile(filepath.Join(dir, "baresip.log"))
		t.Fatalf("record: end_reason %q agent %q hangup_by %q, want answered by 1001, hung up by the caller\n%s",
			r.EndReason, r.Agent, r.HangupBy, logText)
	}
	heard := peer.Received()
	if tail := heard[max(0, len(heard)-16000):]; !testpeer.HasTone(tail, 440) {
		t.Errorf("caller did not hear the README seat's 440 Hz tone (level %.3f)", testpeer.ToneLevel(tail, 440))
	}
}
