package sip

import (
	"context"
	"crypto/md5" //nolint:gosec // digest test vectors
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/emiago/sipgo/siptest"
	"github.com/icholy/digest"
)

func TestRegisterWithoutCredentialsIsChallenged(t *testing.T) {
	h := newRegHarness(t, nil)
	res := h.send(h.request(regParams{}))
	wantCode(t, res, 401)
	chal, err := digest.ParseChallenge(res.GetHeader("WWW-Authenticate").Value())
	if err != nil {
		t.Fatal(err)
	}
	if chal.Realm != "hotline" || chal.Nonce == "" || !chal.SupportsQOP("auth") || chal.Stale ||
		!strings.EqualFold(chal.Algorithm, "MD5") {
		t.Fatalf("challenge %+v", chal)
	}
	if h.r.Count() != 0 {
		t.Fatal("registered without auth")
	}
}

func TestRegisterSuccess(t *testing.T) {
	h := newRegHarness(t, nil)
	res := h.register(regParams{})
	wantCode(t, res, 200)
	if c := res.Contact(); c == nil || c.Address.User != "1001" || c.Params.GetOr("expires", "") != "600" {
		t.Fatalf("Contact %v", res.GetHeader("Contact"))
	}
	if v := res.GetHeader("Expires"); v == nil || v.Value() != "600" {
		t.Fatalf("Expires %v", v)
	}
	if v := res.GetHeader("Date"); v == nil || v.Value() != "Sat, 01 Mar 2025 09:00:00 GMT" {
		t.Fatalf("Date %v", v)
	}
	reg := h.wantChange(true)
	want := Registration{
		Extension: "1001",
		Contact:   "sip:1001@127.0.0.1:5070;transport=udp",
		Source:    netip.MustParseAddrPort("127.0.0.1:5070"),
		Transport: "udp",
		Expires:   h.clk.Now().Add(600 * time.Second),
		UserAgent: "hotline-test",
	}
	if reg != want {
		t.Fatalf("OnChange %+v, want %+v", reg, want)
	}
	if got, ok := h.r.Lookup("1001"); !ok || got != want {
		t.Fatalf("Lookup %+v %v", got, ok)
	}
	if !h.r.HasSource(netip.MustParseAddrPort("[::ffff:127.0.0.1]:5070")) {
		t.Fatal("HasSource missed the mapped source")
	}
	if h.r.HasSource(netip.MustParseAddrPort("127.0.0.1:5071")) {
		t.Fatal("HasSource matched another port")
	}
	if l := h.r.List(); len(l) != 1 || l[0] != want || h.r.Count() != 1 {
		t.Fatalf("List %+v Count %d", l, h.r.Count())
	}
}

func TestRegisterTCPTransport(t *testing.T) {
	h := newRegHarness(t, nil)
	wantCode(t, h.register(regParams{transport: "TCP"}), 200)
	if reg := h.wantChange(true); reg.Transport != "tcp" {
		t.Fatalf("transport %q", reg.Transport)
	}
}

// TestRegisterDigestWithoutQOP proves the RFC 2069-style answer (no qop),
// computed here with plain crypto/md5.
func TestRegisterDigestWithoutQOP(t *testing.T) {
	h := newRegHarness(t, nil)
	res := h.send(h.request(regParams{}))
	chal, err := digest.ParseChallenge(res.GetHeader("WWW-Authenticate").Value())
	if err != nil {
		t.Fatal(err)
	}
	md5hex := func(s string) string { sum := md5.Sum([]byte(s)); return hex.EncodeToString(sum[:]) } //nolint:gosec
	ha1 := md5hex("1001:hotline:demo-1001")
	ha2 := md5hex("REGISTER:sip:127.0.0.1")
	resp := md5hex(ha1 + ":" + chal.Nonce + ":" + ha2)
	auth := fmt.Sprintf(`Digest username="1001",realm="hotline",nonce="%s",uri="sip:127.0.0.1",response="%s",algorithm=MD5`,
		chal.Nonce, strings.ToUpper(resp))
	wantCode(t, h.send(h.request(regParams{auth: auth})), 200)
}

func TestUnregister(t *testing.T) {
	cases := []struct {
		name     string
		contacts []string
		expires  string
	}{
		{"Expires 0", nil, "0"},
		{"contact expires=0", []string{"<sip:1001@127.0.0.1:5070;transport=udp>;expires=0"}, "600"},
		{"contact expires=0 no header", []string{"<sip:1001@127.0.0.1:5070>;expires=0"}, "-"},
		{"wildcard", []string{"*"}, "0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newRegHarness(t, nil)
			wantCode(t, h.register(regParams{}), 200)
			h.wantChange(true)
			res := h.register(regParams{contacts: tc.contacts, expires: tc.expires})
			wantCode(t, res, 200)
			if res.Contact() != nil {
				t.Fatalf("unregister answered with Contact %v", res.Contact())
			}
			if reg := h.wantChange(false); reg.Extension != "1001" {
				t.Fatalf("OnChange %+v", reg)
			}
			if _, ok := h.r.Lookup("1001"); ok || h.r.Count() != 0 {
				t.Fatal("still registered")
			}
			if h.r.HasSource(netip.MustParseAddrPort("127.0.0.1:5070")) {
				t.Fatal("source index kept")
			}
		})
	}
}

func TestUnregisterOtherContactKeepsBinding(t *testing.T) {
	h := newRegHarness(t, nil)
	wantCode(t, h.register(regParams{}), 200)
	h.wantChange(true)
	res := h.register(regParams{contacts: []string{"<sip:1001@10.0.0.9:5070>"}, expires: "0"})
	wantCode(t, res, 200)
	if c := res.Contact(); c == nil || c.Address.Host != "127.0.0.1" {
		t.Fatalf("want remaining binding in 200, got %v", res.GetHeader("Contact"))
	}
	h.wantNoChange()
	if _, ok := h.r.Lookup("1001"); !ok {
		t.Fatal("binding removed by another contact's unregister")
	}
}

func TestRegisterExpiresBounds(t *testing.T) {
	cases := []struct {
		name, expires string
		contact       string
		code          int
		want          string // granted expires
	}{
		{"too brief", "59", "", 423, ""},
		{"contact param too brief", "600", "<sip:1001@127.0.0.1:5070>;expires=30", 423, ""},
		{"min", "60", "", 200, "60"},
		{"clamped", "86400", "", 200, "3600"},
		{"contact param wins", "600", "<sip:1001@127.0.0.1:5070>;expires=120", 200, "120"},
		{"default", "-", "", 200, "1800"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newRegHarness(t, nil)
			p := regParams{expires: tc.expires}
			if tc.contact != "" {
				p.contacts = []string{tc.contact}
			}
			res := h.register(p)
			wantCode(t, res, tc.code)
			if tc.code == 423 {
				if v := res.GetHeader("Min-Expires"); v == nil || v.Value() != "60" {
					t.Fatalf("Min-Expires %v", v)
				}
				if h.r.Count() != 0 {
					t.Fatal("registered on 423")
				}
				return
			}
			if got := res.GetHeader("Expires").Value(); got != tc.want {
				t.Fatalf("Expires %s, want %s", got, tc.want)
			}
			if got := res.Contact().Params.GetOr("expires", ""); got != tc.want {
				t.Fatalf("Contact expires %s, want %s", got, tc.want)
			}
		})
	}
}

func TestRegisterMalformed(t *testing.T) {
	cases := []struct {
		name string
		p    regParams
	}{
		{"no contact", regParams{contacts: []string{}}},
		{"bad Expires", regParams{expires: "soon"}},
		{"negative Expires", regParams{expires: "-5"}},
		{"bad contact expires", regParams{contacts: []string{"<sip:1001@127.0.0.1:5070>;expires=x"}}},
		{"wildcard with Expires 600", regParams{contacts: []string{"*"}}},
		{"wildcard and another contact", regParams{contacts: []string{"*", "<sip:1001@127.0.0.1>"}, expires: "0"}},
		{"non-SIP contact", regParams{contacts: []string{"<mailto:a@b.c>"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newRegHarness(t, nil)
			wantCode(t, h.send(h.request(tc.p)), 400)
		})
	}
	t.Run("no To user", func(t *testing.T) {
		h := newRegHarness(t, nil)
		req := h.request(regParams{})
		req.To().Address.User = ""
		wantCode(t, h.send(req), 400)
	})
}

// TestRegisterUnknownExtension: the unknown extension is answered exactly
// like a known one with a wrong password: challenged MaxAuthFailures times,
// then 403; a scanner cannot tell them apart.
func TestRegisterUnknownExtension(t *testing.T) {
	h := newRegHarness(t, nil) // MaxAuthFailures: 3
	for _, ext := range []string{"9999", "1001"} {
		for i := 1; i <= 3; i++ {
			wantCode(t, h.register(regParams{ext: ext, password: "guess", source: "127.0.0.9:5070"}), 401)
		}
		wantCode(t, h.register(regParams{ext: ext, password: "guess", source: "127.0.0.9:5070"}), 403)
		h.clk.Add(15 * time.Minute)
	}
	h.wantNoChange()
}

func TestRegisterUsernameMustMatchTo(t *testing.T) {
	h := newRegHarness(t, nil)
	wantCode(t, h.register(regParams{ext: "1002", authUser: "1001"}), 403)
	if h.r.Count() != 0 {
		t.Fatal("registered 1002 with 1001's credentials")
	}
}

// TestRegisterWrongPasswordThenForbidden: past MaxAuthFailures the extension
// (from every source) and the source (for every extension) are locked, and
// the right password gets 403 too until AuthFailureTTL passes.
func TestRegisterWrongPasswordThenForbidden(t *testing.T) {
	h := newRegHarness(t, nil) // MaxAuthFailures: 3
	for i := 1; i <= 3; i++ {
		wantCode(t, h.register(regParams{password: "wrong"}), 401)
	}
	wantCode(t, h.register(regParams{password: "wrong"}), 403)
	wantCode(t, h.register(regParams{}), 403)                                   // right password, locked
	wantCode(t, h.register(regParams{source: "127.0.0.2:5070"}), 403)           // the extension, from elsewhere
	wantCode(t, h.register(regParams{ext: "1002", password: "demo-1002"}), 403) // the source, another extension
	h.clk.Add(15 * time.Minute)
	wantCode(t, h.register(regParams{}), 200)
	// a success resets the streak
	wantCode(t, h.register(regParams{password: "wrong"}), 401)
	wantCode(t, h.register(regParams{}), 200)
	for range 3 {
		wantCode(t, h.register(regParams{password: "wrong"}), 401)
	}
	wantCode(t, h.register(regParams{}), 200)
}

func TestRegisterStaleNonce(t *testing.T) {
	h := newRegHarness(t, nil)
	res := h.send(h.request(regParams{}))
	auth := answerChallenge(t, res, "WWW-Authenticate", "REGISTER", regParams{}.withDefaults())
	h.clk.Add(5*time.Minute + time.Second)
	for range 5 { // more than MaxAuthFailures: stale is not a failure
		res = h.send(h.request(regParams{auth: auth}))
		wantCode(t, res, 401)
		chal, err := digest.ParseChallenge(res.GetHeader("WWW-Authenticate").Value())
		if err != nil || !chal.Stale {
			t.Fatalf("want stale=true challenge, got %v (%v)", res.GetHeader("WWW-Authenticate"), err)
		}
	}
	// a wrong password on an old nonce is answered like the right one: the
	// nonce is checked first, so an old nonce tells nothing of the password
	bad := answerChallenge(t, res, "WWW-Authenticate", "REGISTER", regParams{password: "nope"}.withDefaults())
	h.clk.Add(6 * time.Minute)
	res = h.send(h.request(regParams{auth: bad}))
	wantCode(t, res, 401)
	if !strings.Contains(res.GetHeader("WWW-Authenticate").Value(), "stale=true") {
		t.Fatal("old nonce with a wrong password not answered stale")
	}
	// the fresh challenge works
	p := regParams{}
	p.auth = answerChallenge(t, res, "WWW-Authenticate", "REGISTER", p.withDefaults())
	wantCode(t, h.send(h.request(p)), 200)
}

// TestNonceFromAnotherSecret: a nonce this node did not issue (another node,
// or before a restart) with the right password gets stale=true; nodes sharing
// NonceSecret accept each other's nonces.
func TestNonceFromAnotherSecret(t *testing.T) {
	secret := []byte("shared-secret-0123456789abcdef")
	a := newRegHarness(t, func(c *RegistrarConfig) { c.NonceSecret = secret })
	b := newRegHarness(t, func(c *RegistrarConfig) { c.NonceSecret = secret })
	other := newRegHarness(t, nil)
	auth := answerChallenge(t, a.send(a.request(regParams{})), "WWW-Authenticate", "REGISTER", regParams{}.withDefaults())
	wantCode(t, b.send(b.request(regParams{auth: auth})), 200)
	res := other.send(other.request(regParams{auth: auth}))
	wantCode(t, res, 401)
	if !strings.Contains(res.GetHeader("WWW-Authenticate").Value(), "stale=true") {
		t.Fatalf("want stale, got %v", res.GetHeader("WWW-Authenticate"))
	}
}

func TestRegisterRefreshAndReplace(t *testing.T) {
	h := newRegHarness(t, nil)
	wantCode(t, h.register(regParams{}), 200)
	first := h.wantChange(true)
	h.clk.Add(time.Minute)
	wantCode(t, h.register(regParams{}), 200)
	h.wantNoChange()
	if got, _ := h.r.Lookup("1001"); !got.Expires.After(first.Expires) {
		t.Fatalf("refresh did not extend: %v then %v", first.Expires, got.Expires)
	}
	moved := regParams{source: "127.0.0.1:6000", contacts: []string{"<sip:1001@127.0.0.1:6000>"}}
	wantCode(t, h.register(moved), 200)
	if reg := h.wantChange(true); reg.Contact != "sip:1001@127.0.0.1:6000" {
		t.Fatalf("replaced binding %+v", reg)
	}
	if h.r.Count() != 1 {
		t.Fatalf("Count %d after replace", h.r.Count())
	}
	if h.r.HasSource(netip.MustParseAddrPort("127.0.0.1:5070")) {
		t.Fatal("old source still indexed")
	}
	if !h.r.HasSource(netip.MustParseAddrPort("127.0.0.1:6000")) {
		t.Fatal("new source not indexed")
	}
	wantCode(t, h.register(regParams{ext: "1002", source: "127.0.0.1:7000"}), 200)
	h.wantChange(true)
	if l := h.r.List(); len(l) != 2 || l[0].Extension != "1001" || l[1].Extension != "1002" {
		t.Fatalf("List %+v", l)
	}
}

func TestRegistrationExpiry(t *testing.T) {
	h := newRegHarness(t, nil)
	wantCode(t, h.register(regParams{expires: "60"}), 200)
	h.wantChange(true)
	wantCode(t, h.register(regParams{ext: "1002", source: "127.0.0.1:7000", expires: "120"}), 200)
	h.wantChange(true)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	h.clk.Add(60 * time.Second)
	if _, ok := h.r.Lookup("1001"); ok {
		t.Fatal("Lookup returned an expired binding")
	}
	h.r.poke()
	if reg := h.wantChange(false); reg.Extension != "1001" {
		t.Fatalf("expired %+v", reg)
	}
	if _, ok := h.r.Lookup("1002"); !ok || h.r.Count() != 1 {
		t.Fatal("1002 expired early")
	}
	h.clk.Add(60 * time.Second)
	h.r.poke()
	if reg := h.wantChange(false); reg.Extension != "1002" {
		t.Fatalf("expired %+v", reg)
	}
	if h.r.Count() != 0 || len(h.r.List()) != 0 {
		t.Fatal("bindings left")
	}
}

// TestRunUsesOneRealTimer checks Run wakes on its own timer (real clock).
func TestRunUsesOneRealTimer(t *testing.T) {
	h := newRegHarness(t, func(c *RegistrarConfig) { c.Now = nil; c.MinExpires = time.Second })
	wantCode(t, h.register(regParams{expires: "1"}), 200)
	h.wantChange(true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	h.wantChange(false)
}

func TestChallengeAndVerifyProxy(t *testing.T) {
	h := newRegHarness(t, nil)
	invite := func(auth string) *sipmsg.Request {
		raw := "INVITE sip:12345@127.0.0.1 SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-inv-" + fmt.Sprint(len(auth)) + "\r\n" +
			"From: <sip:1001@127.0.0.1>;tag=a\r\nTo: <sip:12345@127.0.0.1>\r\n" +
			"Call-ID: inv1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
		if auth != "" {
			raw += "Proxy-Authorization: " + auth + "\r\n"
		}
		msg, err := sipmsg.ParseMessage([]byte(raw + "Content-Length: 0\r\n\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		req := msg.(*sipmsg.Request)
		req.SetSource("127.0.0.1:5070")
		return req
	}
	req := invite("")
	if _, res := h.r.Verify(req, true); res != AuthMissing {
		t.Fatalf("Verify %v", res)
	}
	res := handle(t, req, func(r *sipmsg.Request, tx sipmsg.ServerTransaction) { h.r.Challenge(r, tx, true) })
	wantCode(t, res, 407)
	if res.GetHeader("WWW-Authenticate") != nil {
		t.Fatal("407 with WWW-Authenticate")
	}
	auth := answerChallenge(t, res, "Proxy-Authenticate", "INVITE", regParams{uri: "sip:12345@127.0.0.1"}.withDefaults())
	if ext, r := h.r.Verify(invite(auth), true); ext != "1001" || r != AuthOK {
		t.Fatalf("Verify %q %v", ext, r)
	}
	if _, r := h.r.Verify(invite(auth), false); r != AuthMissing {
		t.Fatalf("Authorization check read Proxy-Authorization: %v", r)
	}
	var ext string
	var ok bool
	handleNone(t, invite(auth), func(r *sipmsg.Request, tx sipmsg.ServerTransaction) { ext, ok = h.r.Authenticate(r, tx, true) })
	if !ok || ext != "1001" {
		t.Fatalf("Authenticate %q %v", ext, ok)
	}
	h.clk.Add(10 * time.Minute)
	stale := handle(t, invite(auth), func(r *sipmsg.Request, tx sipmsg.ServerTransaction) { h.r.Challenge(r, tx, true) })
	if !strings.Contains(stale.GetHeader("Proxy-Authenticate").Value(), "stale=true") {
		t.Fatalf("Challenge after expiry without stale: %v", stale.GetHeader("Proxy-Authenticate"))
	}
}

// TestRegisterOverUDPWithSipgoClient runs the registrar behind a real sipgo
// server on 127.0.0.1:0 and registers with sipgo's own client and its digest
// support: interop over the wire, and the source address as the transport
// layer reports it.
func TestRegisterOverUDPWithSipgoClient(t *testing.T) {
	h := newRegHarness(t, func(c *RegistrarConfig) { c.Now = nil })
	srvUA, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srvUA.Close() })
	srv, err := sipgo.NewServer(srvUA)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnRegister(h.r.HandleRegister)
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.ServeUDP(conn) }()
	port := conn.LocalAddr().(*net.UDPAddr).Port

	cliUA, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cliUA.Close() })
	client, err := sipgo.NewClient(cliUA, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	req := sipmsg.NewRequest(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: "127.0.0.1", Port: port})
	req.AppendHeader(&sipmsg.ToHeader{Address: sipmsg.Uri{Scheme: "sip", User: "1002", Host: "127.0.0.1"}})
	from := &sipmsg.FromHeader{Address: sipmsg.Uri{Scheme: "sip", User: "1002", Host: "127.0.0.1"}, Params: sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: "1002", Host: "127.0.0.1", Port: 5999}})
	req.AppendHeader(sipmsg.NewHeader("Expires", "300"))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := client.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, res, 401)
	res, err = client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: "1002", Password: "demo-1002"})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, res, 200)
	reg := h.wantChange(true)
	if reg.Source.Addr() != netip.MustParseAddr("127.0.0.1") || reg.Source.Port() == 0 || reg.Transport != "udp" {
		t.Fatalf("registration %+v", reg)
	}
	if !h.r.HasSource(reg.Source) {
		t.Fatalf("HasSource(%v) false", reg.Source)
	}
}

// Test helpers.

// fakeClock is an injected clock the tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type change struct {
	reg        Registration
	registered bool
}

// regHarness drives a Registrar with parsed REGISTERs and recorded transactions.
type regHarness struct {
	t       *testing.T
	r       *Registrar
	clk     *fakeClock
	changes chan change
	cseq    int
}

var testPasswords = map[string]string{"1001": "demo-1001", "1002": "demo-1002"}

func newRegHarness(t *testing.T, mutate func(*RegistrarConfig)) *regHarness {
	t.Helper()
	h := &regHarness{
		t:       t,
		clk:     &fakeClock{t: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)},
		changes: make(chan change, 16),
	}
	cfg := RegistrarConfig{
		Realm:           "hotline",
		NonceTTL:        5 * time.Minute,
		MinExpires:      60 * time.Second,
		MaxExpires:      time.Hour,
		DefaultExpires:  30 * time.Minute,
		MaxAuthFailures: 3,
		Passwords: func(ext string) (string, bool) {
			pw, ok := testPasswords[ext]
			return pw, ok
		},
		Now:      h.clk.Now,
		OnChange: func(r Registration, reg bool) { h.changes <- change{r, reg} },
	}
	if mutate != nil {
		mutate(&cfg)
	}
	h.r = NewRegistrar(cfg)
	return h
}

// regParams describes one REGISTER; zero fields take defaults.
type regParams struct {
	ext       string // To user
	authUser  string // username in credentials (default ext)
	password  string // default the right one
	contacts  []string
	expires   string // Expires header; "" = default "600", "-" = none
	source    string // default 127.0.0.1:5070
	transport string // default UDP
	auth      string // Authorization header value, set by registerAuth
	extra     []string
	uri       string // digest uri; default the REGISTER's Request-URI sip:127.0.0.1
}

func (p regParams) withDefaults() regParams {
	if p.ext == "" {
		p.ext = "1001"
	}
	if p.authUser == "" {
		p.authUser = p.ext
	}
	if p.password == "" {
		p.password = testPasswords[p.authUser]
	}
	if p.contacts == nil {
		p.contacts = []string{"<sip:" + p.ext + "@127.0.0.1:5070;transport=udp>"}
	}
	if p.expires == "" {
		p.expires = "600"
	}
	if p.source == "" {
		p.source = "127.0.0.1:5070"
	}
	if p.transport == "" {
		p.transport = "UDP"
	}
	if p.uri == "" {
		p.uri = "sip:127.0.0.1"
	}
	return p
}

// request builds and parses a REGISTER as the transport layer would.
func (h *regHarness) request(p regParams) *sipmsg.Request {
	h.t.Helper()
	p = p.withDefaults()
	h.cseq++
	lines := []string{
		"REGISTER sip:127.0.0.1 SIP/2.0",
		fmt.Sprintf("Via: SIP/2.0/%s %s;branch=z9hG4bK-test-%d;rport", p.transport, p.source, h.cseq),
		"From: <sip:" + p.ext + "@127.0.0.1>;tag=from1",
		"To: <sip:" + p.ext + "@127.0.0.1>",
		"Call-ID: reg-" + p.ext + "@test",
		fmt.Sprintf("CSeq: %d REGISTER", h.cseq),
		"Max-Forwards: 70",
		"User-Agent: hotline-test",
	}
	for _, c := range p.contacts {
		lines = append(lines, "Contact: "+c)
	}
	if p.expires != "-" {
		lines = append(lines, "Expires: "+p.expires)
	}
	if p.auth != "" {
		lines = append(lines, "Authorization: "+p.auth)
	}
	lines = append(lines, p.extra...)
	lines = append(lines, "Content-Length: 0", "", "")
	msg, err := sipmsg.ParseMessage([]byte(strings.Join(lines, "\r\n")))
	if err != nil {
		h.t.Fatalf("parse REGISTER: %v", err)
	}
	req := msg.(*sipmsg.Request)
	req.SetSource(p.source)
	return req
}

// send runs HandleRegister and returns its only response.
func (h *regHarness) send(req *sipmsg.Request) *sipmsg.Response {
	h.t.Helper()
	return handle(h.t, req, h.r.HandleRegister)
}

// handle runs a handler on a recorded transaction and returns its only response.
func handle(t *testing.T, req *sipmsg.Request, f func(*sipmsg.Request, sipmsg.ServerTransaction)) *sipmsg.Response {
	t.Helper()
	tx := siptest.NewServerTxRecorder(req)
	t.Cleanup(tx.Terminate)
	f(req, tx)
	res := tx.Result()
	if len(res) != 1 {
		t.Fatalf("%s: want 1 response, got %d", req.Method, len(res))
	}
	return res[0]
}

// register sends p without credentials, expects the challenge, and answers it.
func (h *regHarness) register(p regParams) *sipmsg.Response {
	h.t.Helper()
	res := h.send(h.request(p))
	wantCode(h.t, res, 401)
	p.auth = answerChallenge(h.t, res, "WWW-Authenticate", "REGISTER", p.withDefaults())
	return h.send(h.request(p))
}

// answerChallenge computes credentials with github.com/icholy/digest (the
// library sipgo's own client uses), independent of our server code.
func answerChallenge(t *testing.T, res *sipmsg.Response, header, method string, p regParams) string {
	t.Helper()
	h := res.GetHeader(header)
	if h == nil {
		t.Fatalf("%d without %s", res.StatusCode, header)
	}
	chal, err := digest.ParseChallenge(h.Value())
	if err != nil {
		t.Fatalf("parse challenge %q: %v", h.Value(), err)
	}
	cred, err := digest.Digest(chal, digest.Options{
		Method: method, URI: p.uri, Username: p.authUser, Password: p.password,
	})
	if err != nil {
		t.Fatalf("digest: %v", err)
	}
	return cred.String()
}

func wantCode(t *testing.T, res *sipmsg.Response, code int) {
	t.Helper()
	if res.StatusCode != code {
		t.Fatalf("want %d, got %d %s", code, res.StatusCode, res.Reason)
	}
}

func (h *regHarness) wantChange(reg bool) Registration {
	h.t.Helper()
	select {
	case c := <-h.changes:
		if c.registered != reg {
			h.t.Fatalf("OnChange registered=%v, want %v (%+v)", c.registered, reg, c.reg)
		}
		return c.reg
	case <-time.After(5 * time.Second):
		h.t.Fatalf("no OnChange(registered=%v)", reg)
	}
	return Registration{}
}

func (h *regHarness) wantNoChange() {
	h.t.Helper()
	select {
	case c := <-h.changes:
		h.t.Fatalf("unexpected OnChange %+v", c)
	default:
	}
}

// handleNone runs a handler that must not answer.
func handleNone(t *testing.T, req *sipmsg.Request, f func(*sipmsg.Request, sipmsg.ServerTransaction)) {
	t.Helper()
	tx := siptest.NewServerTxRecorder(req)
	t.Cleanup(tx.Terminate)
	f(req, tx)
	if res := tx.Result(); len(res) != 0 {
		t.Fatalf("unexpected response %d", res[0].StatusCode)
	}
}

// TestFailureTableBounded: made-up usernames do not grow the failed-auth
// table past its cap; the oldest streak goes first.
func TestFailureTableBounded(t *testing.T) {
	h := newRegHarness(t, func(c *RegistrarConfig) { c.MaxAuthFailures = 100 })
	ip := netip.MustParseAddr("127.0.0.9")
	for i := range maxFailureEntries {
		h.r.noteFailure(fmt.Sprintf("x%d", i), ip)
		h.clk.Add(time.Millisecond)
	}
	if n := len(h.r.lock.strikes); n > maxFailureEntries {
		t.Fatalf("failure table has %d entries, cap %d", n, maxFailureEntries)
	}
	if _, ok := h.r.lock.strikes[failureKey{ext: "x0"}]; ok {
		t.Fatal("oldest streak kept past the cap")
	}
}
