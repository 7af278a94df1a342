package main

import (
	"net/netip"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// TestVanishingSeats: three seats whose phones vanish, one each way, and
// one caller who is moved on each time and never hears silence for long:
//   - 1001's phone is gone before the call (its contact port is closed):
//     the INVITE gets no response at all; at the ring timeout (5 s) and 8 s
//     more (the grace a live phone has to answer our CANCEL) it counts as
//     unreachable, not as a ring-out of 32 s (sipgo's Timer B);
//   - 1002's phone rings (180) and is killed: the ring timeout's CANCEL
//     gets no answer, so after 8 s more the seat is unreachable;
//   - 1003 answers and is killed mid-call: its media stops, the call ends
//     rtp_timeout.
//
// Each of the three ends logged out with reason unreachable (a phone that
// comes back logs in again by registering); the record names 1001 and 1002
// as missed and 1003 as the agent.
func TestVanishingSeats(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 3, RTPTimeout: "3s", RingTimeout: "5s"})
	gone := "127.0.0.1:" + strconv.Itoa(testpeer.FreeUDPPort(t))
	ringing := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_noanswer.xml"), Calls: 1, Timeout: 90 * time.Second,
	})
	answering := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_answer.xml"), Calls: 1, RTPEcho: true, Timeout: 90 * time.Second,
	})
	// Registered in this order, the seats are offered the call in it.
	registerSeatRange(t, e, 1001, 1, gone, 200, 50)
	registerSeatRange(t, e, 1002, 1, ringing.Addr, 200, 50)
	registerSeatRange(t, e, 1003, 1, answering.Addr, 200, 50)

	const hold = 60 * time.Second
	caller, peer := e.caller(t, "12345", "0", hold)
	peer.SendTone(netip.AddrPort{}, 0, 1000, hold) // 1003 echoes it while it lives

	waitUntil(t, "1002 ringing", 30*time.Second, func() bool { return agentOf(t, e, "1002").State == "ringing" })
	ringing.Kill()
	waitUntil(t, "1003 on the call", 30*time.Second, func() bool { return agentOf(t, e, "1003").State == "on_call" })
	answering.Kill()

	if res := caller.Wait(); res.Successful+res.Failed != 1 {
		t.Fatalf("caller: %s\n%s", res, e.log.tail(40))
	}
	r := e.waitRecords(1, 20*time.Second)[0]
	if r.EndReason != "rtp_timeout" || r.Agent != "1003" {
		t.Errorf("record: end_reason %q agent %q, want rtp_timeout with 1003", r.EndReason, r.Agent)
	}
	if !slices.Equal(r.SeatsRung, []string{"1001", "1002", "1003"}) || !slices.Equal(r.SeatsMissed, []string{"1001", "1002"}) {
		t.Errorf("seats_rung %v seats_missed %v, want [1001 1002 1003] and [1001 1002]", r.SeatsRung, r.SeatsMissed)
	}
	for _, ext := range []string{"1001", "1002", "1003"} {
		if a := agentOf(t, e, ext); a.State != "logged_out" || a.Reason != "unreachable" {
			t.Errorf("seat %s is %s (%q), want logged_out (unreachable)", ext, a.State, a.Reason)
		}
	}
}

// agentOf is ext's row of the agents snapshot.
func agentOf(t *testing.T, e *engine, ext string) agentRow {
	t.Helper()
	var rows []agentRow
	apiGet(t, e, "agents", &rows)
	for _, r := range rows {
		if r.Ext == ext {
			return r
		}
	}
	t.Fatalf("no agent %s in the snapshot", ext)
	return agentRow{}
}
