package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// TestTrunkHealth: a trunk pinged every second is up while its outbound
// address answers OPTIONS, down after three pings go unanswered (the
// carrier's SIPp stopped), up again after two answers (SIPp back on the
// same port); /metrics and /api/v1/trunks say so.
func TestTrunkHealth(t *testing.T) {
	t.Parallel()
	carrier := testpeer.StartSipp(t, testpeer.SippOptions{Scenario: testpeer.ScenarioPath(t, "uas_options.xml"), Timeout: 2 * time.Minute})
	port := carrier.Port
	e := startEngine(t, centreOpts{Seats: 1, Outbound: "sip:" + carrier.Addr + "\n    ping: 1s"})
	up := func() float64 { return metricValue(t, e, `hotline_trunk_up{trunk="carrier"}`) }
	type trunkView struct {
		Name     string `json:"name"`
		Up       bool   `json:"up"`
		LastCode int    `json:"last_code"`
		LastErr  string `json:"last_error"`
	}
	trunk := func() trunkView {
		var all []trunkView
		apiGet(t, e, "trunks", &all)
		if len(all) != 1 {
			t.Fatalf("trunks: %+v", all)
		}
		return all[0]
	}
	waitUntil(t, "a ping answered", 10*time.Second, func() bool { return trunk().LastCode == 200 })
	if up() != 1 || !trunk().Up {
		t.Fatalf("answering trunk: up %v, %+v", up(), trunk())
	}
	carrier.Stop()
	waitUntil(t, "the trunk down", 20*time.Second, func() bool { return up() == 0 })
	if s := trunk(); s.Up || s.LastErr == "" {
		t.Errorf("silent trunk: %+v", s)
	}
	testpeer.StartSipp(t, testpeer.SippOptions{Scenario: testpeer.ScenarioPath(t, "uas_options.xml"), LocalPort: port, Timeout: 2 * time.Minute})
	waitUntil(t, "the trunk up again", 20*time.Second, func() bool { return up() == 1 })
}

// TestTrunkFailover: the first trunk's outbound address answers nothing
// (its pings fail: down within about 3 s); a follow-up call then goes out
// through the second trunk, which reaches the citizen.
func TestTrunkFailover(t *testing.T) {
	t.Parallel()
	_, seatSIP := rtpParty(t, 1)
	citizen, _ := startCitizen(t, 3*time.Second)
	dead := testpeer.FreeUDPPort(t)
	e := startEngine(t, centreOpts{Seats: 1, RTPTimeout: "30s",
		Outbound: fmt.Sprintf("sip:127.0.0.1:%d\n    ping: 1s\n  - name: backup\n    acl: [127.0.0.30/32]\n    outbound: sip:%s", dead, citizen.Addr),
		Extra:    "queues:\n  - {name: general, wrap_up: 1s}\n"})
	registerSeatRange(t, e, 1001, 1, seatSIP.Addr, 200, 50)
	agentStateIs(t, e, "1001", "ready")
	waitUntil(t, "the first trunk down", 20*time.Second, func() bool {
		return metricValue(t, e, `hotline_trunk_up{trunk="carrier"}`) == 0
	})
	code, out := postOutbound(t, e, `{"number": "13800138000", "agent": "1001", "purpose": "followup"}`)
	if code != 202 {
		t.Fatalf("outbound: %d %v", code, out)
	}
	if res := citizen.Wait(); res.Successful != 1 {
		t.Fatalf("the citizen through the backup trunk: %s\n%s", res, e.log.tail(30))
	}
	if r := outboundRecord(t, e, out["call_id"]); r.AnsweredAt == nil {
		t.Errorf("outbound record: %+v\n%s", r, e.log.tail(40))
	}
}
