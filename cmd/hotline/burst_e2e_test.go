package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
	"github.com/hotline-cc/hotline/records"
	"github.com/hotline-cc/hotline/store/redistest"
)

// callerGroup is one SIPp UAC process of a burst: its callers all carry the
// same number, so the records tell the groups apart.
type callerGroup struct {
	scenario string            // in testdata/sipp
	line     string            // number dialled
	caller   string            // From user part
	calls    int               // callers, at 200/s, all at once
	vars     map[string]string // more -set variables (hold_ms, ...)
}

// start launches the group against e in the background.
func (g callerGroup) start(t *testing.T, e *engine) *testpeer.SippProc {
	t.Helper()
	vars := map[string]string{"caller": g.caller}
	for k, v := range g.vars {
		vars[k] = v
	}
	return testpeer.StartSipp(t, testpeer.SippOptions{
		LocalIP:  carrierIP,
		Scenario: testpeer.ScenarioPath(t, g.scenario), Target: e.target(), Service: g.line,
		Calls: g.calls, Rate: 200, Limit: g.calls, Vars: vars,
		BufferSize: 4 << 20, Timeout: 150 * time.Second,
	})
}

// waitCallers waits for every caller of the group to succeed.
func waitCallers(t *testing.T, e *engine, name string, p *testpeer.SippProc, calls int) {
	t.Helper()
	if res := p.Wait(); res.ExitCode != 0 || res.Successful != calls || res.Failed != 0 {
		t.Fatalf("%s callers: %s\n%s", name, res, e.log.tail(40))
	}
}

// waitQueued waits until n callers in all have finished the IVR into a queue.
func waitQueued(t *testing.T, e *engine, n int) {
	t.Helper()
	waitEvents(t, e, "call.ivr", n, 60*time.Second)
}

// checkAnswered fails unless r was answered by a seat, with its queue,
// offer and answer times.
func checkAnswered(t *testing.T, r records.Record) {
	t.Helper()
	if r.EndReason != "answered" || r.Agent == "" || r.QueuedAt == nil || r.OfferedAt == nil || r.AnsweredAt == nil {
		t.Errorf("call %s was not answered by a seat: %+v", r.CallID, r)
	}
}

// checkOneRecordEach fails if a call_id has two records.
func checkOneRecordEach(t *testing.T, recs []records.Record) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.CallID] {
			t.Errorf("call %s has two records", r.CallID)
		}
		seen[r.CallID] = true
	}
}

// checkNoOverlap fails if a seat had two calls at once: the [answered_at,
// ended_at] spans of the answered records (from any number of nodes) of
// each seat must not overlap.
func checkNoOverlap(t *testing.T, recs []records.Record) {
	t.Helper()
	type span struct {
		from, to time.Time
		call     string
	}
	bySeat := map[string][]span{}
	for _, r := range recs {
		if r.Agent != "" && r.AnsweredAt != nil {
			bySeat[r.Agent] = append(bySeat[r.Agent], span{r.AnsweredAt.Std(), r.EndedAt.Std(), r.CallID})
		}
	}
	for seat, spans := range bySeat {
		slices.SortFunc(spans, func(a, b span) int { return a.from.Compare(b.from) })
		for i := 1; i < len(spans); i++ {
			if spans[i].from.Before(spans[i-1].to) {
				t.Errorf("seat %s had two calls at once: %s %v–%v and %s %v–%v", seat,
					spans[i-1].call, spans[i-1].from, spans[i-1].to, spans[i].call, spans[i].from, spans[i].to)
			}
		}
	}
}

// checkQueueOrder: first in, first offered. Every offered call was offered
// no earlier than all the calls that entered the queue before it (records
// keep milliseconds: calls queued in the same millisecond are not ordered).
func checkQueueOrder(t *testing.T, recs []records.Record) {
	t.Helper()
	type entry struct{ queued, offered time.Time }
	var queued []entry
	for _, r := range recs {
		if r.QueuedAt != nil && r.OfferedAt != nil {
			queued = append(queued, entry{r.QueuedAt.Std(), r.OfferedAt.Std()})
		}
	}
	slices.SortFunc(queued, func(a, b entry) int { return a.queued.Compare(b.queued) })
	var latestBefore, latestHere time.Time
	for i, q := range queued {
		if i > 0 && q.queued.After(queued[i-1].queued) {
			latestBefore = maxTime(latestBefore, latestHere)
		}
		if q.offered.Before(latestBefore) {
			t.Errorf("call queued at %v was offered at %v, before a call queued earlier (offered %v)",
				q.queued, q.offered, latestBefore)
			return
		}
		latestHere = maxTime(latestHere, q.offered)
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// agentRow is the part of an /api/v1/agents row the burst tests read.
type agentRow struct {
	Ext    string `json:"extension"`
	State  string `json:"state"`
	Reason string `json:"reason"`
}

// agentsSettle waits until want(row) holds for every seat of the agents
// snapshot, and fails with the rows that do not.
func agentsSettle(t *testing.T, e *engine, want func(agentRow) bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var rows []agentRow
		if err := json.Unmarshal([]byte(httpGet(t, "http://"+e.HTTP+"/api/v1/agents")), &rows); err != nil {
			t.Fatalf("agents snapshot: %v", err)
		}
		var bad []agentRow
		for _, r := range rows {
			if !want(r) {
				bad = append(bad, r)
			}
		}
		if len(bad) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d seats not as expected: %+v", len(bad), bad)
		}
		// The snapshot has no change event to wait on; poll it briefly.
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBurstMixed: the burst with every path at once. 200 seats
// register with digest auth: 190 answer (one SIPp UAS for all), 10 ring and
// never answer (registered last, so they are the least idle); a seat rings
// for 3 s and one miss sets it not ready. Callers arrive in groups (one SIPp
// UAC each, at 200/s), each group only once the one before has reached the
// queue, so what each group meets is known:
//
//   - wave 1 (190 callers) takes the 190 answering seats;
//   - wave 2 (130 callers, on hold longer) meets the 10 silent seats first
//     (each misses its call, which goes back to the head of the queue), then
//     waits until wave 1 hangs up;
//   - 20 callers hang up while every seat is busy: abandoned, with their wait;
//   - 20 callers dial 12316, whose agriculture queue has no seat and a 1 s
//     max_wait to a message: overflow;
//   - 20 callers press 1 (RFC 4733) while waiting in the general queue, which
//     offers callbacks: end_reason callback, and once wave 1 has hung up the
//     engine calls each back through the trunk's outbound address (a SIPp
//     phone) and bridges them to a seat: a record with line_mode callback,
//     callback_of the asking call, answered.
//
// Every call has one record with its group's end reason; answered calls
// were offered in queue order; no seat had two calls at once; the silent
// seats never took a call and end not ready (missed), every other seat ready.
func TestBurstMixed(t *testing.T) {
	const (
		seats, silent                     = 200, 10
		wave1, wave2, abandon, over, asks = 190, 130, 20, 20, 20
	)
	phones := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_callee.xml"), Calls: asks,
		Vars:    map[string]string{"media_port": "9", "hold_ms": "8000"},
		Timeout: 150 * time.Second,
	})
	e := startEngine(t, centreOpts{Seats: seats, RTPTimeout: "120s", RingTimeout: "3s", Grace: "5s",
		Outbound: "sip:" + phones.Addr, Extra: `acd:
  max_misses: 1
queues:
  - name: general
    callback: true
  - name: agriculture
    max_wait: 1s
    on_max_wait: message goodbye.wav
callback_numbers: [_138X.]
` + seatFarmLimits})
	answering := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_answer.xml"), Calls: wave1 + wave2 + asks,
		BufferSize: 4 << 20, Timeout: 150 * time.Second,
	})
	deaf := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_noanswer.xml"), Calls: silent, Timeout: 150 * time.Second,
	})
	registerSeatRange(t, e, 1001, seats-silent, answering.Addr, 200, 50)
	registerSeatRange(t, e, 1001+seats-silent, silent, deaf.Addr, 200, 50)
	silentSeats := map[string]bool{}
	for ext := 1001 + seats - silent; ext <= 1000+seats; ext++ {
		silentSeats[strconv.Itoa(ext)] = true
	}

	// The welcome prompt (5.1 s) plays before the queue; the callback offer
	// (3.5 s) as the caller joins it. Wave 1 holds its seats for 30 s, long
	// past the moment the other groups leave or press 1.
	groups := []struct {
		name  string
		group callerGroup
	}{
		{"wave 1", callerGroup{"uac_call.xml", "12345", "13800000001", wave1, map[string]string{"hold_ms": "30000"}}},
		{"wave 2", callerGroup{"uac_call.xml", "12345", "13800000002", wave2, map[string]string{"hold_ms": "42000"}}},
		{"abandoning", callerGroup{"uac_call.xml", "12345", "13800000003", abandon, map[string]string{"hold_ms": "8000"}}},
		{"overflowing", callerGroup{"uac_call.xml", "12316", "13800000004", over, map[string]string{"hold_ms": "60000"}}},
		// one kept callback per number: each asking caller has their own
		// (13800000005 then the call number; callback_numbers allows them)
		{"asking", callerGroup{"uac_dtmf.xml", "12345", "13800000005", asks,
			map[string]string{"dtmf_after_ms": "9500", "caller_per_call": "1"}}},
	}
	procs := make([]*testpeer.SippProc, len(groups))
	procs[0] = groups[0].group.start(t, e)
	waitQueued(t, e, wave1)
	procs[1] = groups[1].group.start(t, e)
	waitQueued(t, e, wave1+wave2)
	for i := 2; i < len(groups); i++ {
		procs[i] = groups[i].group.start(t, e)
	}
	for i, g := range groups {
		waitCallers(t, e, g.name, procs[i], g.group.calls)
	}
	if res := phones.Wait(); res.ExitCode != 0 || res.Successful != asks {
		t.Fatalf("called-back phones: %s\n%s", res, e.log.tail(40))
	}

	const total = wave1 + wave2 + abandon + over + 2*asks
	recs := e.waitRecords(total, 60*time.Second)
	if len(recs) != total {
		t.Fatalf("%d records, want %d", len(recs), total)
	}
	checkOneRecordEach(t, recs)
	byGroup := map[string]map[string]int{} // caller -> end_reason -> count
	asked := map[string]bool{}             // call_id of each call that asked for a callback
	calledBack := map[string]int{}         // callback_of -> callback records
	missed := map[string]int{}
	var general []records.Record
	for _, r := range recs {
		key := r.Caller[:min(len(r.Caller), 11)] // the group's number (askers add their call number)
		if r.LineMode == "callback" {
			key += " called back"
			calledBack[r.CallbackOf]++
		}
		if byGroup[key] == nil {
			byGroup[key] = map[string]int{}
		}
		byGroup[key][r.EndReason]++
		for _, s := range r.SeatsMissed {
			missed[s]++
		}
		if silentSeats[r.Agent] {
			t.Errorf("silent seat %s took call %s", r.Agent, r.CallID)
		}
		switch r.EndReason {
		case "answered":
			checkAnswered(t, r)
			general = append(general, r)
		case "abandoned":
			if r.QueuedAt == nil || r.WaitMs <= 0 || r.Agent != "" || r.HangupBy != "caller" || r.Queue != "general" {
				t.Errorf("abandoned call: %+v", r)
			}
		case "overflow":
			if r.HangupBy != "system" || r.Agent != "" || r.Dialled != "12316" {
				t.Errorf("overflowed call: %+v", r)
			}
		case "callback":
			asked[r.CallID] = true
			if r.QueuedAt == nil || r.Agent != "" || r.HangupBy != "system" || r.Queue != "general" {
				t.Errorf("asking call: %+v", r)
			}
		}
		if r.LineMode == "callback" && (r.EndReason != "answered" || r.Queue != "general") {
			t.Errorf("callback: %+v", r)
		}
	}
	want := map[string]map[string]int{
		"13800000001":             {"answered": wave1},
		"13800000002":             {"answered": wave2},
		"13800000003":             {"abandoned": abandon},
		"13800000004":             {"overflow": over},
		"13800000005":             {"callback": asks},
		"13800000005 called back": {"answered": asks},
	}
	if fmt.Sprint(byGroup) != fmt.Sprint(want) {
		t.Errorf("end reasons by caller group:\n got %v\nwant %v", byGroup, want)
	}
	for id, n := range calledBack {
		if !asked[id] || n != 1 {
			t.Errorf("%d callbacks of %s, which asked: %v", n, id, asked[id])
		}
	}
	if len(calledBack) != len(asked) {
		t.Errorf("%d calls asked for a callback, %d were called back", len(asked), len(calledBack))
	}
	wantMissed := map[string]int{}
	for s := range silentSeats {
		wantMissed[s] = 1
	}
	if fmt.Sprint(missed) != fmt.Sprint(wantMissed) {
		t.Errorf("seats missed (seat: calls) %v, want each silent seat once: %v", missed, wantMissed)
	}
	checkNoOverlap(t, recs)
	checkQueueOrder(t, general)
	agentsSettle(t, e, func(a agentRow) bool {
		if silentSeats[a.Ext] {
			return a.State == "not_ready" && a.Reason == "missed"
		}
		return a.State == "ready"
	})
	if res := answering.Wait(); res.Successful != wave1+wave2+asks {
		t.Errorf("answering seats: %s", res)
	}
	if res := deaf.Wait(); res.Successful != silent {
		t.Errorf("silent seats: %s", res)
	}
	if n := metricValue(t, e, "hotline_seats_recovered_total"); n != 0 {
		t.Errorf("%v seats freed as orphans of live calls", n)
	}
}

// TestBurstTwoNodes: the burst on two engine processes sharing one real
// redis-server (two SIP ports on loopback). 200 seats register with node A
// only (one SIPp UAS answers for all); node B sees them through Redis. 400
// callers arrive in a burst, half at each node: a first wave of 200 (100 per
// node) takes every seat, a second wave of 200 arrives as soon as the first
// is queued and waits until the first hangs up. Every call is answered by a
// seat, and no seat is ever claimed by both nodes: the [answered_at,
// ended_at] spans of each seat, across both nodes' records, never overlap.
func TestBurstTwoNodes(t *testing.T) {
	const seats, calls = 200, 400
	rds := redistest.Start(t)
	store := func(node string) string {
		return fmt.Sprintf("store:\n  kind: redis\n  redis: {address: %q}\n  node: %s\n", rds.Addr, node)
	}
	a := startEngine(t, centreOpts{Seats: seats, RTPTimeout: "120s", RingTimeout: "10s", Grace: "5s", Extra: store("node-a") + seatFarmLimits})
	b := startEngine(t, centreOpts{Seats: seats, RTPTimeout: "120s", RingTimeout: "10s", Grace: "5s", Extra: store("node-b") + seatFarmLimits})
	uas := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_answer.xml"), Calls: calls,
		BufferSize: 4 << 20, Timeout: 150 * time.Second,
	})
	registerSeats(t, a, seats, uas.Addr)
	agentStateIs(t, b, strconv.Itoa(1000+seats), "ready") // node B sees node A's seats through Redis
	nodes := []*engine{a, b}
	var procs []*testpeer.SippProc
	for wave, hold := range []string{"12000", "24000"} {
		for _, e := range nodes {
			procs = append(procs, callerGroup{"uac_call.xml", "12345", "1380000000" + strconv.Itoa(wave+1),
				calls / 4, map[string]string{"hold_ms": hold}}.start(t, e))
		}
		for _, e := range nodes {
			waitQueued(t, e, (wave+1)*calls/4)
		}
	}
	for i, p := range procs {
		waitCallers(t, nodes[i%2], fmt.Sprintf("wave %d at node %d", i/2+1, i%2+1), p, calls/4)
	}
	var recs []records.Record
	for _, e := range nodes {
		rs := e.waitRecords(calls/2, 60*time.Second)
		if len(rs) != calls/2 {
			t.Fatalf("%d records at a node that took %d calls", len(rs), calls/2)
		}
		recs = append(recs, rs...)
	}
	checkOneRecordEach(t, recs)
	for _, r := range recs {
		checkAnswered(t, r)
	}
	checkNoOverlap(t, recs)
	if res := uas.Wait(); res.Successful != calls {
		t.Errorf("seats: %s", res)
	}
	for i, e := range nodes {
		if n := metricValue(t, e, "hotline_seats_recovered_total"); n != 0 {
			t.Errorf("node %d freed %v seats of a live node under load", i+1, n)
		}
	}
}
