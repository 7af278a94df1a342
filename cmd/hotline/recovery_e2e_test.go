package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/internal/testpeer"
	"github.com/hotline-cc/hotline/store/redistest"
	"github.com/redis/go-redis/v9"
)

// recoveryCentre is a one-seat centre on the Redis store as node, with a
// short wrap-up so that a freed seat is seen going through it.
func recoveryCentre(rds *redistest.Server, node string) centreOpts {
	return centreOpts{Seats: 1, RTPTimeout: "120s", Extra: fmt.Sprintf(
		"queues:\n  - {name: general, wrap_up: 3s}\nstore:\n  kind: redis\n  redis: {address: %q}\n  node: %s\n",
		rds.Addr, node)}
}

// bridgeSeat registers seat 1001 with e and bridges a long carrier call
// to it.
func bridgeSeat(t *testing.T, e *engine) {
	t.Helper()
	seat := e.seat(t, 1001, testpeer.SeatOptions{})
	agentStateIs(t, e, "1001", "ready")
	e.caller(t, "12345", "0", 5*time.Minute)
	if _, err := seat.WaitEvent("CALL_ESTABLISHED", 15*time.Second); err != nil {
		t.Fatal(err)
	}
	waitEvents(t, e, "call.answered", 1, 10*time.Second)
}

// TestSeatFreedAfterNodeKilled: two nodes share one Redis; node A bridges
// a call to seat 1001 and has a second caller waiting, then dies (kill -9).
// Node B frees the seat once A's beat is gone: through wrap-up to ready,
// within acd.RecoveryBound; A's queue entry is deleted from Redis.
func TestSeatFreedAfterNodeKilled(t *testing.T) {
	t.Parallel()
	rds := redistest.Start(t)
	a := startEngine(t, recoveryCentre(rds, "node-a"))
	b := startEngine(t, recoveryCentre(rds, "node-b"))
	bridgeSeat(t, a)
	agentStateIs(t, b, "1001", "on_call")
	a.caller(t, "12345", "0", 5*time.Minute) // no seat free: it waits
	rc := redis.NewClient(&redis.Options{Addr: rds.Addr})
	defer rc.Close()
	entries := func() int64 {
		n, err := rc.HLen(context.Background(), "{hotline}:q:general").Result()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitUntil(t, "the waiting caller's queue entry", 30*time.Second, func() bool { return entries() == 1 })

	killed := time.Now()
	a.kill()
	limit := acd.RecoveryBound + 10*time.Second // slack for a loaded machine
	if _, err := b.log.wait(`msg="seat recovered" .*seat=1001 reason=node_gone was=on_call .*node=node-a`, limit); err != nil {
		t.Fatalf("node B did not free node A's seat: %v\n%s", err, b.log.tail(30))
	}
	t.Logf("seat freed %v after the kill (bound %v)", time.Since(killed).Round(100*time.Millisecond), acd.RecoveryBound)
	agentStateIs(t, b, "1001", "wrap_up")
	agentStateIs(t, b, "1001", "ready")
	waitUntil(t, "node A's queue entry deleted", limit, func() bool { return entries() == 0 })
	if _, err := b.log.wait(`msg="queue entry removed" .*queue=general .*node=node-a`, time.Second); err != nil {
		t.Fatalf("no log of the entry removed: %v", err)
	}
	if n := metricValue(t, b, "hotline_seats_recovered_total"); n != 1 {
		t.Errorf("hotline_seats_recovered_total %v, want 1", n)
	}
}

// TestRestartedNodeFreesItsSeat: a node killed with seat 1001 on a call
// and started again under the same name frees the seat at once (its new
// boot tells it the call died with the old one), without waiting for its
// old beat to expire.
func TestRestartedNodeFreesItsSeat(t *testing.T) {
	t.Parallel()
	rds := redistest.Start(t)
	a := startEngine(t, recoveryCentre(rds, "node-a"))
	bridgeSeat(t, a)
	agentStateIs(t, a, "1001", "on_call")
	a.kill()
	again := launch(t, a.dir, a.cfg, "debug")
	if _, err := again.log.wait(`msg="seat recovered" .*seat=1001 reason=restarted was=on_call .*node=node-a`, acd.RecoveryBound); err != nil {
		t.Fatalf("the restarted node did not free its seat: %v\n%s", err, again.log.tail(30))
	}
	agentStateIs(t, again, "1001", "wrap_up")
	agentStateIs(t, again, "1001", "ready")
}

// TestKilledNodeRecordsLostCalls: the engine is killed with SIGKILL while
// three callers talk to seats and two wait in the queue; one call ended
// before. Restarted on the same data, it writes a record for each of the
// five with end_reason lost and what was known (the agent of the
// answered ones), before it is ready; every call has exactly one record.
// A second restart writes nothing more.
func TestKilledNodeRecordsLostCalls(t *testing.T) {
	t.Parallel()
	seats := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_answer.xml"), Calls: 3, RTPEcho: true, Timeout: 2 * time.Minute,
	})
	e := startEngine(t, centreOpts{Seats: 3, RTPTimeout: "30s"})
	registerSeatRange(t, e, 1001, 3, seats.Addr, 200, 50)
	early, _ := e.caller(t, "12345", "0", time.Second) // hangs up in the greeting
	if res := early.Wait(); res.Successful != 1 {
		t.Fatalf("the early caller: %s", res)
	}
	e.waitRecords(1, 10*time.Second)
	for range 5 {
		e.caller(t, "12345", "0", time.Minute)
	}
	waitUntil(t, "three talking, two waiting", 40*time.Second, func() bool {
		var calls []struct{ State string }
		apiGet(t, e, "calls", &calls)
		n := map[string]int{}
		for _, c := range calls {
			n[c.State]++
		}
		return n["bridged"] == 3 && n["waiting"] == 2
	})
	e.kill()
	again := launch(t, e.dir, e.cfg, "debug")
	rs := again.records()
	byID, lost, agents := map[string]int{}, 0, 0
	for _, r := range rs {
		byID[r.CallID]++
		if r.EndReason == "lost" {
			lost++
			if r.Agent != "" && r.AnsweredAt != nil {
				agents++
			}
			if r.Caller == "" || r.Dialled != "12345" || r.HangupBy != "system" {
				t.Errorf("lost record: %+v", r)
			}
		}
	}
	if len(rs) != 6 || len(byID) != 6 || lost != 5 || agents != 3 {
		t.Fatalf("%d records for %d calls, %d lost (%d answered), want 6, 6, 5 (3)\n%s", len(rs), len(byID), lost, agents, again.log.tail(20))
	}
	again.kill()
	third := launch(t, e.dir, e.cfg, "info")
	if n := len(third.records()); n != 6 {
		t.Errorf("after a second restart: %d records, want 6", n)
	}
}
