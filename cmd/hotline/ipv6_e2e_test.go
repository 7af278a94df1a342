package main

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// TestIPv6Call: an engine listening for SIP on [::1] with rtp.address6 ::1
// beside its IPv4 rtp.address: a carrier calls over IPv6 with its media on
// IPv6 (c=IN IP6 ::1); the 200's answer puts our media on ::1 too, and the
// welcome prompt's RTP reaches the caller there.
func TestIPv6Call(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1, SIPAddress: `"[::1]:0"`, RTPExtra: "  address6: \"::1\"\n",
		TrunkACL: `"::1/128"`})
	if !e.SIP.Addr().Is6() {
		t.Fatalf("engine listens on %v", e.SIP)
	}
	peer := testpeer.NewRTPPeerOn(t, netip.IPv6Loopback())
	res := testpeer.RunSipp(t, testpeer.SippOptions{
		LocalIP: "::1", Scenario: testpeer.ScenarioPath(t, "uac_call.xml"), Target: e.target(),
		Service: "12345", Calls: 1, TraceMessages: true, Timeout: 20 * time.Second,
		Vars:  map[string]string{"media_port": strconv.Itoa(peer.Port()), "hold_ms": "3000", "codecs": "8"},
		Extra: []string{"-mi", "::1"},
	})
	if res.ExitCode != 0 || res.Successful != 1 {
		t.Fatalf("IPv6 caller: %s\n%s", res, e.log.tail(30))
	}
	sdp := answerSDP(res.Messages)
	if !strings.Contains(strings.Join(sdp, "\n"), "c=IN IP6 ::1") {
		t.Fatalf("the answer's media is not on ::1:\n%s", strings.Join(sdp, "\n"))
	}
	if err := peer.WaitPackets(25, 5*time.Second); err != nil {
		t.Fatalf("no RTP reached the caller on ::1: %v", err)
	}
	if src := peer.Source(); !src.Addr().Is6() {
		t.Errorf("RTP came from %v", src)
	}
	if r := e.waitRecords(1, 10*time.Second)[0]; r.EndReason == "media_address_family" || r.HangupBy != "caller" {
		t.Errorf("record: end_reason %q hangup_by %q", r.EndReason, r.HangupBy)
	}
}

// TestIPv6LateOffer: an INVITE without SDP over IPv6 gets our offer on
// IPv6 (c=IN IP6 ::1, rtp.address6), the ACK's IPv6 answer is taken, and
// the caller's tone and the engine's prompt flow on ::1.
func TestIPv6LateOffer(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1, SIPAddress: `"[::1]:0"`, RTPExtra: "  address6: \"::1\"\n",
		TrunkACL: `"::1/128"`})
	peer := testpeer.NewRTPPeerOn(t, netip.IPv6Loopback())
	talk := 3 * time.Second
	p := testpeer.StartSipp(t, testpeer.SippOptions{
		LocalIP: "::1", Scenario: testpeer.ScenarioPath(t, "uac_late_offer.xml"), Target: e.target(),
		Service: "12345", Calls: 1, TraceMessages: true, Timeout: 2*talk + 30*time.Second,
		Vars: map[string]string{"media_port": strconv.Itoa(peer.Port()), "talk_ms": strconv.Itoa(int(talk.Milliseconds())),
			"codec": "8", "reanswer_codec": "8"},
		Extra: []string{"-mi", "::1"},
	})
	peer.SendTone(netip.AddrPort{}, 8, 1000, 2*talk+2*time.Second)
	res := p.Wait()
	if res.ExitCode != 0 || res.Successful != 1 {
		t.Fatalf("IPv6 late-offer caller: %s\n%s", res, e.log.tail(30))
	}
	if !strings.Contains(res.Messages, "c=IN IP6 ::1") || strings.Contains(res.Messages, "c=IN IP4 127.0.0.1") {
		t.Errorf("the engine's offers were not on ::1")
	}
	if err := peer.WaitPackets(25, 5*time.Second); err != nil {
		t.Fatalf("no RTP reached the caller on ::1: %v", err)
	}
	if r := e.waitRecords(1, 10*time.Second)[0]; r.EndReason == "no_sdp_answer" || r.EndReason == "media_address_family" {
		t.Errorf("record: end_reason %q", r.EndReason)
	}
}
