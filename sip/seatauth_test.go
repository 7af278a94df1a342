package sip

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// answerCount answers res's challenge like answerChallenge, with nonce
// count nc.
func answerCount(t *testing.T, res *sipmsg.Response, p regParams, nc int) string {
	t.Helper()
	chal, err := digest.ParseChallenge(res.GetHeader("WWW-Authenticate").Value())
	if err != nil {
		t.Fatal(err)
	}
	p = p.withDefaults()
	cred, err := digest.Digest(chal, digest.Options{
		Method: "REGISTER", URI: p.uri, Username: p.authUser, Password: p.password, Count: nc,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cred.String()
}

func wantStale(t *testing.T, res *sipmsg.Response) {
	t.Helper()
	wantCode(t, res, 401)
	if !strings.Contains(res.GetHeader("WWW-Authenticate").Value(), "stale=true") {
		t.Fatalf("want stale=true, got %v", res.GetHeader("WWW-Authenticate"))
	}
}

// TestNonceCountAndSource: a nonce's count must grow (a replayed REGISTER
// gets a stale challenge, not a binding), a nonce is good only from the
// address it was issued to, and without qop a nonce is good once.
func TestNonceCountAndSource(t *testing.T) {
	h := newRegHarness(t, nil)
	res := h.send(h.request(regParams{}))
	one := answerCount(t, res, regParams{}, 1)
	wantCode(t, h.send(h.request(regParams{auth: one})), 200)
	h.wantChange(true)
	wantStale(t, h.send(h.request(regParams{auth: one}))) // the same nc again: a replay
	two := answerCount(t, res, regParams{}, 2)
	wantCode(t, h.send(h.request(regParams{auth: two})), 200)
	wantStale(t, h.send(h.request(regParams{auth: one}))) // a lower nc
	three := answerCount(t, res, regParams{}, 3)
	wantStale(t, h.send(h.request(regParams{auth: three, source: "127.0.0.7:5070"}))) // sniffed, sent from elsewhere
	wantCode(t, h.send(h.request(regParams{auth: three})), 200)                       // still good at home

	// none of that counted as a failure
	for range 3 {
		wantCode(t, h.register(regParams{password: "wrong"}), 401)
	}
	h.r.clearFailures("1001", netip.MustParseAddr("127.0.0.1"))
	if h.r.auth.counts.len() != 1 {
		t.Fatalf("nonce table %d entries, want 1", h.r.auth.counts.len())
	}
	h.clk.Add(6 * time.Minute)
	h.r.sweep()
	if h.r.auth.counts.len() != 0 {
		t.Fatal("expired nonce kept")
	}
}

// TestDigestURIMustBeRequestURI: credentials computed for another URI are a
// bad request (RFC 2617 section 3.2.2.5), answered 400 and not counted.
func TestDigestURIMustBeRequestURI(t *testing.T) {
	h := newRegHarness(t, nil)
	for range 5 {
		res := h.send(h.request(regParams{}))
		p := regParams{uri: "sip:10.9.9.9"}
		p.auth = answerChallenge(t, res, "WWW-Authenticate", "REGISTER", p.withDefaults())
		wantCode(t, h.send(h.request(p)), 400)
	}
	// the same URI spelt with the default scheme's parts is fine
	res := h.send(h.request(regParams{}))
	p := regParams{uri: "sip:127.0.0.1;transport=udp"}
	p.auth = answerChallenge(t, res, "WWW-Authenticate", "REGISTER", p.withDefaults())
	wantCode(t, h.send(h.request(p)), 200)
}

func TestSameURI(t *testing.T) {
	var ruri sipmsg.Uri
	if err := sipmsg.ParseUri("sip:12345@Example.com:5060", &ruri); err != nil {
		t.Fatal(err)
	}
	cases := map[string]bool{
		"sip:12345@Example.com:5060":      true,
		"sip:12345@example.com:5060;x=y":  true,
		"SIP:12345@example.com:5060":      true,
		"sip:12345@example.com":           false,
		"sip:12346@example.com:5060":      false,
		"sip:12345@evil.example.com:5060": false,
		"not a uri":                       false,
	}
	for in, want := range cases {
		if got := sameURI(in, ruri); got != want {
			t.Errorf("sameURI(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestLockout is the back-off table: max failures in a row pass, the next
// locks for base, each further lockout doubles up to the ceiling; failures
// while locked are not counted; a quiet window resets the streak; clear
// forgets everything.
func TestLockout(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	k := failureKey{ext: "1001"}
	type step struct {
		at         time.Duration // since t0
		op         string        // fail | check | clear | sweep
		wantLocked bool
		wantUntil  time.Duration // for check when locked
	}
	steps := []step{
		{0, "fail", false, 0},
		{1 * time.Second, "fail", false, 0},
		{2 * time.Second, "fail", true, 0}, // third failure with max 2: locked 1 min
		{3 * time.Second, "check", true, 62 * time.Second},
		{4 * time.Second, "fail", true, 0}, // not counted, not extended
		{5 * time.Second, "check", true, 62 * time.Second},
		{62 * time.Second, "check", false, 0},
		{63 * time.Second, "fail", false, 0},
		{64 * time.Second, "fail", false, 0},
		{65 * time.Second, "fail", true, 0}, // second lockout: 2 min
		{66 * time.Second, "check", true, 185 * time.Second},
		{185 * time.Second, "fail", false, 0},
		{186 * time.Second, "fail", false, 0},
		{187 * time.Second, "fail", true, 0}, // third: 4 min, capped at 3 min
		{188 * time.Second, "check", true, 367 * time.Second},
		{367 * time.Second, "fail", false, 0},
		{367*time.Second + 10*time.Minute, "fail", false, 0}, // quiet window passed: streak restarts
		{367*time.Second + 10*time.Minute, "fail", false, 0},
		{367*time.Second + 10*time.Minute, "clear", false, 0},
		{367*time.Second + 10*time.Minute, "fail", false, 0},
		{367*time.Second + 10*time.Minute, "fail", false, 0},
		{367*time.Second + 10*time.Minute, "fail", true, 0}, // after clear, back to base
		{368*time.Second + 10*time.Minute, "check", true, 427*time.Second + 10*time.Minute},
	}
	l := newLockout(2, 5*time.Minute, time.Minute, 3*time.Minute)
	for i, s := range steps {
		now := t0.Add(s.at)
		switch s.op {
		case "fail":
			if _, locked := l.fail(now, k); locked != s.wantLocked {
				t.Fatalf("step %d: fail locked=%v, want %v", i, locked, s.wantLocked)
			}
		case "check":
			until := l.lockedUntil(now, k)
			if until.IsZero() == s.wantLocked || (s.wantLocked && !until.Equal(t0.Add(s.wantUntil))) {
				t.Fatalf("step %d: locked until %v, want %v (locked %v)", i, until.Sub(t0), s.wantUntil, s.wantLocked)
			}
		case "clear":
			l.clear(k)
		}
	}
	l.sweep(t0.Add(24 * time.Hour))
	if len(l.strikes) != 0 {
		t.Fatalf("sweep kept %v", l.strikes)
	}
}

// TestLockoutLocksRightPasswordAndDoubles, through the registrar: locked,
// the right password gets 403; the second lockout lasts twice the first.
func TestLockoutLocksRightPasswordAndDoubles(t *testing.T) {
	h := newRegHarness(t, func(c *RegistrarConfig) { c.LockoutBase = 10 * time.Minute })
	lockNow := func() {
		t.Helper()
		for range 3 {
			wantCode(t, h.register(regParams{password: "wrong", source: "127.0.0.8:5070"}), 401)
		}
		wantCode(t, h.register(regParams{password: "wrong", source: "127.0.0.8:5070"}), 403)
	}
	lockNow()
	wantCode(t, h.register(regParams{}), 403) // right password, another source: the extension is locked
	h.clk.Add(10 * time.Minute)
	lockNow()
	h.clk.Add(10 * time.Minute)
	wantCode(t, h.register(regParams{}), 403) // the second lock lasts 20 minutes
	h.clk.Add(10 * time.Minute)
	wantCode(t, h.register(regParams{}), 200)
	h.wantChange(true)
}

func TestNonceCountsBounded(t *testing.T) {
	n := newNonceCounts(5 * time.Minute)
	t0 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	for i := range maxNonceEntries + 10 {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		n.use(fmt.Sprint(i), at, 1, at)
	}
	if n.len() > maxNonceEntries {
		t.Fatalf("%d entries, cap %d", n.len(), maxNonceEntries)
	}
	// an evicted nonce is not taken for unused
	if n.fresh("0", t0, 2) {
		t.Fatal("evicted nonce accepted again")
	}
	if !n.fresh("new", t0.Add(time.Hour), 1) {
		t.Fatal("a new nonce refused")
	}
}

// TestTwoLinesOneSource: two extensions registered from one IP:port (two
// lines of a desk phone) are both kept; removing one keeps the other and
// the source.
func TestTwoLinesOneSource(t *testing.T) {
	h := newRegHarness(t, nil)
	wantCode(t, h.register(regParams{ext: "1001", contacts: []string{"<sip:1001@127.0.0.1:5070>"}}), 200)
	h.wantChange(true)
	wantCode(t, h.register(regParams{ext: "1002", contacts: []string{"<sip:1002@127.0.0.1:5070>"}}), 200)
	h.wantChange(true)
	if h.r.Count() != 2 {
		t.Fatalf("Count %d, want 2", h.r.Count())
	}
	src := netip.MustParseAddrPort("127.0.0.1:5070")
	for _, ext := range []string{"1001", "1002"} {
		if reg, ok := h.r.Lookup(ext); !ok || reg.Source != src {
			t.Fatalf("Lookup(%s) = %+v %v", ext, reg, ok)
		}
	}
	wantCode(t, h.register(regParams{ext: "1001", expires: "0"}), 200)
	h.wantChange(false)
	if !h.r.HasSource(src) {
		t.Fatal("source forgotten while 1002 is still registered from it")
	}
	if _, ok := h.r.Lookup("1002"); !ok {
		t.Fatal("1002 lost")
	}
}

// TestAdmitRefusesBeforeDigest: a REGISTER the Admit hook refuses gets 403
// with no challenge, and nothing is stored.
func TestAdmitRefusesBeforeDigest(t *testing.T) {
	var asked []string
	h := newRegHarness(t, func(c *RegistrarConfig) {
		c.Admit = func(ext string, src netip.AddrPort, host string, _ int) error {
			asked = append(asked, ext+" "+src.String()+" "+host)
			if host == "10.0.0.1" {
				return errors.New("contact is a trunk address")
			}
			return nil
		}
	})
	bad := regParams{contacts: []string{"<sip:1001@10.0.0.1:5060>"}}
	wantCode(t, h.send(h.request(bad)), 403)
	h.wantNoChange()
	wantCode(t, h.register(regParams{}), 200)
	h.wantChange(true)
	if len(asked) != 3 || asked[0] != "1001 127.0.0.1:5070 10.0.0.1" {
		t.Fatalf("Admit asked %q", asked)
	}
}
