package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	probs, c := problems(t, baseYAML)
	if probs != nil {
		t.Fatalf("base config refused:\n%v", (&Errors{probs}).Error())
	}
	s := c.SIP
	checks := []struct {
		name      string
		got, want any
	}{
		{"transports", s.Transports, []string{"udp", "tcp"}},
		{"realm", s.Realm, "hotline"},
		{"user_agent", s.UserAgent, "hotline"},
		{"nonce_ttl", s.NonceTTL, 5 * time.Minute},
		{"register min", s.RegisterMin, time.Minute},
		{"register max", s.RegisterMax, time.Hour},
		{"register default", s.RegisterDefault, 10 * time.Minute},
		{"max_auth_failures", s.MaxAuthFailures, 2},
		{"auth_lockout", s.AuthLockout, 15 * time.Minute},
		{"seat_networks", fmt.Sprint(s.SeatNetworks), "[127.0.0.0/8 ::1/128 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 fc00::/7]"},
		{"seat_ring_timeout", s.SeatRingTimeout, 30 * time.Second},
		{"min_session_expires", s.MinSessionExpires, 90 * time.Second},
		{"seat_keepalive", s.SeatKeepalive, time.Duration(0)},
		{"seat_session_expires", s.SeatSessionExpires, time.Duration(0)},
		{"rtp ports", [2]int{c.RTP.PortMin, c.RTP.PortMax}, [2]int{20000, 29999}},
		{"rtp timeout", c.RTP.Timeout, 30 * time.Second},
		{"rtp fast_path", c.RTP.FastPath, FastPathAuto},
		{"data_dir", c.DataDir, "./data"},
		{"shutdown_grace", c.ShutdownGrace, time.Minute},
		{"prompts", [3]string{c.Prompts.Welcome, c.Prompts.HoldMusic, c.Prompts.Language}, [3]string{"welcome.wav", "hold.wav", "zh"}},
		{"prompt sets", len(c.Prompts.Sets), 1},
		{"zh set", c.Prompts.Sets["zh"], "."},
		{"default ivr", c.DefaultIVR, ""},
		{"seat name", c.Seats[0].Name, "Seat 1001"},
		{"seat skills", c.Seats[0].Skills, []SkillLevel{{"general", 5}, {"market", 7}}},
		{"subcentre ring_timeout", c.Lines[1].RingTimeout, 15 * time.Second},
		{"main ring_timeout", c.Lines[0].RingTimeout, time.Duration(0)},
		{"file", c.File, "test.yaml"},
	}
	for _, ch := range checks {
		if !equal(ch.got, ch.want) {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func equal(a, b any) bool {
	switch a := a.(type) {
	case []string:
		return slices.Equal(a, b.([]string))
	case []SkillLevel:
		return slices.Equal(a, b.([]SkillLevel))
	}
	return a == b
}

func TestExplicitValues(t *testing.T) {
	text := edit(t,
		"sip:\n", "sip:\n  transports: [tcp]\n  nonce_ttl: 1m\n  register_expires: {min: 30, max: 60, default: 45}\n  max_auth_failures: 0\n  auth_lockout: 1h\n  seat_networks: [10.1.0.0/16, 192.0.2.7]\n",
		"  address: 127.0.0.1\n", "  address: 127.0.0.1\n  ports: 40000-40003\n  timeout: 0\n  fast_path: off\n",
		"    target: sip:12315@127.0.0.1:5093\n", "    target: sip:12315@127.0.0.1:5093\n    ring_timeout: 20s\n",
		"acl: [127.0.0.1/32]", `acl: [127.0.0.1, "::1"]`,
		`extension: "1001"`, `extension: 1001, name: 坐席一`,
	)
	probs, c := problems(t, text)
	if probs != nil {
		t.Fatalf("refused:\n%v", (&Errors{probs}).Error())
	}
	if c.SIP.HasTransport("udp") || !c.SIP.HasTransport("tcp") || c.SIP.NonceTTL != time.Minute ||
		c.SIP.RegisterDefault != 45*time.Second || c.SIP.MaxAuthFailures != 0 || c.SIP.AuthLockout != time.Hour ||
		fmt.Sprint(c.SIP.SeatNetworks) != "[10.1.0.0/16 192.0.2.7/32]" {
		t.Errorf("sip %+v", c.SIP)
	}
	if c.RTP.PortMin != 40000 || c.RTP.PortMax != 40003 || c.RTP.Timeout != 0 || c.RTP.FastPath != FastPathOff {
		t.Errorf("rtp %+v", c.RTP)
	}
	if c.Lines[1].RingTimeout != 20*time.Second || c.Seats[0].Name != "坐席一" || c.Seats[0].Extension != "1001" {
		t.Errorf("line %+v seat %+v", c.Lines[1], c.Seats[0])
	}
	for _, a := range []string{"127.0.0.1", "::1", "::ffff:127.0.0.1"} {
		if _, ok := c.TrunkFor(netip.MustParseAddr(a)); !ok {
			t.Errorf("TrunkFor(%s) found nothing", a)
		}
	}
	if _, ok := c.TrunkFor(netip.MustParseAddr("127.0.0.2")); ok {
		t.Error("TrunkFor(127.0.0.2) matched")
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.yaml"))
	if !errors.Is(err, ErrRead) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v", err)
	}
}

// TestLoadPromptsOutsideFolder: from a file on disk, prompts.dir may be
// absolute or leave the config's folder.
func TestLoadPromptsOutsideFolder(t *testing.T) {
	root := t.TempDir()
	sounds := filepath.Join(root, "sounds")
	etc := filepath.Join(root, "etc")
	for _, d := range []string{sounds, etc} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"welcome.wav", "hold.wav"} {
		if err := os.WriteFile(filepath.Join(sounds, f), wavHeader(8000, 1, 16), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{"../sounds", sounds} {
		file := filepath.Join(etc, "centre.yaml")
		if err := os.WriteFile(file, []byte(baseYAML+"prompts: {dir: \""+dir+"\"}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Load(file)
		if err != nil {
			t.Fatalf("dir %s: %v", dir, err)
		}
		if _, err := fs.Stat(c.FS, "hold.wav"); err != nil {
			t.Errorf("dir %s: %v", dir, err)
		}
	}
}

func TestLoadReportsFileName(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(file, []byte(strings.Replace(baseYAML, "mode: main", "mode: x", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(file)
	if err == nil || !strings.Contains(err.Error(), "\n"+file+":15: lines[0].mode: ") {
		t.Errorf("err = %v", err)
	}
}

func TestParseNilFS(t *testing.T) {
	_, err := Parse("x.yaml", []byte(baseYAML), nil)
	if err == nil || !strings.Contains(err.Error(), "x.yaml:1: prompts.dir: no folder to read prompts from") {
		t.Errorf("err = %v", err)
	}
}

func TestProblemString(t *testing.T) {
	if s := (Problem{File: "a.yaml", Msg: "m"}).String(); s != "a.yaml: m" {
		t.Error(s)
	}
	if s := (Problem{File: "a.yaml", Line: 3, Msg: "m"}).String(); s != "a.yaml:3: m" {
		t.Error(s)
	}
}

func TestWAVHeaderExtensibleAndChunks(t *testing.T) {
	h := wavHeader(8000, 1, 16)
	list := append([]byte("LIST\x04\x00\x00\x00abcd"), h[12:]...)
	if err := checkWAVHeader(append(h[:12:12], list...)); err != nil {
		t.Errorf("LIST chunk before fmt: %v", err)
	}
	ext := slices.Clone(h[:36])
	ext[20], ext[21] = 0xFE, 0xFF
	ext = append(ext, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0)
	ext[16] = 26
	if err := checkWAVHeader(ext); err != nil {
		t.Errorf("extensible PCM: %v", err)
	}
	if err := checkWAVHeader([]byte("RIFF\x00\x00\x00\x00WAVEdata")); err == nil {
		t.Error("no fmt chunk accepted")
	}
}

// TestDocsExample keeps the complete example of docs/CONFIG.md valid.
func TestDocsExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/CONFIG.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(doc), "## Complete example")
	_, rest, _ = strings.Cut(rest, "```yaml\n")
	example, _, found := strings.Cut(rest, "```")
	if !found {
		t.Fatal("no yaml block under Complete example")
	}
	fsys := testFS()
	fsys["prompts/transition-12369.wav"] = fsys["prompts/welcome.wav"]
	text := strings.Replace(example, "dir: /etc/hotline/prompts", "dir: prompts", 1)
	c, err := Parse("example.yaml", []byte(text), fsys)
	if err != nil {
		t.Fatalf("docs example refused:\n%v", err)
	}
	if c.HasDemoPasswords() || len(c.Lines) != 3 || c.Lines[2].RingTimeout != 15*time.Second {
		t.Errorf("example parsed as %+v", c)
	}
}

func TestLimitsDefaultsAndQueueLength(t *testing.T) {
	c, err := Parse("test.yaml", []byte(baseYAML+"limits: {max_calls: 20, max_waiting_per_queue: 7, trunk_calls_per_second: 5, retry_after: 10s}\n"), testFS())
	if err != nil {
		t.Fatal(err)
	}
	l := c.Limits
	if l.MaxCalls != 20 || l.TrunkCallsPerSecond != 5 || l.RetryAfter != 10*time.Second ||
		l.SourceRequestsPerSecond != defaultSourceRequests || l.TCPIdleTimeout != defaultTCPIdleTimeout {
		t.Fatalf("limits %+v", l)
	}
	for _, q := range c.Queues {
		if q.MaxLength != 7 {
			t.Errorf("queue %s max_length %d, want 7 from limits.max_waiting_per_queue", q.Name, q.MaxLength)
		}
	}
}
