package main

import (
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
