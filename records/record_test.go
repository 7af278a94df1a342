package records

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

var cst = time.FixedZone("CST", 8*3600)

func minimalRecord(id string, ended time.Time) *Record {
	return &Record{
		CallID:    id,
		Centre:    "demo",
		Caller:    "13800000000",
		Dialled:   "12345",
		LineMode:  "12345",
		StartedAt: Time(ended.Add(-time.Minute)),
		EndedAt:   Time(ended),
		EndReason: "caller_hangup",
		HangupBy:  "caller",
		Codec:     "PCMU",
	}
}

func TestRecordEmptyAndNullFields(t *testing.T) {
	r := minimalRecord("c1", time.Date(2026, 11, 23, 13, 31, 26, 123_000_000, cst))
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"ivr_path":     "[]",
		"transfers":    "[]",
		"offered_at":   "null",
		"answered_at":  "null",
		"survey_score": "null",
		"ended_at":     `"2026-11-23T13:31:26.123+08:00"`,
		"started_at":   `"2026-11-23T13:30:26.123+08:00"`,
		"wait_ms":      "0",
		"agent":        `""`,
	}
	for k, v := range want {
		if got := string(raw[k]); got != v {
			t.Errorf("%s = %s, want %s", k, got, v)
		}
	}
	if _, ok := raw["dtmf"]; ok {
		t.Errorf("dtmf present when empty: %s", b)
	}
	// Every contract field is present (CONTRACT.md "Call records").
	for _, k := range strings.Fields("call_id centre caller dialled line_mode ivr_path queue skill offered_at answered_at ended_at wait_ms talk_ms agent transfers recording survey_score end_reason") {
		if _, ok := raw[k]; !ok {
			t.Errorf("field %s missing", k)
		}
	}
}

func TestRecordRoundTrip(t *testing.T) {
	ended := time.Date(2026, 11, 23, 13, 31, 26, 123_000_000, cst)
	score := 5
	r := minimalRecord("c2", ended)
	r.IVRPath = []string{"welcome", "2"}
	r.Queue, r.Skill, r.Agent = "general", "agriculture", "1001"
	r.OfferedAt = At(ended.Add(-50 * time.Second))
	r.AnsweredAt = At(ended.Add(-45 * time.Second))
	r.WaitMs, r.TalkMs = 10_000, 45_000
	r.Transfers = []Transfer{{Target: "sip:12333@127.0.0.1:5092", Mode: "conference", RingMs: 4200, Answered: true}}
	r.Recording = "recordings/c2.wav"
	r.SurveyScore = &score
	r.DTMF = []string{"2", "#"}

	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"dtmf":["2","#"]`) || !strings.Contains(string(b), `"survey_score":5`) {
		t.Fatalf("dtmf or score missing: %s", b)
	}
	var back Record
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, err := json.Marshal(&back)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(b2) {
		t.Fatalf("round trip changed the record:\n%s\n%s", b, b2)
	}
	if !back.AnsweredAt.Std().Equal(r.AnsweredAt.Std()) || !reflect.DeepEqual(back.Transfers, r.Transfers) {
		t.Fatalf("round trip lost fields: %+v", back)
	}
}

func TestRecordMarshalDoesNotModify(t *testing.T) {
	r := minimalRecord("c3", time.Date(2026, 11, 23, 0, 0, 0, 0, cst))
	if _, err := json.Marshal(r); err != nil {
		t.Fatal(err)
	}
	if r.IVRPath != nil || r.Transfers != nil {
		t.Fatal("marshalling replaced nil slices in the caller's record")
	}
}

func TestQueueOutcome(t *testing.T) {
	at := Time{}
	for _, tc := range []struct {
		name string
		r    Record
		want string
	}{
		{"a seat answered", Record{AnsweredAt: &at, Agent: "1001", EndReason: "answered"}, OutcomeAnswered},
		{"hung up waiting", Record{EndReason: "abandoned"}, OutcomeAbandoned},
		{"hung up while a department rang", Record{EndReason: "abandoned", Transfers: []Transfer{{Mode: "transfer"}}}, OutcomeAbandoned},
		{"overflow message", Record{EndReason: "overflow"}, OutcomeOverflow},
		{"overflow to a department that answered", Record{AnsweredAt: &at, EndReason: "answered", Transfers: []Transfer{{Mode: "transfer", Answered: true}}}, OutcomeOverflow},
		{"kept a callback place", Record{EndReason: "callback"}, OutcomeCallback},
		{"already had one", Record{EndReason: "callback_duplicate"}, OutcomeCallback},
		{"lost in a crash", Record{EndReason: "lost"}, OutcomeOther},
	} {
		if got := QueueOutcome(&tc.r); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
