package config

import (
	"io/fs"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

const demoPath = "../testdata/demo.yaml"

// TestDemoLoads checks the embedded demo centre against CONTRACT.md.
func TestDemoLoads(t *testing.T) {
	c, err := Load(demoPath)
	if err != nil {
		t.Fatalf("Load(%s):\n%v", demoPath, err)
	}
	if c.Centre != "demo-12345" || c.File != demoPath {
		t.Errorf("centre %q file %q", c.Centre, c.File)
	}
	if c.SIP.Address != netip.MustParseAddrPort("127.0.0.1:5060") || !slices.Equal(c.SIP.Transports, []string{"udp", "tcp"}) {
		t.Errorf("sip %v %v", c.SIP.Address, c.SIP.Transports)
	}
	if c.HTTP.Address != netip.MustParseAddrPort("127.0.0.1:8080") || c.SIP.Realm != "hotline" {
		t.Errorf("http %v realm %q", c.HTTP.Address, c.SIP.Realm)
	}
	if c.RTP.Address != netip.MustParseAddr("127.0.0.1") || c.RTP.PortMin != 20000 || c.RTP.PortMax != 29999 {
		t.Errorf("rtp %+v", c.RTP)
	}
	if c.DataDir != "./data" {
		t.Errorf("data_dir %q", c.DataDir)
	}
	tr, ok := c.TrunkFor(netip.MustParseAddr("127.0.0.2"))
	if !ok || tr.Name != "carrier" || !tr.MayCall("12345") {
		t.Errorf("TrunkFor(127.0.0.2) = %+v, %v", tr, ok)
	}
	// a seat on 127.0.0.1 may register; the carrier's address may not
	if err := c.SeatAllowed(netip.MustParseAddr("127.0.0.1"), "127.0.0.1", 5070); err != nil {
		t.Errorf("demo seat refused: %v", err)
	}
	if err := c.SeatAllowed(netip.MustParseAddr("127.0.0.2"), "127.0.0.2", 5070); err == nil {
		t.Error("demo seat at the carrier's address allowed")
	}
	checkDemoLines(t, c)
	checkDemoSeats(t, c)
	checkDemoIVR(t, c)
	checkDemoACD(t, c)
	for _, e := range []struct{ number, target string }{
		{"110", "sip:110@127.0.0.1:5094"}, {"119", "sip:119@127.0.0.1:5095"},
		{"120", "sip:120@127.0.0.1:5096"}, {"122", "sip:122@127.0.0.1:5097"},
	} {
		if got, ok := c.EmergencyTarget(e.number); !ok || got != e.target {
			t.Errorf("emergency %s = %q, %v", e.number, got, ok)
		}
	}
	for _, name := range []string{c.Prompts.Welcome, c.Prompts.HoldMusic} {
		if _, err := fs.Stat(c.FS, name); err != nil {
			t.Errorf("prompt %s: %v", name, err)
		}
	}
}

func checkDemoLines(t *testing.T, c *Config) {
	t.Helper()
	want := []struct{ number, mode, skill, target string }{
		{"12345", ModeMain, "general", ""},
		{"12316", ModeMerge, "agriculture", ""},
		{"12369", ModeMerge, "environment", ""},
		{"12333", ModeParallel, "social_security", "sip:12333@127.0.0.1:5092"},
		{"12315", ModeSubcentre, "market", "sip:12315@127.0.0.1:5093"},
	}
	for _, w := range want {
		l, ok := c.Line(w.number)
		if !ok || l.Mode != w.mode || l.Skill != w.skill || l.Target != w.target {
			t.Errorf("line %s = %+v, %v", w.number, l, ok)
		}
		if w.target != "" && l.RingTimeout != 15*time.Second {
			t.Errorf("line %s ring timeout %v, want the 15s default", w.number, l.RingTimeout)
		}
	}
	a := c.Lines[2].Announcement
	if a == nil || a.Prompt != "transition-12369.wav" {
		t.Fatalf("12369 announcement %+v", a)
	}
	day := func(s string) time.Time { d, _ := time.ParseInLocation(time.DateOnly, s, time.Local); return d }
	for _, tc := range []struct {
		at   string
		want bool
	}{{"2026-08-31", false}, {"2026-09-01", true}, {"2027-02-28", true}, {"2027-03-01", false}} {
		if got := a.InForce(day(tc.at)); got != tc.want {
			t.Errorf("InForce(%s) = %v", tc.at, got)
		}
	}
	if _, ok := c.Line("110"); ok {
		t.Error("110 is a line")
	}
}

func checkDemoSeats(t *testing.T, c *Config) {
	t.Helper()
	if len(c.Seats) != 43 || !c.HasDemoPasswords() {
		t.Fatalf("%d seats, demo passwords %v", len(c.Seats), c.HasDemoPasswords())
	}
	perSkill := map[string]int{}
	for i, s := range c.Seats {
		ext := strconv.Itoa(1001 + i)
		if i >= 40 {
			if ext = strconv.Itoa(1901 + i - 40); s.Role != RoleSupervisor {
				t.Errorf("seat %s is %q, want a supervisor", s.Extension, s.Role)
			}
		} else if s.Role != RoleAgent {
			t.Errorf("seat %s is %q, want an agent", s.Extension, s.Role)
		}
		if s.Extension != ext || s.Password != "demo-"+ext {
			t.Errorf("seat %d = %s/%s", i, s.Extension, s.Password)
		}
		if _, ok := s.Level("general"); !ok {
			t.Errorf("seat %s lacks general", ext)
		}
		for _, sl := range s.Skills {
			perSkill[sl.Skill]++
		}
	}
	for _, skill := range c.Skills {
		if perSkill[skill] < 4 {
			t.Errorf("only %d seats have %s", perSkill[skill], skill)
		}
	}
}

// TestDemoParsesFromFS is how the root package loads the embedded demo.
func TestDemoParsesFromFS(t *testing.T) {
	data, err := os.ReadFile(demoPath)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse("demo.yaml", data, os.DirFS("../testdata"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if _, err := fs.Stat(c.FS, "transition-12369.wav"); err != nil {
		t.Error(err)
	}
}

func checkDemoIVR(t *testing.T, c *Config) {
	t.Helper()
	if c.DefaultIVR != "front" || c.IVRs["front"].Start != "greeting" || c.IVRs["social-security"].Start != "closed" {
		t.Errorf("default_ivr %q, trees %v", c.DefaultIVR, c.IVRs)
	}
	want := map[string][2]string{"12345": {"front", ""}, "12316": {"", ""}, "12333": {"social-security", "department"}, "12315": {"", "subcentre"}}
	for number, w := range want {
		if l, _ := c.Line(number); l.IVR != w[0] || l.Hours != w[1] {
			t.Errorf("line %s ivr %q hours %q, want %v", number, l.IVR, l.Hours, w)
		}
	}
	if len(c.Calendar.Holidays) != 7 || len(c.Calendar.Workdays) != 6 {
		t.Errorf("calendar %+v", c.Calendar)
	}
	if c.Prompts.Language != "zh" || c.Prompts.Sets["zh"] != "." || c.Prompts.Sets["yue"] != "yue" {
		t.Errorf("prompts %+v", c.Prompts)
	}
	if c.PromptPath("yue", "menu-12333.wav") != "yue/menu-12333.wav" || c.PromptPath("yue", "welcome.wav") != "welcome.wav" {
		t.Error("PromptPath in the demo")
	}
}

// checkDemoACD: feature codes, the callback-enabled general queue with
// wrap-up, and one queue per skill.
func checkDemoACD(t *testing.T, c *Config) {
	t.Helper()
	f := c.ACD.Features
	if f.Login != "*11" || f.Logout != "*12" || f.NotReady != "*13" || f.Ready != "*14" || len(f.Reasons) != 4 {
		t.Errorf("feature codes %+v", f)
	}
	g, ok := c.Queue("general")
	if !ok || g.Implied || g.WrapUp != 10*time.Second || !g.Callback || g.CallbackKey != "1" ||
		g.MaxWait != 2*time.Minute || g.OnMaxWait.Kind != DestCallback || g.AnnounceEvery != 30*time.Second ||
		g.CallbackAttempts != 2 || g.CallbackRetry != 5*time.Minute || g.CallbackExpiry != 4*time.Hour {
		t.Errorf("general queue %+v", g)
	}
	if q, ok := c.Queue("social_security"); ok && (q.CallbackAttempts != 1 || q.CallbackRetry != 5*time.Minute) {
		t.Errorf("defaults of a queue's callback attempts: %+v", q)
	}
	for _, sk := range c.Skills {
		if q, ok := c.Queue(sk); !ok || q.Skill != sk {
			t.Errorf("skill %s: queue %+v, %v", sk, q, ok)
		}
	}
	if len(c.CallbackNumbers) != 4 || !c.CallbackNumber("13800138000") || !c.CallbackNumber("01012345678") ||
		c.CallbackNumber("00881234") || c.CallbackNumber("anonymous") {
		t.Errorf("callback numbers %+v", c.CallbackNumbers)
	}
	if len(c.Trunks) != 1 || c.Trunks[0].OutboundURI("13800138000") != "sip:13800138000@127.0.0.1:5091" {
		t.Errorf("trunks %+v", c.Trunks)
	}
	if c.Store.Kind != StoreMemory {
		t.Errorf("store %+v", c.Store)
	}
}
