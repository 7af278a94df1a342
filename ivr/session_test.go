package ivr

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/config"
)

// walkCases: each row calls line, at a time, from a caller, and feeds the
// events of steps ("EVENT => ACTION", see feed and render); then the path and
// the variables must be as given.
type walkCase struct {
	name, line, at, caller string
	steps                  []string
	path                   string
	vars                   map[string]string
}

var walkCases = []walkCase{
	{"greeting without a key goes to the line's queue", "12345", "2026-03-02 10:00", "", []string{
		"start => play welcome.wav barge",
		"done => queue:general:0",
	}, "greeting intake", nil},
	{"key 2 in the greeting: complaint, higher priority", "12345", "2026-03-02 10:00", "", []string{
		"start => play welcome.wav barge",
		"2 => queue:general:5",
	}, "greeting 2 complaint intake", map[string]string{"tags": "complaint"}},
	{"key 1 in the greeting: consultation", "12345", "2026-03-02 10:00", "", []string{
		"start => play welcome.wav barge",
		"1 => queue:general:0",
	}, "greeting 1 consult intake", map[string]string{"tags": "consult"}},
	{"key 9 in the greeting: supervision line", "12345", "2026-03-02 10:00", "", []string{
		"start => play welcome.wav barge",
		"9 => queue:supervision:0",
	}, "greeting 9 supervision", nil},
	{"unknown key in the greeting: no retries, straight to the queue", "12345", "2026-03-02 10:00", "", []string{
		"start => play welcome.wav barge",
		"5 => queue:general:0",
	}, "greeting intake", nil},
	{"announcement in force, then the built-in greeting", "12369", "2026-09-01 00:00", "", []string{
		"start => play transition.wav",
		"1 => -",
		"timeout => -",
		"done => play welcome.wav",
		"1 => -",
		"done => queue:environment:0",
	}, "announcement welcome queue", nil},
	{"announcement over after its end date", "12369", "2027-03-01 00:00", "", []string{
		"start => play welcome.wav",
		"done => queue:environment:0",
	}, "welcome queue", nil},
	{"announcement not yet in force", "12369", "2026-08-31 23:59", "", []string{
		"start => play welcome.wav",
	}, "welcome", nil},
	{"menu: timeouts and invalid input, then the default", "12333", "2026-03-07 22:00", "", []string{
		"start => play closed.wav barge",
		"done => play ss-menu.wav barge",
		"done => timer 5s",
		"timeout => play no-input.wav,ss-menu.wav barge",
		"done => timer 5s",
		"7 => play invalid.wav,ss-menu.wav barge",
		"7 => play hold-on.wav",
		"1 => -",
		"done => queue:social_security:0",
	}, "closed menu agent queue", nil},
	{"menu: a valid key after a retry; second level", "12333", "2026-03-07 22:00", "", []string{
		"start => play closed.wav barge",
		"done => play ss-menu.wav barge",
		"done => timer 5s",
		"timeout => play no-input.wav,ss-menu.wav barge",
		"1 => play ss-pension.wav barge",
		"done => timer 3s",
		"1 => queue:social_security:0",
	}, "closed menu 1 pension 1 enquiry queue", map[string]string{"topic": "pension-enquiry"}},
	{"type-ahead: a key during a barge-in play answers the next menu", "12333", "2026-03-07 22:00", "", []string{
		"start => play closed.wav barge",
		"1 => play ss-pension.wav barge",
		"* => play ss-menu.wav barge",
		"0 => play hold-on.wav",
	}, "closed menu 1 pension * menu 0 agent", nil},
	{"repeat key and a timeout on the second level", "12333", "2026-03-07 22:00", "", []string{
		"start => play closed.wav barge",
		"9 => play ss-menu.wav barge",
		"9 => play ss-menu.wav barge",
		"1 => play ss-pension.wav barge",
		"done => timer 3s",
		"timeout => play hold-on.wav",
	}, "closed menu 9 menu 9 menu 1 pension agent", nil},
	{"language: Cantonese prompts, Mandarin where a set lacks one", "12333", "2026-03-07 22:00", "", []string{
		"start => play closed.wav barge",
		"done => play ss-menu.wav barge",
		"8 => play yue/ss-menu.wav barge",
		"5 => play invalid.wav,yue/ss-menu.wav barge",
		"0 => play yue/hold-on.wav",
		"done => queue:social_security:0",
	}, "closed menu 8 cantonese menu 0 agent queue", map[string]string{"language": "yue"}},
	{"stale events are ignored", "12333", "2026-03-07 22:00", "", []string{
		"timeout => -",
		"done => -",
		"1 => -",
		"start => play closed.wav barge",
		"start => -",
		"timeout => -",
		"done => play ss-menu.wav barge",
		"timeout => -",
		"done => timer 5s",
		"done => -",
		"0 => play hold-on.wav",
		"done => queue:social_security:0",
		"1 => -",
		"done => -",
		"timeout => -",
	}, "closed menu 0 agent queue", nil},
	{"time: weekday in hours", "12301", "2026-03-04 10:00", "", []string{"start => queue:general:0"}, "when day", nil},
	{"time: weekday lunch break", "12301", "2026-03-04 12:30", "", []string{"start => hangup:closed"}, "when night", nil},
	{"time: weekday at closing time", "12301", "2026-03-04 17:30", "", []string{"start => hangup:closed"}, "when night", nil},
	{"time: weekend", "12301", "2026-03-07 10:00", "", []string{"start => hangup:closed"}, "when night", nil},
	{"time: public holiday on a weekday", "12301", "2026-10-01 10:00", "", []string{
		"start => transfer:sip:duty@127.0.0.1:5099",
	}, "when festive", nil},
	{"time: make-up working Saturday (as Friday)", "12301", "2026-10-10 10:00", "", []string{"start => queue:general:0"}, "when day", nil},
	{"time: make-up working Sunday (Monday-Friday hours)", "12301", "2026-09-20 14:00", "", []string{"start => queue:general:0"}, "when day", nil},
	{"time: Saturday after the make-up day", "12301", "2026-10-17 10:00", "", []string{"start => hangup:closed"}, "when night", nil},
	{"collect: terminator", "12302", "2026-03-04 10:00", "", []string{
		"start => play enter-id.wav barge",
		"1 => timer 3s",
		"2 => timer 3s",
		"3 => timer 3s",
		"4 => timer 3s",
		"# => queue:general:0",
	}, "ask queue", map[string]string{"card": "1234"}},
	{"collect: maximum length ends the entry", "12302", "2026-03-04 10:00", "", []string{
		"start => play enter-id.wav barge",
		"done => timer 5s",
		"9 => timer 3s", "8 => timer 3s", "7 => timer 3s", "6 => timer 3s", "5 => timer 3s",
		"4 => queue:general:0",
	}, "ask queue", map[string]string{"card": "987654"}},
	{"collect: inter-digit timeout with enough digits", "12302", "2026-03-04 10:00", "", []string{
		"start => play enter-id.wav barge",
		"1 => timer 3s", "2 => timer 3s", "3 => timer 3s", "4 => timer 3s", "5 => timer 3s",
		"timeout => queue:general:0",
	}, "ask queue", map[string]string{"card": "12345"}},
	{"collect: too short, retried, then the default", "12302", "2026-03-04 10:00", "", []string{
		"start => play enter-id.wav barge",
		"1 => timer 3s",
		"# => play invalid.wav,enter-id.wav barge",
		"1 => timer 3s",
		"timeout => play goodbye.wav",
		"done => hangup:ivr",
	}, "ask bye end", nil},
	{"collect: no input, then a star", "12302", "2026-03-04 10:00", "", []string{
		"start => play enter-id.wav barge",
		"done => timer 5s",
		"timeout => play enter-id.wav barge",
		"* => play goodbye.wav",
	}, "ask bye", nil},
	{"caller: listed number gets its branch and priority", "12303", "2026-03-04 10:00", "13800000001", []string{
		"start => queue:vip:8",
	}, "who vip", nil},
	{"caller: + form listed too", "12303", "2026-03-04 10:00", "+8613800000002", []string{
		"start => queue:vip:8",
	}, "who vip", nil},
	{"caller: prefix", "12303", "2026-03-04 10:00", "057187654321", []string{
		"start => queue:general:0",
	}, "who local queue", map[string]string{"region": "hangzhou"}},
	{"caller: not listed", "12303", "2026-03-04 10:00", "13900000000", []string{
		"start => queue:general:0",
	}, "who queue", nil},
}

func TestSessionWalks(t *testing.T) { runWalks(t, testConfig(t), walkCases) }

func runWalks(t *testing.T, c *config.Config, cases []walkCase) {
	plan := NewPlan(c)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			line, ok := c.Line(tc.line)
			if !ok {
				t.Fatalf("no line %s", tc.line)
			}
			now := at(t, tc.at)
			s := NewSession(plan.ForLine(line), Env{Now: func() time.Time { return now }, Caller: tc.caller, Dialled: tc.line, Line: line})
			for i, step := range tc.steps {
				ev, want, _ := strings.Cut(step, " => ")
				if got := render(feed(t, s, ev)); got != want {
					t.Fatalf("step %d %q: got %q, want %q", i, ev, got, want)
				}
			}
			if got := strings.Join(s.Path(), " "); got != tc.path {
				t.Errorf("path %q, want %q", got, tc.path)
			}
			vars := s.Vars()
			for k, v := range tc.vars {
				if vars[k] != v {
					t.Errorf("var %s = %q, want %q (vars %v)", k, vars[k], v, vars)
				}
			}
			if _, ok := tc.vars["language"]; !ok && vars["language"] != "zh" {
				t.Errorf("language %q, want zh", vars["language"])
			}
		})
	}
}

// TestSessionLocation: the calendar is read in Env.Location, not in the
// zone of the time Now returns.
func TestSessionLocation(t *testing.T) {
	c := testConfig(t)
	plan := NewPlan(c)
	line, _ := c.Line("12301")
	utc := at(t, "2026-03-04 10:00").UTC() // 02:00 UTC: closed there, open in Beijing
	s := NewSession(plan.ForLine(line), Env{Now: func() time.Time { return utc }, Location: cst, Line: line})
	if got := render(s.Start()); got != "queue:general:0" {
		t.Errorf("with Location: %s", got)
	}
	s = NewSession(plan.ForLine(line), Env{Now: func() time.Time { return utc }, Line: line})
	if got := render(s.Start()); got != "hangup:closed" {
		t.Errorf("without Location: %s", got)
	}
}

func TestSessionCopies(t *testing.T) {
	c := testConfig(t)
	line, _ := c.Line("12345")
	s := NewSession(NewPlan(c).ForLine(line), Env{Line: line})
	s.Start()
	s.Digit('2')
	p, v := s.Path(), s.Vars()
	p[0], v["tags"] = "x", "x"
	if s.Path()[0] != "greeting" || s.Vars()["tags"] != "complaint" || !s.Done() {
		t.Errorf("Path/Vars share memory with the session: %v %v", s.Path(), s.Vars())
	}
}

func TestPlan(t *testing.T) {
	c := testConfig(t)
	plan := NewPlan(c)
	want := strings.Fields("closed.wav enter-id.wav goodbye.wav hold-on.wav invalid.wav no-input.wav " +
		"ss-menu.wav ss-pension.wav transition.wav welcome.wav yue/hold-on.wav yue/ss-menu.wav")
	if got := plan.Prompts(); !slices.Equal(got, want) {
		t.Errorf("Prompts() = %v\nwant %v", got, want)
	}
	for number, tree := range map[string]string{"12345": "front", "12333": "ss", "12369": BuiltinTree} {
		l, _ := c.Line(number)
		if got := plan.ForLine(l).Name(); got != tree {
			t.Errorf("ForLine(%s) = %s, want %s", number, got, tree)
		}
	}
	if plan.Tree("ss") == nil || plan.Tree("nope") != nil {
		t.Error("Tree lookups")
	}
	names := slices.Sorted(maps.Keys(c.IVRs))
	if !slices.Equal(names, []string{"front", "id", "ss", "timed", "vip"}) {
		t.Errorf("trees %v", names)
	}
}

func TestHours(t *testing.T) {
	plan := NewPlan(testConfig(t))
	cases := []struct {
		hours, at string
		open      bool
	}{
		{"office", "2026-03-04 08:29", false},
		{"office", "2026-03-04 08:30", true},
		{"office", "2026-03-04 11:59", true},
		{"office", "2026-03-04 12:00", false},
		{"office", "2026-03-04 13:30", true},
		{"office", "2026-03-04 17:29", true},
		{"office", "2026-03-04 17:30", false},
		{"office", "2026-03-07 10:00", false}, // Saturday
		{"office", "2026-03-08 10:00", false}, // Sunday
		{"office", "2026-10-01 10:00", false}, // National Day, a Thursday
		{"office", "2026-10-07 10:00", false}, // last day of the holiday
		{"office", "2026-10-08 10:00", true},  // back to work
		{"office", "2026-09-25 10:00", false}, // Mid-Autumn, a Friday
		{"office", "2026-09-20 10:00", true},  // make-up Sunday
		{"office", "2026-10-10 16:00", true},  // make-up Saturday, worked as a Friday
		{"duty", "2026-03-07 03:00", true},
		{"duty", "2026-10-02 08:00", false}, // holiday hours 09:00-17:00
		{"duty", "2026-10-02 09:00", true},
		{"", "2026-10-02 03:00", true},
		{"unknown", "2026-03-04 10:00", false},
	}
	for _, tc := range cases {
		if got := plan.Open(tc.hours, at(t, tc.at)); got != tc.open {
			t.Errorf("Open(%q, %s) = %v, want %v", tc.hours, tc.at, got, tc.open)
		}
	}
	if !plan.Holiday(at(t, "2026-10-03 12:00")) || plan.Holiday(at(t, "2026-10-10 12:00")) {
		t.Error("Holiday")
	}
}
