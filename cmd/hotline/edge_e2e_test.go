package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// TestRegister: digest registration with SIPp as the phone: the right
// password registers (401 then 200); a wrong one gets 401 and then 403; the
// registration shows in the agents snapshot.
func TestRegister(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 2})
	ok := testpeer.RunSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "register_auth.xml"), Target: e.target(), Calls: 1,
		InfFile:       testpeer.WriteInf(t, [][]string{testpeer.RegistrationRow("1001", "demo-1001", "127.0.0.1:7999")}),
		TraceMessages: true, Timeout: 10 * time.Second,
	})
	if ok.ExitCode != 0 || ok.Successful != 1 {
		t.Fatalf("register: %s", ok)
	}
	body := httpGet(t, "http://"+e.HTTP+"/api/v1/agents")
	if !strings.Contains(body, `"extension":"1001"`) || !strings.Contains(body, `127.0.0.1:7999`) {
		t.Errorf("agents snapshot lacks the registration: %s", body)
	}
	bad := testpeer.RunSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "register_wrong.xml"), Target: e.target(), Calls: 1,
		InfFile:       testpeer.WriteInf(t, [][]string{testpeer.RegistrationRow("1002", "demo-1002", "127.0.0.1:7998")}),
		TraceMessages: true, Timeout: 10 * time.Second,
	})
	// register_wrong.xml itself requires 401 first and 403 in the end.
	if bad.ExitCode != 0 || bad.Successful != 1 {
		t.Fatalf("wrong password: %s", bad)
	}
	if !strings.Contains(bad.Messages, "SIP/2.0 401") || !strings.Contains(bad.Messages, "SIP/2.0 403") {
		t.Errorf("wrong password: want 401 then 403 in the trace")
	}
}

// TestStrangerRefused: an INVITE from an address that is neither in a trunk
// ACL nor a registered seat gets 403, over UDP and TCP.
func TestStrangerRefused(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1, TrunkACL: "127.0.0.2/32"})
	for _, tr := range []string{"u1", "t1"} {
		res := testpeer.RunSipp(t, testpeer.SippOptions{
			LocalIP:  carrierIP,
			Scenario: testpeer.ScenarioPath(t, "uac_expect_reject.xml"), Target: e.target(), Transport: tr,
			Service: "12345", Calls: 1, TraceMessages: true, Timeout: 10 * time.Second,
		})
		if codes := res.FinalCodes(); len(codes) == 0 || codes[len(codes)-1] != 403 {
			t.Errorf("%s: want 403, got %v\n%s", tr, codes, res)
		}
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(res.Body)
	return b.String()
}

// TestRTPTimeout: a caller whose RTP stops (here: never starts) is hung up
// after the configured timeout with that reason, and SIPp gets our BYE.
func TestRTPTimeout(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1, RTPTimeout: "2s"})
	p := testpeer.StartSipp(t, testpeer.SippOptions{
		LocalIP:  carrierIP,
		Scenario: testpeer.ScenarioPath(t, "uac_call.xml"), Target: e.target(), Service: "12345",
		Calls: 1, Timeout: 30 * time.Second,
	})
	res := p.Wait()
	if res.ExitCode != 0 {
		t.Fatalf("sipp: %s", res)
	}
	r := e.waitRecords(1, 10*time.Second)[0]
	if r.EndReason != "rtp_timeout" || r.HangupBy != "system" {
		t.Fatalf("record: end_reason %q hangup_by %q", r.EndReason, r.HangupBy)
	}
}

// TestDTMF: a digit sent as RFC 4733 by the caller during the greeting, and
// one sent as SIP INFO, are both detected and recorded.
func TestDTMF(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1})
	p, peer := e.caller(t, "12345", "0 8", 6*time.Second)
	if err := peer.WaitPackets(5, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	peer.SendDTMF(netip.AddrPort{}, 101, '5')
	if _, err := e.log.wait(`msg=dtmf .*digit=5 via=rfc4733`, 5*time.Second); err != nil {
		t.Fatalf("RFC 4733 digit not detected: %v\n%s", err, e.log.tail(30))
	}
	if res := p.Wait(); res.ExitCode != 0 {
		t.Fatalf("sipp: %s", res)
	}
	info := testpeer.RunSipp(t, testpeer.SippOptions{
		LocalIP:  carrierIP,
		Scenario: filepath.Join(repoDir(t), "testdata", "sipp", "uac_info_dtmf.xml"),
		Target:   e.target(), Service: "12345", Calls: 1, Timeout: 20 * time.Second,
		Vars: map[string]string{"digit": "7"},
	})
	if info.ExitCode != 0 {
		t.Fatalf("sipp INFO: %s", info)
	}
	recs := e.waitRecords(2, 10*time.Second)
	got := map[string]bool{}
	for _, r := range recs {
		got[strings.Join(r.DTMF, "")] = true
	}
	if !got["5"] || !got["7"] {
		t.Fatalf("records' dtmf: %v, want a call with 5 and one with 7", got)
	}
}

// TestShutdownDrains: SIGTERM makes the engine refuse new calls with 503
// while a live call goes on; when the grace runs out the call is ended with
// reason shutdown, its record written, and the process exits 0.
func TestShutdownDrains(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1, Grace: "3s"})
	p, peer := e.caller(t, "12345", "0", 60*time.Second)
	if err := peer.WaitPackets(5, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	e.signal(syscall.SIGTERM)
	if _, err := e.log.wait(`msg="draining`, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if res, err := http.Get("http://" + e.HTTP + "/healthz"); err != nil {
		t.Errorf("healthz while draining: %v", err)
	} else {
		res.Body.Close()
		if res.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("healthz while draining: %d, want 503", res.StatusCode)
		}
	}
	rej := testpeer.RunSipp(t, testpeer.SippOptions{
		LocalIP:  carrierIP,
		Scenario: testpeer.ScenarioPath(t, "uac_expect_reject.xml"), Target: e.target(),
		Service: "12345", Calls: 1, TraceMessages: true, Timeout: 10 * time.Second,
	})
	if codes := rej.FinalCodes(); len(codes) == 0 || codes[len(codes)-1] != 503 {
		t.Errorf("new call while draining: codes %v, want 503", codes)
	}
	if code := e.waitExit(20 * time.Second); code != 0 {
		t.Fatalf("exit code %d\n%s", code, e.log.tail(30))
	}
	if res := p.Wait(); res.ExitCode != 0 {
		t.Errorf("live call: %s", res)
	}
	var found bool
	for _, r := range e.records() {
		if r.EndReason == "shutdown" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no record with end_reason shutdown")
	}
}

// TestSeatInviteChallenged: seats are authenticated, not guessed. Two lines
// of one desk phone (1001 and 1002) register from one IP:port. A spoofed
// *12 INVITE from that address without credentials gets 407 and logs nobody
// out; with 1002's credentials it logs out 1002 only (the user and the
// source together name the seat), and 1001 stays ready.
func TestSeatInviteChallenged(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 2})
	port := testpeer.FreeUDPPort(t)
	contact := fmt.Sprintf("127.0.0.1:%d", port)
	rows := map[string][]string{}
	for _, ext := range []string{"1001", "1002"} {
		rows[ext] = testpeer.RegistrationRow(ext, "demo-"+ext, contact)
		reg := testpeer.RunSipp(t, testpeer.SippOptions{
			Scenario: testpeer.ScenarioPath(t, "register_auth.xml"), Target: e.target(), LocalPort: port,
			Calls: 1, InfFile: testpeer.WriteInf(t, [][]string{rows[ext]}), Timeout: 10 * time.Second,
		})
		if reg.ExitCode != 0 || reg.Successful != 1 {
			t.Fatalf("register %s: %s", ext, reg)
		}
		agentStateIs(t, e, ext, "ready")
	}
	spoof := testpeer.RunSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uac_expect_reject.xml"), Target: e.target(), LocalPort: port,
		Service: "*12", Calls: 1, TraceMessages: true, Timeout: 10 * time.Second,
		Vars: map[string]string{"caller": "1001"},
	})
	if codes := spoof.FinalCodes(); len(codes) == 0 || codes[len(codes)-1] != 407 {
		t.Fatalf("spoofed *12: want 407, got %v\n%s", codes, spoof)
	}
	if !strings.Contains(spoof.Messages, "Proxy-Authenticate: Digest") {
		t.Errorf("407 without a Proxy-Authenticate digest challenge")
	}
	agentStateIs(t, e, "1001", "ready")
	agentStateIs(t, e, "1002", "ready")
	auth := testpeer.RunSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uac_seat_auth.xml"), Target: e.target(), LocalPort: port,
		Service: "*12", Calls: 1, InfFile: testpeer.WriteInf(t, [][]string{rows["1002"]}),
		TraceMessages: true, Timeout: 40 * time.Second,
		// SIPp's digest uri is sip:HOST:PORT unless told; ours must be the
		// Request-URI (RFC 3261 section 22.4).
		Extra: []string{"-auth_uri", "*12@" + e.target()}, // SIPp adds the "sip:"
	})
	if auth.ExitCode != 0 || auth.Successful != 1 {
		t.Fatalf("*12 with 1002's credentials: %s\n%s", auth, e.log.tail(30))
	}
	agentStateIs(t, e, "1002", "logged_out")
	agentStateIs(t, e, "1001", "ready")
}
