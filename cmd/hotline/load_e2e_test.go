package main

import (
	"strconv"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// registerSeats registers extensions 1001..1000+n with SIPp, each with its
// Contact at contact (one SIPp UAS answering for all of them), and waits
// until the engine has logged every registration.
func registerSeats(t *testing.T, e *engine, n int, contact string) {
	t.Helper()
	registerSeatRange(t, e, 1001, n, contact, 200, 50)
}

// registerSeatsAt is registerSeats at a given REGISTER rate and concurrency.
func registerSeatsAt(t *testing.T, e *engine, n int, contact string, rate float64, limit int) {
	t.Helper()
	registerSeatRange(t, e, 1001, n, contact, rate, limit)
}

// registerSeatRange registers extensions first..first+n-1 with their Contact
// at contact. Ranges are registered in order from 1001, so it waits until the
// engine has logged first-1001+n registrations in all.
func registerSeatRange(t *testing.T, e *engine, first, n int, contact string, rate float64, limit int) {
	t.Helper()
	rows := make([][]string, n)
	for i := range rows {
		ext := strconv.Itoa(first + i)
		rows[i] = testpeer.RegistrationRow(ext, "demo-"+ext, contact)
	}
	res := testpeer.RunSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "register_auth.xml"), Target: e.target(),
		InfFile: testpeer.WriteInf(t, rows), Calls: n, Rate: rate, Limit: limit,
		BufferSize: 4 << 20, Timeout: 60 * time.Second,
	})
	if res.ExitCode != 0 || res.Successful != n {
		t.Fatalf("registering seats %d..%d: %s", first, first+n-1, res)
	}
	total := first - 1001 + n
	if _, err := e.log.waitCount(`msg=registration seat=\d+ registered=true`, total, 20*time.Second); err != nil {
		t.Fatalf("engine saw fewer than %d registrations: %v", total, err)
	}
}

// TestConcurrentCalls: 100 carrier calls at once, each greeted and bridged to
// its own seat (SIPp answering for 100 registered extensions, echoing media),
// with media both ways. Every call completes, every one has its record, and
// no seat is given two calls.
func TestConcurrentCalls(t *testing.T) {
	const calls = 100
	e := startEngine(t, centreOpts{Seats: calls, RTPTimeout: "30s", RingTimeout: "10s", Grace: "5s", Extra: seatFarmLimits})
	uasPort := testpeer.FreeUDPPort(t)
	uas := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_answer.xml"), LocalPort: uasPort,
		Calls: calls, RTPEcho: true, Vars: map[string]string{"codec": "8"},
		Timeout: 120 * time.Second,
	})
	registerSeats(t, e, calls, "127.0.0.1:"+strconv.Itoa(uasPort))
	uac := testpeer.RunSipp(t, testpeer.SippOptions{
		LocalIP:  carrierIP,
		Scenario: testpeer.ScenarioPath(t, "uac_load.xml"), Target: e.target(), Service: "12345",
		Calls: calls, Rate: 50, Limit: calls, Vars: map[string]string{"hold_ms": "12000"},
		Timeout: 120 * time.Second,
	})
	if uac.ExitCode != 0 || uac.Successful != calls || uac.Failed != 0 {
		t.Fatalf("callers: %s\n%s", uac, e.log.tail(40))
	}
	if res := uas.Wait(); res.Successful != calls {
		t.Errorf("seats: %s", res)
	}
	recs := e.waitRecords(calls, 30*time.Second)
	agents := map[string]bool{}
	for _, r := range recs {
		if r.EndReason != "answered" || r.Agent == "" {
			t.Errorf("call %s: end_reason %q agent %q", r.CallID, r.EndReason, r.Agent)
		}
		agents[r.Agent] = true
	}
	if len(agents) != calls {
		t.Errorf("%d calls went to %d distinct seats: a seat was double-booked", calls, len(agents))
	}
}
