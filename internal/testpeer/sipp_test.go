package testpeer

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func requireSuccess(t *testing.T, r SippResult, calls int) {
	t.Helper()
	if r.ExitCode != 0 || r.Successful != calls || r.Failed != 0 {
		t.Fatalf("want %d successful calls, got %s", calls, r)
	}
}

// uac_call against uas_answer with -rtp_echo: the Go RTPPeer is the caller's
// media; a tone sent to SIPp's media port comes back, and the UAC hangs up
// after hold_ms.
func TestUACCallAgainstUASAnswerWithEcho(t *testing.T) {
	t.Parallel()
	uas := StartSipp(t, SippOptions{Scenario: ScenarioPath(t, "uas_answer.xml"), RTPEcho: true, Calls: 1, Timeout: 10 * time.Second})
	peer := NewRTPPeer(t)
	echo := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(uas.MediaPort))
	peer.SendTone(echo, PTPCMU, 1000, 600*time.Millisecond)

	r := RunSipp(t, SippOptions{
		Scenario: ScenarioPath(t, "uac_call.xml"), Target: uas.Addr, Service: "12345", Calls: 1,
		Vars:    map[string]string{"media_port": strconv.Itoa(peer.Port()), "hold_ms": "800"},
		Timeout: 10 * time.Second,
	})
	requireSuccess(t, r, 1)
	requireSuccess(t, uas.Wait(), 1)
	if err := peer.WaitPackets(25, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := peer.Received(); !HasTone(got, 1000) {
		t.Fatalf("echoed audio has no 1 kHz tone (level %.2f, rms %.0f)", ToneLevel(got, 1000), RMS(got))
	}
	if r.Duration > 5*time.Second {
		t.Fatalf("uac_call took %v with hold_ms 800", r.Duration)
	}
}

// uac_call ends successfully when the far end hangs up first.
func TestUACCallFarEndHangsUp(t *testing.T) {
	t.Parallel()
	for _, tr := range []string{"u1", "t1"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			uas := StartSipp(t, SippOptions{Scenario: ScenarioPath(t, "uas_hangup.xml"), Transport: tr,
				Calls: 2, Vars: map[string]string{"hold_ms": "300"}, Timeout: 10 * time.Second})
			start := time.Now()
			r := RunSipp(t, SippOptions{Scenario: ScenarioPath(t, "uac_call.xml"), Target: uas.Addr,
				Transport: tr, Service: "12345", Calls: 2, Limit: 2, Timeout: 10 * time.Second})
			requireSuccess(t, r, 2)
			requireSuccess(t, uas.Wait(), 2)
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("far-end BYE did not end the calls promptly: %v", d)
			}
		})
	}
}

// The caller's BYE before the far end's also ends uas_hangup successfully.
func TestUASHangupAcceptsCallerBye(t *testing.T) {
	t.Parallel()
	uas := StartSipp(t, SippOptions{Scenario: ScenarioPath(t, "uas_hangup.xml"), Calls: 1,
		Vars: map[string]string{"hold_ms": "5000"}, Timeout: 10 * time.Second})
	r := RunSipp(t, SippOptions{Scenario: ScenarioPath(t, "uac_call.xml"), Target: uas.Addr,
		Service: "12345", Calls: 1, Vars: map[string]string{"hold_ms": "200"}, Timeout: 10 * time.Second})
	requireSuccess(t, r, 1)
	requireSuccess(t, uas.Wait(), 1)
}

// uas_callee answers with media at the given port (a Go RTPPeer hears what
// the caller sends there) and hangs up after hold_ms.
func TestUASCalleeMediaAtPeer(t *testing.T) {
	t.Parallel()
	peer, uas := calleeAtPeer(t)
	r := RunSipp(t, SippOptions{Scenario: ScenarioPath(t, "uac_load.xml"), Target: uas.Addr,
		Service: "13800138000", Calls: 1, Vars: map[string]string{"hold_ms": "5000"}, Timeout: 10 * time.Second})
	requireSuccess(t, r, 1)
	requireSuccess(t, uas.Wait(), 1)
	if n := len(peer.Packets()); n == 0 {
		t.Fatal("no RTP reached the port in uas_callee's answer")
	}
}

func TestUACExpectRejectReportsCodes(t *testing.T) {
	t.Parallel()
	for _, code := range []int{403, 404, 486, 503} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			t.Parallel()
			f := startFakeSIP(t, nil, rejectWith(code))
			r := RunSipp(t, SippOptions{Scenario: ScenarioPath(t, "uac_expect_reject.xml"), Target: f.Addr,
				Service: "99999", Calls: 2, TraceMessages: true, Timeout: 10 * time.Second})
			requireSuccess(t, r, 2)
			if got := r.FinalCodes(); !slices.Equal(got, []int{code, code}) {
				t.Fatalf("final codes %v, want [%d %d]", got, code, code)
			}
			if n := strings.Count(r.Log, fmt.Sprintf(" %d\n", code)); n != 2 {
				t.Fatalf("log has %d FINAL lines for %d:\n%s", n, code, r.Log)
			}
		})
	}
}

func TestUACExpectRejectFailsOnAnswer(t *testing.T) {
	t.Parallel()
	uas := StartSipp(t, SippOptions{Scenario: ScenarioPath(t, "uas_answer.xml"), Calls: 1, Timeout: 5 * time.Second})
	r := RunSipp(t, SippOptions{Scenario: ScenarioPath(t, "uac_expect_reject.xml"), Target: uas.Addr,
		Service: "12345", Calls: 1, Timeout: 5 * time.Second})
	if r.ExitCode == 0 || r.Failed != 1 {
		t.Fatalf("a 200 must fail uac_expect_reject: %s", r)
	}
}

func TestUACNoCodecExpects488(t *testing.T) {
	t.Parallel()
	f := startFakeSIP(t, nil, rejectNoCodec)
	r := RunSipp(t, SippOptions{Scenario: ScenarioPath(t, "uac_nocodec.xml"), Target: f.Addr,
		Service: "12345", Calls: 1, TraceMessages: true, Timeout: 10 * time.Second})
	requireSuccess(t, r, 1)
	if got := r.FinalCodes(); !slices.Equal(got, []int{488}) {
		t.Fatalf("final codes %v", got)
	}
	// The same fake answers a G.711 offer with 486, which uac_nocodec refuses.
	bad := RunSipp(t, SippOptions{Scenario: ScenarioPath(t, "uac_expect_reject.xml"), Target: f.Addr,
		Service: "12345", Calls: 1, TraceMessages: true, Timeout: 10 * time.Second})
	if got := bad.FinalCodes(); !slices.Equal(got, []int{486}) {
		t.Fatalf("G.711 offer: final codes %v", got)
	}
}

func TestUACCancel(t *testing.T) {
	t.Parallel()
	f := startFakeSIP(t, nil, ringForever)
	r := RunSipp(t, SippOptions{Scenario: ScenarioPath(t, "uac_cancel.xml"), Target: f.Addr,
		Service: "12345", Calls: 2, TraceMessages: true, Timeout: 10 * time.Second})
	requireSuccess(t, r, 2)
	if got := r.FinalCodes(); !slices.Equal(got, []int{487, 487}) {
		t.Fatalf("final codes %v, want 487s", got)
	}
}

func TestRegisterAuthAndUnregister(t *testing.T) {
	t.Parallel()
	users := map[string]string{"1001": "demo-1001", "1002": "demo-1002", "1003": "demo-1003"}
	f := startFakeSIP(t, users, nil)
	rows := [][]string{
		RegistrationRow("1001", "demo-1001", "127.0.0.1:7001"),
		RegistrationRow("1002", "demo-1002", "127.0.0.1:7002"),
		RegistrationRow("1003", "demo-1003", "127.0.0.1:7003"),
	}
	inf := WriteInf(t, rows)
	r := RunSipp(t, SippOptions{Scenario: ScenarioPath(t, "register_auth.xml"), Target: f.Addr,
		InfFile: inf, Calls: 3, TraceMessages: true, Timeout: 10 * time.Second})
	requireSuccess(t, r, 3)
	for _, row := range rows {
		c, ok := f.Binding(row[0])
		if want := "sip:" + row[0] + "@" + row[2]; !ok || c != want {
			t.Fatalf("binding of %s = %q, want %q", row[0], c, want)
		}
	}
	r = RunSipp(t, SippOptions{Scenario: ScenarioPath(t, "unregister.xml"), Target: f.Addr,
		InfFile: inf, Calls: 3, Timeout: 10 * time.Second})
	requireSuccess(t, r, 3)
	for _, row := range rows {
		if c, ok := f.Binding(row[0]); ok {
			t.Fatalf("%s still bound to %s after unregister", row[0], c)
		}
	}
}

func TestRegisterWrongEndsIn403(t *testing.T) {
	t.Parallel()
	f := startFakeSIP(t, map[string]string{"1001": "demo-1001"}, nil)
	inf := WriteInf(t, [][]string{RegistrationRow("1001", "demo-1001", "127.0.0.1:7001")})
	r := RunSipp(t, SippOptions{Scenario: ScenarioPath(t, "register_wrong.xml"), Target: f.Addr,
		InfFile: inf, Calls: 1, TraceMessages: true, Timeout: 10 * time.Second})
	requireSuccess(t, r, 1)
	if _, ok := f.Binding("1001"); ok {
		t.Fatal("wrong password registered")
	}
	if n := strings.Count(r.Messages, "SIP/2.0 401"); n != 3 {
		t.Fatalf("want 3 challenges before the 403, saw %d", n)
	}
	// register_auth with the wrong password must fail.
	bad := WriteInf(t, [][]string{RegistrationRow("1001", "nope", "127.0.0.1:7001")})
	r = RunSipp(t, SippOptions{Scenario: ScenarioPath(t, "register_auth.xml"), Target: f.Addr,
		InfFile: bad, Calls: 1, Timeout: 5 * time.Second})
	if r.ExitCode == 0 || r.Failed != 1 {
		t.Fatalf("register_auth with a wrong password: %s", r)
	}
}

func TestUACLoadWithPcapMedia(t *testing.T) {
	t.Parallel()
	uas := StartSipp(t, SippOptions{Scenario: ScenarioPath(t, "uas_answer.xml"), RTPEcho: true,
		Vars: map[string]string{"codec": "8"}, Calls: 4, Timeout: 15 * time.Second})
	r := RunSipp(t, SippOptions{Scenario: ScenarioPath(t, "uac_load.xml"), Target: uas.Addr,
		Service: "12345", Calls: 4, Rate: 20, Limit: 4, Vars: map[string]string{"hold_ms": "1000"}, BufferSize: 1 << 20,
		Timeout: 15 * time.Second})
	requireSuccess(t, r, 4)
	requireSuccess(t, uas.Wait(), 4)
}

// uac_dtmf presses 1 as RFC 4733 events at the far end's media (a Go
// RTPPeer behind uas_callee), then waits for the far end's BYE (from a
// number of its own per call: caller_per_call).
func TestUACDTMFPressesOne(t *testing.T) {
	t.Parallel()
	peer, uas := calleeAtPeer(t)
	r := RunSipp(t, SippOptions{Scenario: ScenarioPath(t, "uac_dtmf.xml"), Target: uas.Addr,
		Service: "12345", Calls: 1, Vars: map[string]string{"dtmf_after_ms": "200", "caller_per_call": "1"},
		Timeout: 10 * time.Second})
	requireSuccess(t, r, 1)
	requireSuccess(t, uas.Wait(), 1)
	if got := peer.Digits(); got != "1" {
		t.Fatalf("digits received %q, want \"1\"", got)
	}
}

func TestSippStopEndsIdleUAS(t *testing.T) {
	t.Parallel()
	// A relative scenario path works although SIPp runs in its trace folder.
	uas := StartSipp(t, SippOptions{Scenario: "../../testdata/sipp/uas_answer.xml", Timeout: 30 * time.Second})
	if !portBound(uas.Port, false) {
		t.Fatal("StartSipp returned before the port was bound")
	}
	start := time.Now()
	uas.Stop()
	r := uas.Wait()
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Stop took %v", d)
	}
	if r.Successful != 0 || r.Failed != 0 {
		t.Fatalf("idle UAS: %s", r)
	}
}

func TestRunSippKillsPastTimeout(t *testing.T) {
	t.Parallel()
	// A UAC whose far end never answers: SIPp's own -timeout ends it.
	f := startFakeSIP(t, nil, ringForever)
	r := RunSipp(t, SippOptions{Scenario: ScenarioPath(t, "uac_call.xml"), Target: f.Addr,
		Service: "12345", Calls: 1, Timeout: 1500 * time.Millisecond})
	if r.ExitCode == 0 || r.Duration > 1500*time.Millisecond+killGrace+time.Second {
		t.Fatalf("want a failed, bounded run: %s", r)
	}
}

func TestFinalStatusCodesParsesTrace(t *testing.T) {
	t.Parallel()
	msg := func(dir, first, callID, cseq string) string {
		return "----------------------------------------------- 2026-01-01 00:00:00.000000\n" +
			"UDP message " + dir + " [100] bytes :\n\n" + first + "\r\nVia: x\r\nCall-ID: " + callID +
			"\r\nCSeq: " + cseq + "\r\nContent-Length: 0\r\n\r\n\n"
	}
	trace := msg("sent", "INVITE sip:1@h SIP/2.0", "a", "1 INVITE") +
		msg("received", "SIP/2.0 100 Trying", "a", "1 INVITE") +
		msg("received", "SIP/2.0 404 Not Found", "a", "1 INVITE") +
		msg("received", "SIP/2.0 200 OK", "b", "1 INVITE") +
		msg("received", "SIP/2.0 200 OK", "b", "2 BYE") +
		msg("received", "SIP/2.0 487 Request Terminated", "c", "1 INVITE") +
		msg("received", "SIP/2.0 487 Request Terminated", "c", "1 INVITE")
	if got := FinalStatusCodes(trace); !slices.Equal(got, []int{404, 200, 487}) {
		t.Fatalf("got %v", got)
	}
}

func TestParseStatCSV(t *testing.T) {
	t.Parallel()
	text := "A;SuccessfulCall(P);SuccessfulCall(C);FailedCall(C);\nx;1;2;3;\nx;0;5;1;\n"
	got := parseStatCSV(text)
	if got["SuccessfulCall"] != 5 || got["FailedCall"] != 1 {
		t.Fatalf("got %v", got)
	}
}

// calleeAtPeer starts uas_callee for one call, its media at a Go RTPPeer,
// hanging up 1.5 s after it answers.
func calleeAtPeer(t *testing.T) (*RTPPeer, *SippProc) {
	t.Helper()
	peer := NewRTPPeer(t)
	uas := StartSipp(t, SippOptions{Scenario: ScenarioPath(t, "uas_callee.xml"), Calls: 1,
		Vars: map[string]string{"media_port": strconv.Itoa(peer.Port()), "hold_ms": "1500"}, Timeout: 10 * time.Second})
	return peer, uas
}
