package main

import (
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
	"github.com/hotline-cc/hotline/records"
)

// outboundCentre starts an engine whose trunk dials out to citizen, with
// seat 1001 registered at seatSIP (an rtpParty) and ready; 1002 is
// configured and never registers. Wrap-up is short.
func outboundCentre(t *testing.T, citizen, seatSIP *testpeer.SippProc, extra string) *engine {
	t.Helper()
	e := startEngine(t, centreOpts{Seats: 2, RTPTimeout: "30s", Outbound: "sip:" + citizen.Addr,
		Extra: "queues:\n  - {name: general, wrap_up: 1s}\n" + extra})
	registerSeatRange(t, e, 1001, 1, seatSIP.Addr, 200, 50)
	agentStateIs(t, e, "1001", "ready")
	return e
}

// startCitizen is a citizen's phone the engine calls out to (SIPp
// answering one call, media at a Go RTP peer), hanging up hold after it
// answered.
func startCitizen(t *testing.T, hold time.Duration) (*testpeer.SippProc, *testpeer.RTPPeer) {
	t.Helper()
	peer := testpeer.NewRTPPeer(t)
	p := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_callee.xml"), Calls: 1,
		Vars:    map[string]string{"media_port": strconv.Itoa(peer.Port()), "hold_ms": strconv.Itoa(int(hold.Milliseconds()))},
		Timeout: 90 * time.Second,
	})
	return p, peer
}

// postOutbound posts body to /api/v1/outbound and returns the status and
// the JSON answer (call_id, or error).
func postOutbound(t *testing.T, e *engine, body string) (int, map[string]string) {
	t.Helper()
	code, data := apiDo(t, e, "POST", "/api/v1/outbound", body, testToken)
	var out map[string]string
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("POST /api/v1/outbound: %d %q: %v", code, data, err)
	}
	return code, out
}

// outboundRecord waits for the one record of the outbound call id.
func outboundRecord(t *testing.T, e *engine, id string) records.Record {
	t.Helper()
	for _, r := range e.waitRecords(1, 30*time.Second) {
		if r.CallID == id {
			return r
		}
	}
	t.Fatalf("no record of %s: %+v\n%s", id, e.records(), e.log.tail(30))
	return records.Record{}
}

// TestOutboundFollowUp: a follow-up call through the API. The seat (SIPp,
// media at a Go RTP peer) rings first and, once answered, hears the
// whisper; only then is the citizen (SIPp through the trunk's outbound
// address) dialled; once they answer the two are bridged and talk (the
// citizen's 1 kHz reaches the seat, the seat's 600 Hz the citizen). The
// citizen hangs up; the record is the outbound call's, and the seat is
// ready again after its wrap-up. Refused first: a body without purpose
// (400), a number outside callback_numbers (403), an unknown agent (404),
// an agent not logged in (409), an unknown queue (404).
func TestOutboundFollowUp(t *testing.T) {
	t.Parallel()
	seatPeer, seatSIP := rtpParty(t, 1)
	citizen, citizenPeer := startCitizen(t, 8*time.Second)
	e := outboundCentre(t, citizen, seatSIP, "")
	for _, tc := range []struct {
		body string
		code int
		why  string
	}{
		{`{"number": "13800138000", "agent": "1001"}`, 400, "purpose"},
		{`{"number": "13800138000", "agent": "1001", "purpose": "survey"}`, 400, "purpose"},
		{`not json`, 400, "body must be JSON"},
		{`{"number": "00881234", "agent": "1001", "purpose": "followup"}`, 403, "number not allowed"},
		{`{"number": "anonymous", "queue": "general", "purpose": "missed"}`, 403, "number not allowed"},
		{`{"number": "13800138000", "agent": "1999", "purpose": "followup"}`, 404, "unknown agent"},
		{`{"number": "13800138000", "queue": "nowhere", "purpose": "followup"}`, 404, "unknown queue"},
		{`{"number": "13800138000", "agent": "1002", "purpose": "followup"}`, 409, "no seat ready"},
	} {
		if code, out := postOutbound(t, e, tc.body); code != tc.code || !strings.Contains(out["error"], tc.why) {
			t.Errorf("%s: %d %q, want %d naming %q", tc.body, code, out["error"], tc.code, tc.why)
		}
	}
	if code := apiStatus(t, e, "POST", "/api/v1/outbound", `{"number": "13800138000", "agent": "1001", "purpose": "followup"}`, ""); code != 401 {
		t.Errorf("without a token: %d, want 401", code)
	}
	code, out := postOutbound(t, e, `{"number": "13800138000", "agent": "1001", "purpose": "followup", "of": "abc123"}`)
	if code != 202 || out["call_id"] == "" {
		t.Fatalf("outbound: %d %v\n%s", code, out, e.log.tail(20))
	}
	if _, err := e.log.wait(`msg="outbound: bridged"`, 30*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, e.log.tail(30))
	}
	log := e.log.text()
	answered, dialled := strings.Index(log, `msg="outbound: the seat answered"`), strings.Index(log, `msg="outbound: calling the citizen"`)
	if answered < 0 || dialled < answered {
		t.Errorf("the citizen was dialled before the seat answered:\n%s", e.log.tail(30))
	}
	if c := testpeer.BestCorrelation(seatPeer.Received(), loadPCM(t, "outbound-followup.wav")); c < 0.6 {
		t.Errorf("the seat did not hear the follow-up whisper: correlation %.2f", c)
	}
	agentStateIs(t, e, "1001", "on_call")
	// The seat talks first: the citizen's peer learns where to send from it.
	seatPeer.SendTone(netip.AddrPort{}, 0, 600, 6*time.Second)
	if err := citizenPeer.WaitPackets(5, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	citizenPeer.SendTone(netip.AddrPort{}, 0, 1000, 5*time.Second)
	hears(t, "the seat", seatPeer, []float64{1000}, nil)
	hears(t, "the citizen", citizenPeer, []float64{600}, []float64{1000})
	if res := citizen.Wait(); res.ExitCode != 0 {
		t.Fatalf("citizen: %s\n%s", res, e.log.tail(20))
	}
	r := outboundRecord(t, e, out["call_id"])
	if r.LineMode != "outbound" || r.Purpose != "followup" || r.OutboundOf != "abc123" || r.Agent != "1001" ||
		r.Caller != "13800138000" || r.AnsweredAt == nil || r.EndReason != "answered" || r.HangupBy != "caller" ||
		r.Queue != "general" || r.TalkMs <= 0 || r.QueuedAt != nil {
		t.Fatalf("record: %+v", r)
	}
	if res := seatSIP.Wait(); res.ExitCode != 0 {
		t.Errorf("seat: %s", res)
	}
	agentStateIs(t, e, "1001", "ready")
}

// TestOutboundNoAnswer: a missed-call call to a queue whose citizen never
// answers. The queue's ready seat is taken, answers and hears the whisper;
// while the citizen rings the seat is busy (another request for it: 409);
// after the ring timeout the call ends no_answer, the seat is released
// (wrap-up, then ready) and the number is not listed as missed.
func TestOutboundNoAnswer(t *testing.T) {
	t.Parallel()
	seatPeer, seatSIP := rtpParty(t, 1)
	citizen := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_noanswer.xml"), Calls: 1, Timeout: 60 * time.Second,
	})
	e := outboundCentre(t, citizen, seatSIP, "acd:\n  callback_ring_timeout: 3s\n")
	code, out := postOutbound(t, e, `{"number": "13800138000", "queue": "general", "purpose": "missed"}`)
	if code != 202 {
		t.Fatalf("outbound: %d %v\n%s", code, out, e.log.tail(20))
	}
	if _, err := e.log.wait(`msg="outbound: calling the citizen"`, 30*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, e.log.tail(30))
	}
	if code, busy := postOutbound(t, e, `{"number": "13900139000", "agent": "1001", "purpose": "followup"}`); code != 409 {
		t.Errorf("the busy seat: %d %v, want 409", code, busy)
	}
	if code, busy := postOutbound(t, e, `{"number": "13900139000", "queue": "general", "purpose": "followup"}`); code != 409 {
		t.Errorf("no seat ready in the queue: %d %v, want 409", code, busy)
	}
	if res := citizen.Wait(); res.ExitCode != 0 {
		t.Fatalf("citizen: %s\n%s", res, e.log.tail(20))
	}
	r := outboundRecord(t, e, out["call_id"])
	if r.LineMode != "outbound" || r.Purpose != "missed" || r.EndReason != "no_answer" || r.AnsweredAt != nil ||
		r.Agent != "1001" || r.HangupBy != "system" || r.Caller != "13800138000" {
		t.Fatalf("record: %+v", r)
	}
	if c := testpeer.BestCorrelation(seatPeer.Received(), loadPCM(t, "outbound-missed.wav")); c < 0.6 {
		t.Errorf("the seat did not hear the missed-call whisper: correlation %.2f", c)
	}
	agentStateIs(t, e, "1001", "ready")
	var missed []struct{ Number string }
	apiGet(t, e, "missed", &missed)
	if len(missed) != 0 {
		t.Errorf("missed after an unanswered outbound call: %+v", missed)
	}
}
