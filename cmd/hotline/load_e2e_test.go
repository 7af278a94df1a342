package main

import (
	"slices"
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
	registerSeatsAt(t, e, n, contact, 200, 50)
}

// registerSeatsAt is registerSeats at a given REGISTER rate and concurrency.
func registerSeatsAt(t *testing.T, e *engine, n int, contact string, rate float64, limit int) {
	t.Helper()
	rows := make([][]string, n)
	for i := range rows {
		ext := strconv.Itoa(1001 + i)
		rows[i] = testpeer.RegistrationRow(ext, "demo-"+ext, contact)
	}
	res := testpeer.RunSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "register_auth.xml"), Target: e.target(),
		InfFile: testpeer.WriteInf(t, rows), Calls: n, Rate: rate, Limit: limit,
		BufferSize: 4 << 20, Timeout: 60 * time.Second,
	})
	if res.ExitCode != 0 || res.Successful != n {
		t.Fatalf("registering %d seats: %s", n, res)
	}
	if _, err := e.log.waitCount(`msg=registration seat=\d+ registered=true`, n, 20*time.Second); err != nil {
		t.Fatalf("engine saw fewer than %d registrations: %v", n, err)
	}
}

// TestConcurrentCalls: 100 carrier calls at once, each greeted and bridged to
// its own seat (SIPp answering for 100 registered extensions, echoing media),
// with media both ways. Every call completes, every one has its record, and
// no seat is given two calls.
func TestConcurrentCalls(t *testing.T) {
	const calls = 100
	e := startEngine(t, centreOpts{Seats: calls, RTPTimeout: "30s", RingTimeout: "10s", Grace: "5s"})
	uasPort := testpeer.FreeUDPPort(t)
	uas := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_answer.xml"), LocalPort: uasPort,
		Calls: calls, RTPEcho: true, Vars: map[string]string{"codec": "8"},
		Timeout: 120 * time.Second,
	})
	registerSeats(t, e, calls, "127.0.0.1:"+strconv.Itoa(uasPort))
	uac := testpeer.RunSipp(t, testpeer.SippOptions{
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

// TestBurst: 200 seats (SIPp answering for all) and 400 callers arriving in
// a burst. Every caller is answered; callers are offered seats in the order
// they entered the queue; no seat ever has two calls at once; every call has
// exactly one record.
func TestBurst(t *testing.T) {
	const seats, calls = 200, 400
	e := startEngine(t, centreOpts{Seats: seats, RTPTimeout: "120s", RingTimeout: "10s", Grace: "5s"})
	uasPort := testpeer.FreeUDPPort(t)
	uas := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_answer.xml"), LocalPort: uasPort,
		Calls: calls, BufferSize: 4 << 20, Timeout: 180 * time.Second,
	})
	registerSeats(t, e, seats, "127.0.0.1:"+strconv.Itoa(uasPort))
	uac := testpeer.RunSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uac_call.xml"), Target: e.target(), Service: "12345",
		Calls: calls, Rate: 200, Limit: calls, Vars: map[string]string{"hold_ms": "12000"},
		BufferSize: 4 << 20, Timeout: 180 * time.Second,
	})
	if uac.ExitCode != 0 || uac.Successful != calls {
		t.Fatalf("callers: %s\n%s", uac, e.log.tail(40))
	}
	recs := e.waitRecords(calls, 60*time.Second)
	if len(recs) != calls {
		t.Fatalf("%d records for %d calls", len(recs), calls)
	}
	type span struct{ from, to time.Time }
	bySeat := map[string][]span{}
	var queued []struct{ queued, offered time.Time }
	for _, r := range recs {
		if r.EndReason != "answered" || r.Agent == "" || r.QueuedAt == nil || r.OfferedAt == nil || r.AnsweredAt == nil {
			t.Fatalf("call %s: %+v", r.CallID, r)
		}
		bySeat[r.Agent] = append(bySeat[r.Agent], span{r.AnsweredAt.Std(), r.EndedAt.Std()})
		queued = append(queued, struct{ queued, offered time.Time }{r.QueuedAt.Std(), r.OfferedAt.Std()})
	}
	for seat, spans := range bySeat {
		slices.SortFunc(spans, func(a, b span) int { return a.from.Compare(b.from) })
		for i := 1; i < len(spans); i++ {
			if spans[i].from.Before(spans[i-1].to) {
				t.Errorf("seat %s had two calls at once: %v–%v and %v–%v", seat,
					spans[i-1].from, spans[i-1].to, spans[i].from, spans[i].to)
			}
		}
	}
	// First in, first offered: every call was offered no earlier than all
	// the calls that entered the queue before it (records keep
	// milliseconds: calls queued in the same millisecond are not ordered).
	slices.SortFunc(queued, func(a, b struct{ queued, offered time.Time }) int { return a.queued.Compare(b.queued) })
	var latestBefore, latestHere time.Time
	for i, q := range queued {
		if i > 0 && q.queued.After(queued[i-1].queued) {
			latestBefore = maxTime(latestBefore, latestHere)
		}
		if q.offered.Before(latestBefore) {
			t.Errorf("call queued at %v was offered at %v, before a call queued earlier (offered %v)",
				q.queued, q.offered, latestBefore)
			break
		}
		latestHere = maxTime(latestHere, q.offered)
	}
	if res := uas.Wait(); res.Successful != calls {
		t.Errorf("seats: %s", res)
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
