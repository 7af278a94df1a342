package ivr

import (
	"strings"
	"testing"
	"time"
)

// TestSessionPathBound: a caller who repeats a menu forever (key 9 on the
// social-security menu is "repeat") is hung up once the path reaches
// MaxPath, with ReasonTooLong; the path never grows past it.
func TestSessionPathBound(t *testing.T) {
	c := testConfig(t)
	line, _ := c.Line("12333")
	now := at(t, "2026-03-07 22:00")
	s := NewSession(NewPlan(c).ForLine(line), Env{Now: func() time.Time { return now }, Line: line})
	s.Start()
	s.PromptsDone() // closed.wav, then the menu
	var last Action
	for i := 0; i < 10*MaxPath && !s.Done(); i++ {
		last = s.Digit('9')
	}
	if !s.Done() || render(last) != "hangup:"+ReasonTooLong {
		t.Fatalf("after %d entries: %s", len(s.Path()), render(last))
	}
	if n := len(s.Path()); n != MaxPath {
		t.Errorf("path has %d entries, want %d", n, MaxPath)
	}
}

// TestSessionSensitive: Sensitive holds while a collect node marked
// sensitive takes digits (typed ahead or after its prompt), never on other
// nodes.
func TestSessionSensitive(t *testing.T) {
	c := testConfig(t)
	plan := NewPlan(c)
	id, _ := c.Line("12302")
	s := NewSession(plan.ForLine(id), Env{Line: id})
	var got []string
	note := func(ev string) {
		feed(t, s, ev)
		got = append(got, ev+"="+map[bool]string{true: "s", false: "-"}[s.Sensitive()])
	}
	for _, ev := range []string{"start", "1", "2", "3", "4", "timeout"} {
		note(ev)
	}
	if want := "start=s 1=s 2=s 3=s 4=s timeout=-"; strings.Join(got, " ") != want {
		t.Errorf("sensitive: %s, want %s", strings.Join(got, " "), want)
	}
	front, _ := c.Line("12345")
	s = NewSession(plan.ForLine(front), Env{Line: front})
	s.Start()
	if s.Sensitive() {
		t.Error("a menu is sensitive")
	}
}
