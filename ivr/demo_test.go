package ivr

import (
	"io/fs"
	"slices"
	"testing"

	"github.com/hotline-cc/hotline/config"
)

// The demo centre's number plan, walked as the lead's end-to-end tests walk
// it with SIPp: these rows are the expected outcomes.
var demoWalks = []walkCase{
	{"12345: no key, general queue", "12345", "2026-03-04 10:00", "", []string{
		"start => play welcome.wav barge",
		"done => queue:general:0",
	}, "greeting intake", nil},
	{"12345: 1 consultation", "12345", "2026-03-04 10:00", "", []string{
		"start => play welcome.wav barge", "1 => queue:general:0",
	}, "greeting 1 consult intake", map[string]string{"tags": "consult"}},
	{"12345: 2 complaint", "12345", "2026-03-04 10:00", "", []string{
		"start => play welcome.wav barge", "2 => queue:general:5",
	}, "greeting 2 complaint intake", map[string]string{"tags": "complaint"}},
	{"12345: 3 help request", "12345", "2026-03-04 10:00", "", []string{
		"start => play welcome.wav barge", "3 => queue:general:3",
	}, "greeting 3 help intake", map[string]string{"tags": "help"}},
	{"12345: 9 supervision", "12345", "2026-03-04 10:00", "", []string{
		"start => play welcome.wav barge", "9 => queue:supervision:0",
	}, "greeting 9 supervision", nil},
	{"12316 merged: the front door, its own skill", "12316", "2026-03-04 10:00", "", []string{
		"start => play welcome.wav barge", "done => queue:agriculture:0",
	}, "greeting intake", nil},
	{"12316 merged: a shortcut keeps its own skill", "12316", "2026-03-04 10:00", "", []string{
		"start => play welcome.wav barge", "2 => queue:agriculture:5",
	}, "greeting 2 complaint intake", nil},
	{"12369 merged: transition notice while in force", "12369", "2026-10-15 10:00", "", []string{
		"start => play transition-12369.wav",
		"done => play welcome.wav barge",
		"done => queue:environment:0",
	}, "announcement greeting intake", nil},
	{"12369 merged: after the notice's end date", "12369", "2027-03-01 10:00", "", []string{
		"start => play welcome.wav barge",
	}, "greeting", nil},
	{"12333 out of hours: pension enquiry", "12333", "2026-03-04 20:00", "", []string{
		"start => play closed-12333.wav barge",
		"done => play menu-12333.wav barge",
		"1 => play menu-12333-pension.wav barge",
		"1 => play please-hold.wav",
		"done => queue:social_security:0",
	}, "closed menu 1 pension 1 pension-enquiry agent queue", map[string]string{"topic": "pension-enquiry"}},
	{"12333 out of hours: back from the pension menu, medical", "12333", "2026-03-04 20:00", "", []string{
		"start => play closed-12333.wav barge",
		"1 => play menu-12333-pension.wav barge",
		"* => play menu-12333.wav barge",
		"2 => play please-hold.wav",
	}, "closed menu 1 pension * menu 2 medical agent", map[string]string{"topic": "medical"}},
	{"12333 out of hours: repeat, then no input three times", "12333", "2026-03-04 20:00", "", []string{
		"start => play closed-12333.wav barge",
		"9 => play menu-12333.wav barge",
		"done => timer 5s",
		"timeout => play no-input.wav,menu-12333.wav barge",
		"done => timer 5s",
		"timeout => play no-input.wav,menu-12333.wav barge",
		"5 => play please-hold.wav",
	}, "closed menu 9 menu agent", nil},
	{"12333 out of hours: Cantonese", "12333", "2026-03-04 20:00", "", []string{
		"start => play closed-12333.wav barge",
		"8 => play yue/menu-12333.wav barge",
		"4 => play yue/invalid.wav,yue/menu-12333.wav barge",
		"3 => play yue/please-hold.wav",
		"done => queue:social_security:0",
	}, "closed menu 8 cantonese menu 3 employment agent queue", map[string]string{"language": "yue", "topic": "employment"}},
}

func demoConfig(t *testing.T) *config.Config {
	t.Helper()
	c, err := config.Load("../testdata/demo.yaml")
	if err != nil {
		t.Fatalf("demo refused:\n%v", err)
	}
	return c
}

func TestDemoWalks(t *testing.T) { runWalks(t, demoConfig(t), demoWalks) }

func TestDemoHours(t *testing.T) {
	plan := NewPlan(demoConfig(t))
	cases := []struct {
		hours, at string
		open      bool
	}{
		{"department", "2026-03-04 09:00", true},  // Wednesday
		{"department", "2026-03-04 12:30", false}, // lunch
		{"department", "2026-03-07 09:00", false}, // Saturday
		{"department", "2026-10-01 09:00", false}, // National Day
		{"department", "2026-02-18 09:00", false}, // Spring Festival, a Wednesday
		{"department", "2026-02-14 09:00", true},  // make-up Saturday
		{"department", "2026-10-10 16:00", true},  // make-up Saturday, as Friday
		{"department", "2026-09-20 09:00", true},  // make-up Sunday
		{"subcentre", "2026-03-07 19:59", true},
		{"subcentre", "2026-03-07 20:00", false},
		{"subcentre", "2026-10-01 08:30", false}, // holiday hours 09:00-17:00
		{"subcentre", "2026-10-01 09:30", true},
	}
	for _, tc := range cases {
		if got := plan.Open(tc.hours, at(t, tc.at)); got != tc.open {
			t.Errorf("Open(%s, %s) = %v, want %v", tc.hours, tc.at, got, tc.open)
		}
	}
}

// TestDemoPrompts: every prompt a demo walk may play is a file.
func TestDemoPrompts(t *testing.T) {
	c := demoConfig(t)
	ps := NewPlan(c).Prompts()
	for _, want := range []string{"welcome.wav", "transition-12369.wav", "menu-12333.wav", "yue/menu-12333.wav", "yue/please-hold.wav"} {
		if !slices.Contains(ps, want) {
			t.Errorf("Prompts() lacks %s: %v", want, ps)
		}
	}
	for _, p := range ps {
		if _, err := fs.Stat(c.FS, p); err != nil {
			t.Errorf("prompt %s: %v", p, err)
		}
	}
}
