package main

import (
	"net/netip"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
	"github.com/hotline-cc/hotline/records"
)

// surveyCall starts a call in a queue with survey: true to seat 1001, a
// SIPp seat that hangs up 2 s after answering, and waits until the call
// asks the caller for a grade; by then the seat is no longer on the call.
func surveyCall(t *testing.T) (*engine, *testpeer.RTPPeer) {
	t.Helper()
	seat := testpeer.StartSipp(t, testpeer.SippOptions{
		Scenario: testpeer.ScenarioPath(t, "uas_hangup.xml"), Calls: 1,
		Vars: map[string]string{"hold_ms": "2000", "codec": "0"}, Timeout: time.Minute,
	})
	e := startEngine(t, centreOpts{Seats: 1, RTPTimeout: "60s", Extra: "queues:\n  - {name: general, survey: true, record: true, wrap_up: 1s}\n"})
	registerSeatRange(t, e, 1001, 1, seat.Addr, 200, 50)
	_, peer := e.caller(t, "12345", "0", 45*time.Second)
	waitUntil(t, "the survey", 30*time.Second, func() bool {
		var calls []struct{ State string }
		apiGet(t, e, "calls", &calls)
		return len(calls) == 1 && calls[0].State == "survey"
	})
	if st := agentOf(t, e, "1001").State; st == "on_call" {
		t.Errorf("during the survey the seat is %s: want it released", st)
	}
	return e, peer
}

// surveyRecord checks what every survey record says and returns it.
func surveyRecord(t *testing.T, e *engine) records.Record {
	t.Helper()
	rec := e.waitRecords(1, time.Minute)[0]
	if rec.EndReason != "answered" || rec.HangupBy != "agent" || rec.Agent != "1001" {
		t.Errorf("record: end %q by %q, agent %q; want answered by the agent 1001", rec.EndReason, rec.HangupBy, rec.Agent)
	}
	if rec.TalkMs < 1500 || rec.TalkMs > 5000 {
		t.Errorf("talk_ms %d: want the conversation's (about 2 s), not the survey's", rec.TalkMs)
	}
	if rec.Recording == "" || rec.RecordingMs > rec.TalkMs+200 {
		t.Errorf("recording %q of %d ms: want the conversation only", rec.Recording, rec.RecordingMs)
	}
	return rec
}

// TestSurvey: the agent hangs up first in a queue with survey: true; the
// caller hears the question (survey.wav) while the seat is already free.
// Graded: key 4 during the question gives survey_score 4 and survey_at,
// then thanks and the engine hangs up. Silent: after the question and
// 10 s without a key, the call ends with no score.
func TestSurvey(t *testing.T) {
	t.Parallel()
	t.Run("graded", func(t *testing.T) {
		t.Parallel()
		e, peer := surveyCall(t)
		if err := peer.WaitPackets(25, 10*time.Second); err != nil { // the question plays
			t.Fatal(err)
		}
		peer.SendDTMF(netip.AddrPort{}, 101, '9') // not a grade: ignored
		peer.SendDTMF(netip.AddrPort{}, 101, '4')
		rec := surveyRecord(t, e)
		if rec.SurveyScore == nil || *rec.SurveyScore != 4 || rec.SurveyAt == nil {
			t.Fatalf("survey_score %v at %v, want 4", rec.SurveyScore, rec.SurveyAt)
		}
		if c := testpeer.BestCorrelation(peer.Received(), loadPCM(t, "survey-thanks.wav")); c < 0.8 {
			t.Errorf("the caller did not hear the thanks (correlation %.2f)", c)
		}
	})
	t.Run("silent", func(t *testing.T) {
		t.Parallel()
		e, peer := surveyCall(t)
		rec := surveyRecord(t, e)
		if c := testpeer.BestCorrelation(peer.Received(), loadPCM(t, "survey.wav")); c < 0.8 {
			t.Errorf("the caller did not hear the question (correlation %.2f)", c)
		}
		if rec.SurveyScore != nil {
			t.Fatalf("survey_score %d with no key", *rec.SurveyScore)
		}
		if asked := time.Time(rec.EndedAt).Sub(time.Time(*rec.AnsweredAt)).Milliseconds() - rec.TalkMs; asked < 10000 {
			t.Errorf("the caller was given %d ms after the agent left, want the question and 10 s", asked)
		}
	})
}
