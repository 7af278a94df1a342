package call

import (
	"testing"

	"github.com/hotline-cc/hotline/media"
)

// TestReplaceHandsOverOnlyToTheSameAgent: the agent's own answered call to
// 12333 (c2) hands its department leg to the agent's caller (c) only when
// the REFER came from the same agent and names c2's tags; then c has the
// leg as an answered consult, c2 ends "replaced" without hanging the leg up.
func TestReplaceHandsOverOnlyToTheSameAgent(t *testing.T) {
	c, _ := bridgedCall(t)
	session := func() *media.Session {
		m, err := c.e.opts.Media.NewSession(media.SessionConfig{})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	c2 := newCall(c.e, &fakeLeg{caller: "1001", dialled: "12333"})
	c2.fromSeat = "1001"
	c2.in.m = session()
	dept := newFakeDialog("12333")
	c2.b = &leg{kind: legDirectory, target: "sip:12333@127.0.0.1:5092", m: session(), d: dept, sdp: newLegSDP()}
	media.Bridge(c2.in.m, c2.b.m)
	c2.setState(stBridged)
	t.Cleanup(func() { c2.end(endAnswered) })
	ask := func(seat, from, to string) (replaced, *reason) {
		ev := evReplace{seat: seat, fromTag: from, toTag: to, to: c, reply: make(chan replaced, 1)}
		r := c2.onReplace(ev)
		return <-ev.reply, r
	}
	for _, bad := range []struct{ seat, from, to string }{
		{"1002", "from-1001", "to-1001"}, // another agent
		{"1001", "from-x", "to-1001"},    // not the phone's dialog
		{"1001", "from-1001", "to-x"},    // not our tag
	} {
		if rep, r := ask(bad.seat, bad.from, bad.to); rep.err == nil || r != nil || c2.b == nil {
			t.Fatalf("%+v: handed over (err %v, end %v)", bad, rep.err, r)
		}
	}
	rep, r := ask("1001", "from-1001", "") // an early-style Replaces without to-tag
	if rep.err != nil || r == nil || *r != endReplaced || !rep.answered || rep.l.d != dept || c2.b != nil {
		t.Fatalf("hand-over: %+v, end %v", rep, r)
	}
	c.adoptReplaced(rep)
	if x := c.xfer; x == nil || x.st != xConsult || x.to.Name != "social-security" || c.rec.Transfers[x.i].Mode != ModeConsult {
		t.Fatalf("adopted: %+v, record %+v", c.xfer, c.rec.Transfers)
	}
	c2.end(*r)
	if dept.hungUp.Load() != 0 {
		t.Error("the replaced call hung the department up")
	}
}
