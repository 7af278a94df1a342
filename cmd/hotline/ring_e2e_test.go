package main

import (
	"encoding/json"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// TestRingingSeatMovesOn: a seat whose phone rings and never answers (SIPp
// answering 180 and never 200) is given up after sip.seat_ring_timeout, and
// the caller is offered to the next seat, which answers; the miss is
// counted. The RTP timeout (3 s) is shorter than the ring timeout (6 s): a
// ringing phone sends no RTP, and its leg's RTP timeout must count from its
// answer, not end the caller's call (the bug: end_reason rtp_timeout,
// seats_rung [1001]).
func TestRingingSeatMovesOn(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 2, RTPTimeout: "3s", RingTimeout: "6s"})
	deaf := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_noanswer.xml"), Calls: 1, Timeout: 60 * time.Second,
	})
	answering := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_answer.xml"), Calls: 1, RTPEcho: true, Timeout: 60 * time.Second,
	})
	// 1001 registers first: idle longest, it is offered the call first.
	registerSeatRange(t, e, 1001, 1, deaf.Addr, 200, 50)
	registerSeatRange(t, e, 1002, 1, answering.Addr, 200, 50)

	// welcome (about 5 s) + 6 s ringing 1001 + a few seconds talking to 1002
	const hold = 20 * time.Second
	caller, peer := e.caller(t, "12345", "0", hold)
	// The caller speaks for the whole call; seat 1002 echoes it back.
	peer.SendTone(netip.AddrPort{}, 0, 1000, hold)
	if _, err := e.log.wait(`msg=bridged .*agent=1002`, hold); err != nil {
		t.Fatalf("caller not bridged to 1002: %v\n%s", err, e.log.tail(40))
	}
	if res := caller.Wait(); res.ExitCode != 0 || res.Successful != 1 {
		t.Fatalf("caller: %s\n%s", res, e.log.tail(40))
	}
	if res := deaf.Wait(); res.Successful != 1 {
		t.Errorf("ringing seat was not cancelled: %s", res)
	}
	r := e.waitRecords(1, 10*time.Second)[0]
	if r.EndReason != "answered" || r.Agent != "1002" || r.HangupBy != "caller" {
		t.Errorf("record: end_reason %q agent %q hangup_by %q, want answered by 1002, hung up by the caller",
			r.EndReason, r.Agent, r.HangupBy)
	}
	if !slices.Equal(r.SeatsRung, []string{"1001", "1002"}) || !slices.Equal(r.SeatsMissed, []string{"1001"}) {
		t.Errorf("seats_rung %v seats_missed %v, want [1001 1002] and [1001]", r.SeatsRung, r.SeatsMissed)
	}
	if n := seatMisses(t, e, "1001"); n != 1 {
		t.Errorf("ACD counts %d misses for 1001, want 1", n)
	}
}

// seatMisses is the ACD's count of consecutive unanswered offers of ext.
func seatMisses(t *testing.T, e *engine, ext string) int {
	t.Helper()
	var rows []struct {
		Ext    string `json:"extension"`
		Misses int    `json:"misses"`
	}
	if err := json.Unmarshal([]byte(httpGet(t, "http://"+e.HTTP+"/api/v1/agents")), &rows); err != nil {
		t.Fatalf("agents snapshot: %v", err)
	}
	for _, r := range rows {
		if r.Ext == ext {
			return r.Misses
		}
	}
	t.Fatalf("no agent %s in the snapshot", ext)
	return 0
}
