package main

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/icholy/digest"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// rawPhone sends hand-made REGISTERs from one UDP socket, so a test controls
// every header an attacker could: the Contact, the digest uri, a replay.
type rawPhone struct {
	t    *testing.T
	c    *net.UDPConn
	e    *engine
	cseq int
}

func newRawPhone(t *testing.T, e *engine, ip string) *rawPhone {
	return &rawPhone{t: t, c: udpFrom(t, ip), e: e}
}

// request builds a REGISTER for ext with contact (host:port) and optional
// Authorization, with a fresh branch each time.
func (p *rawPhone) request(ext, contact, auth string) []byte {
	p.cseq++
	local := p.c.LocalAddr().String()
	var b strings.Builder
	fmt.Fprintf(&b, "REGISTER sip:%s SIP/2.0\r\n", p.e.target())
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;rport;branch=z9hG4bK-raw-%d-%d\r\n", local, time.Now().UnixNano(), p.cseq)
	fmt.Fprintf(&b, "From: <sip:%s@%s>;tag=raw%d\r\nTo: <sip:%s@%s>\r\n", ext, p.e.target(), p.cseq, ext, p.e.target())
	fmt.Fprintf(&b, "Call-ID: raw-%s-%s\r\nCSeq: %d REGISTER\r\nMax-Forwards: 70\r\n", ext, local, p.cseq)
	fmt.Fprintf(&b, "Contact: <sip:%s@%s>\r\nExpires: 600\r\n", ext, contact)
	if auth != "" {
		fmt.Fprintf(&b, "Authorization: %s\r\n", auth)
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return []byte(b.String())
}

// register runs the REGISTER exchange with password and returns the final
// reply and the Authorization it sent ("" when the first answer was final).
// uri is the digest uri ("" = the Request-URI, as a phone computes it).
func (p *rawPhone) register(ext, password, contact, uri string) (reply, auth string) {
	p.t.Helper()
	first := replyTo(p.t, p.c, p.e.SIP, p.request(ext, contact, ""))
	if !strings.HasPrefix(first, "SIP/2.0 401") {
		return first, ""
	}
	auth = p.answer(first, ext, password, uri, 1)
	return replyTo(p.t, p.c, p.e.SIP, p.request(ext, contact, auth)), auth
}

// answer computes credentials for the challenge in a 401 with nonce count nc.
func (p *rawPhone) answer(res, ext, password, uri string, nc int) string {
	p.t.Helper()
	var chal string
	for _, l := range strings.Split(res, "\r\n") {
		if v, ok := strings.CutPrefix(l, "WWW-Authenticate: "); ok {
			chal = v
		}
	}
	c, err := digest.ParseChallenge(chal)
	if err != nil {
		p.t.Fatalf("challenge in %q: %v", res, err)
	}
	if uri == "" {
		uri = "sip:" + p.e.target()
	}
	cred, err := digest.Digest(c, digest.Options{Method: "REGISTER", URI: uri, Username: ext, Password: password, Count: nc})
	if err != nil {
		p.t.Fatal(err)
	}
	return cred.String()
}

func statusOf(reply string) string {
	line, _, _ := strings.Cut(reply, "\r\n")
	return line
}

func wantStatus(t *testing.T, what, reply, prefix string) {
	t.Helper()
	if !strings.HasPrefix(reply, "SIP/2.0 "+prefix) {
		t.Errorf("%s: got %q, want %s", what, statusOf(reply), prefix)
	}
}

// agentRegistered reports the agents snapshot's "registered" for ext.
func agentRegistered(t *testing.T, e *engine, ext string) bool {
	t.Helper()
	var agents []struct {
		Extension  string `json:"extension"`
		Registered bool   `json:"registered"`
	}
	apiGet(t, e, "agents", &agents)
	for _, a := range agents {
		if a.Extension == ext {
			return a.Registered
		}
	}
	t.Fatalf("no agent %s", ext)
	return false
}

// TestSeatRegisterRefusedAtTrunkAddresses: toll fraud with stolen seat
// credentials. A REGISTER from the carrier's address, or whose Contact is
// the carrier (its ACL or its outbound address) or lies outside
// sip.seat_networks, gets 403 before any challenge and nothing is stored;
// the same credentials with a seat's own Contact register.
func TestSeatRegisterRefusedAtTrunkAddresses(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1, Outbound: "sip:127.0.0.1:5091"})
	fromCarrier := newRawPhone(t, e, carrierIP)
	wantStatus(t, "REGISTER from the carrier's address",
		replyTo(t, fromCarrier.c, e.SIP, fromCarrier.request("1001", carrierIP+":5070", "")), "403")
	seat := newRawPhone(t, e, "127.0.0.1")
	for _, tc := range []struct{ what, contact string }{
		{"Contact in the trunk ACL", carrierIP + ":5060"},
		{"Contact at the trunk's outbound address", "127.0.0.1:5091"},
		{"Contact outside seat_networks", "203.0.113.9:5060"},
		{"Contact a host name", "carrier.example.com"},
	} {
		reply, auth := seat.register("1001", "demo-1001", tc.contact, "")
		wantStatus(t, tc.what, reply, "403")
		if auth != "" {
			t.Errorf("%s: challenged before refused", tc.what)
		}
	}
	if agentRegistered(t, e, "1001") {
		t.Fatal("1001 registered by a refused REGISTER")
	}
	reply, _ := seat.register("1001", "demo-1001", seat.c.LocalAddr().String(), "")
	wantStatus(t, "REGISTER with the seat's own Contact", reply, "200")
	if !agentRegistered(t, e, "1001") {
		t.Fatal("1001 not registered")
	}
	if _, err := e.log.wait(`msg="REGISTER refused".*Contact is a trunk address`, 5*time.Second); err != nil {
		t.Error(err)
	}
}

// TestDigestReplayAndURI: a sniffed REGISTER replayed (with a new branch, as
// a replay would be) gets a stale challenge whether it comes from the same
// address (its nonce count is used) or from another one (its nonce is bound
// to the first); credentials computed for another URI get 400. None of it
// counts as a failure: the seat registers afterwards.
func TestDigestReplayAndURI(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1})
	phone := newRawPhone(t, e, "127.0.0.1")
	contact := phone.c.LocalAddr().String()
	reply, auth := phone.register("1001", "demo-1001", contact, "")
	wantStatus(t, "first REGISTER", reply, "200")
	again := replyTo(t, phone.c, e.SIP, phone.request("1001", contact, auth))
	wantStatus(t, "replayed from the same address", again, "401")
	if !strings.Contains(again, "stale=true") {
		t.Errorf("replay answered without stale=true: %q", again)
	}
	thief := newRawPhone(t, e, "127.0.0.3")
	stolen := replyTo(t, thief.c, e.SIP, thief.request("1001", contact, auth))
	wantStatus(t, "replayed from another address", stolen, "401")
	badURI, _ := phone.register("1001", "demo-1001", contact, "sip:10.1.1.1")
	wantStatus(t, "digest uri not the Request-URI", badURI, "400")
	for i := range 3 { // more than max_auth_failures (2): none was a failure
		reply, _ := phone.register("1001", "demo-1001", contact, "")
		wantStatus(t, fmt.Sprintf("REGISTER %d", i), reply, "200")
	}
}

// TestTwoLinesOneSourceStayApart: two lines of one desk phone (1001 and
// 1002 from one IP:port) are both registered; after 1002 unregisters, the
// phone's INVITE authenticated as 1001 is still 1001's (a *12 logs 1001
// out), not a stranger's.
func TestTwoLinesOneSourceStayApart(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 2})
	port := testpeer.FreeUDPPort(t)
	contact := fmt.Sprintf("127.0.0.1:%d", port)
	rows := map[string][]string{}
	register := func(ext, expires string) {
		t.Helper()
		rows[ext] = testpeer.RegistrationRow(ext, "demo-"+ext, contact)
		res := testpeer.RunSipp(t, testpeer.SippOptions{
			Scenario: testpeer.ScenarioPath(t, "register_auth.xml"), Target: e.target(), LocalPort: port,
			Calls: 1, InfFile: testpeer.WriteInf(t, [][]string{rows[ext]}), Timeout: 10 * time.Second,
			Vars: map[string]string{"expires": expires},
		})
		if res.ExitCode != 0 || res.Successful != 1 {
			t.Fatalf("register %s (expires %s): %s", ext, expires, res)
		}
	}
	register("1001", "600")
	register("1002", "600")
	if !agentRegistered(t, e, "1001") || !agentRegistered(t, e, "1002") {
		t.Fatal("the second line displaced the first")
	}
	register("1002", "0")
	if _, err := e.log.wait(`msg=registration seat=1002 registered=false`, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	agentStateIs(t, e, "1001", "ready")
	auth := testpeer.RunSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uac_seat_auth.xml"), Target: e.target(), LocalPort: port,
		Service: "*12", Calls: 1, InfFile: testpeer.WriteInf(t, [][]string{rows["1001"]}),
		TraceMessages: true, Timeout: 40 * time.Second,
		Extra: []string{"-auth_uri", "*12@" + e.target()}, // SIPp adds the "sip:"
	})
	if auth.ExitCode != 0 || auth.Successful != 1 {
		t.Fatalf("*12 as 1001: %s\n%s", auth, e.log.tail(30))
	}
	agentStateIs(t, e, "1001", "logged_out")
}
