package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// TestRequire420: an INVITE (and an OPTIONS) whose Require names an
// extension the engine lacks is answered 420 Bad Extension, with exactly the
// unsupported tags in Unsupported (RFC 3261 8.2.2.3); timer, which the
// engine implements, is not named.
func TestRequire420(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1})
	for _, tc := range []struct{ name, require, unsupported string }{
		{"100rel", "100rel", "100rel"},
		{"timer and an unknown tag", "timer, x-foo", "x-foo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := testpeer.RunSipp(t, testpeer.SippOptions{
				LocalIP:  carrierIP,
				Scenario: testpeer.ScenarioPath(t, "uac_require.xml"), Target: e.target(),
				Service: "12345", Calls: 1, TraceMessages: true, Timeout: 15 * time.Second,
				Vars: map[string]string{"require": tc.require},
			})
			if res.ExitCode != 0 || res.Successful != 1 {
				t.Fatalf("want two 420s\n%s", res)
			}
			if n := strings.Count(res.Messages, "Unsupported: "+tc.unsupported+"\r\n"); n != 2 {
				t.Fatalf("want 2 answers with Unsupported: %s, have %d\n%s", tc.unsupported, n, res)
			}
		})
	}
	if rs := e.records(); len(rs) != 0 {
		t.Fatalf("a refused INVITE made %d call records", len(rs))
	}
}

// TestUpdateInDialog: UPDATE (RFC 3311) outside a dialog gets 481; within
// the caller's dialog, one without a body gets 200, and one with SDP is an
// offer answered in its 200 like a re-INVITE's (hold, then resume). The
// caller then hangs up and the call ends normally.
func TestUpdateInDialog(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1, RTPTimeout: "0s"})
	peer := testpeer.NewRTPPeer(t)
	res := testpeer.RunSipp(t, testpeer.SippOptions{
		LocalIP:  carrierIP,
		Scenario: testpeer.ScenarioPath(t, "uac_update.xml"), Target: e.target(),
		Service: "12345", Calls: 1, TraceMessages: true, Timeout: 20 * time.Second,
		Vars: map[string]string{"media_port": strconv.Itoa(peer.Port()), "talk_ms": "300"},
	})
	if res.ExitCode != 0 || res.Successful != 1 {
		t.Fatalf("UPDATE flow failed\n%s", res)
	}
	rs := e.waitRecords(1, 10*time.Second)
	if r := rs[0]; r.EndReason != "abandoned" && r.EndReason != "answered" || r.HangupBy != "caller" {
		t.Fatalf("record: end_reason %q hangup_by %q", r.EndReason, r.HangupBy)
	}
}
