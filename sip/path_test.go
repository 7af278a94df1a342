package sip

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	sipmsg "github.com/emiago/sipgo/sip"
)

const kamPath = "<sip:127.0.0.22:5062;lr;received=sip:127.0.0.1:5070>"

// TestRegisterThroughProxyKeepsPath: a REGISTER relayed by a proxy with a
// Path is stored with it, answered with it, and the binding's Target
// pre-loads it as the route of the seat's INVITEs.
func TestRegisterThroughProxyKeepsPath(t *testing.T) {
	h := newRegHarness(t, nil)
	res := h.register(regParams{source: "127.0.0.22:5062", extra: []string{"Path: " + kamPath}})
	wantCode(t, res, 200)
	if p := res.GetHeader("Path"); p == nil || p.Value() != kamPath {
		t.Fatalf("200 Path %v", p)
	}
	reg := h.wantChange(true)
	if reg.Path != kamPath || reg.Source != netip.MustParseAddrPort("127.0.0.22:5062") {
		t.Fatalf("binding %+v", reg)
	}
	uri, route := splitTarget(reg.Target())
	if uri != reg.Contact || !slices.Equal(route, []string{kamPath}) {
		t.Fatalf("Target %q splits into %q %q", reg.Target(), uri, route)
	}
	// a refresh through the same proxy is a refresh, a Path change is news
	wantCode(t, h.register(regParams{source: "127.0.0.22:5062", extra: []string{"Path: " + kamPath}}), 200)
	wantCode(t, h.register(regParams{source: "127.0.0.22:5062"}), 200)
	if reg := h.wantChange(true); reg.Path != "" || reg.Target() != reg.Contact {
		t.Fatalf("after a direct REGISTER: %+v", reg)
	}
}

// TestSeatCannotPreloadRoute: URI headers of a registered Contact are
// dropped, so a seat cannot slip a route into its own INVITEs.
func TestSeatCannotPreloadRoute(t *testing.T) {
	h := newRegHarness(t, nil)
	wantCode(t, h.register(regParams{contacts: []string{"<sip:1001@127.0.0.1:5070?Route=%3Csip:198.51.100.7%3Blr%3E>"}}), 200)
	reg := h.wantChange(true)
	if _, route := splitTarget(reg.Target()); len(route) != 0 || strings.Contains(reg.Contact, "?") {
		t.Fatalf("seat pre-loaded a route: %+v", reg)
	}
}

// TestPathFirstHopAdmitted: the first Path hop is checked by Admit like a
// Contact; a Path that is not a SIP URI is a 400.
func TestPathFirstHopAdmitted(t *testing.T) {
	errOutside := errors.New("outside")
	h := newRegHarness(t, func(c *RegistrarConfig) {
		c.Admit = func(_ string, _ netip.AddrPort, host string, _ int) error {
			if host == "198.51.100.7" {
				return errOutside
			}
			return nil
		}
	})
	wantCode(t, h.send(h.request(regParams{extra: []string{"Path: <sip:198.51.100.7;lr>"}})), 403)
	wantCode(t, h.send(h.request(regParams{extra: []string{"Path: <mailto:x@y>"}})), 400)
	wantCode(t, h.send(h.request(regParams{extra: []string{"Path: <sip:127.0.0.22;lr"}})), 400)
}

// TestProxiedFailuresCountAgainstTheSeat: wrong passwords through a proxy
// lock the seat's own address (the Path's received), not the proxy's, so
// the other seats behind the proxy still register.
func TestProxiedFailuresCountAgainstTheSeat(t *testing.T) {
	h := newRegHarness(t, nil) // MaxAuthFailures 3
	viaProxy := func(ext, seatIP, pw string) regParams {
		return regParams{ext: ext, password: pw, source: "127.0.0.22:5062",
			extra: []string{"Path: <sip:127.0.0.22:5062;lr;received=sip:" + seatIP + ":5070>"}}
	}
	for range 3 {
		h.register(viaProxy("1001", "127.0.0.5", "wrong"))
	}
	wantCode(t, h.register(viaProxy("1002", "127.0.0.6", "")), 200)
	wantCode(t, h.register(viaProxy("1003", "127.0.0.5", "")), 403) // the guessing phone's address is locked
}

func TestSplitHeaderList(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"<sip:a;lr>", []string{"<sip:a;lr>"}},
		{"<sip:a;lr>, <sip:b;lr>,<sip:c>", []string{"<sip:a;lr>", "<sip:b;lr>", "<sip:c>"}},
		{`"x, y" <sip:a?h=1,2>, <sip:b>`, []string{`"x, y" <sip:a?h=1,2>`, "<sip:b>"}},
		{" , ,", nil},
	}
	for _, tc := range cases {
		if got := splitHeaderList(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("splitHeaderList(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSplitTarget(t *testing.T) {
	cases := []struct {
		in, uri string
		route   []string
	}{
		{"sip:1001@127.0.0.1:5070", "sip:1001@127.0.0.1:5070", nil},
		{Registration{Contact: "sip:1@h", Path: "<sip:p1;lr>, <sip:p2;lr>"}.Target(), "sip:1@h", []string{"<sip:p1;lr>", "<sip:p2;lr>"}},
		{"sip:1@h?Subject=x&route=%3Csip:p%3Blr%3E", "sip:1@h", []string{"<sip:p;lr>"}},
		{"sip:1@h?Route=%zz", "sip:1@h", nil},
	}
	for _, tc := range cases {
		uri, route := splitTarget(tc.in)
		if uri != tc.uri || !slices.Equal(route, tc.route) {
			t.Errorf("splitTarget(%q) = %q %q, want %q %q", tc.in, uri, route, tc.uri, tc.route)
		}
	}
}

// TestWithRoute: the pre-loaded route decides where and over what the
// INVITE goes.
func TestWithRoute(t *testing.T) {
	req := sipmsg.NewRequest(sipmsg.INVITE, sipmsg.Uri{Scheme: "sip", User: "1001", Host: "127.0.0.1", Port: 5070})
	withRoute(req, []string{"<sip:127.0.0.22:5062;lr;transport=tcp>", "<sip:10.0.0.1;lr>"})
	if got := req.GetHeaders("Route"); len(got) != 2 {
		t.Fatalf("Route headers %v", got)
	}
	if d, tr := req.Destination(), req.Transport(); d != "127.0.0.22:5062" || tr != "TCP" {
		t.Fatalf("destination %s over %s", d, tr)
	}
}

// FuzzPath: whatever a REGISTER's Path or a stored target holds, the
// parsers neither panic nor invent entries from nothing.
func FuzzPath(f *testing.F) {
	for _, s := range []string{kamPath, `<sip:a;lr>, "q,\"" <sip:b>`, "sip:1@h?Route=%3Csip:p%3Blr%3E&x", "<<>>,,<", "?&=%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range splitHeaderList(s) {
			if strings.TrimSpace(p) == "" {
				t.Fatalf("empty entry from %q", s)
			}
			_, _ = pathURI(p)
		}
		_ = checkPath([]string{s})
		_, _ = splitTarget(s)
		_ = Registration{Contact: "sip:1@h", Path: s}.Target()
	})
}
