package supervisor

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/hotline-cc/hotline/records"
)

// exercise touches every method so that every family has a sample.
func exercise(m *Metrics) {
	m.SIPRequest("INVITE")
	m.SIPResponse("INVITE", 200)
	m.CallStarted("12345")
	m.CallEnded("caller_hangup", 90*time.Second)
	m.SetActiveCalls(3)
	m.SetRegistrations(40)
	at := records.Time(time.Unix(1764720000, 0))
	score := 2
	m.ObserveRecord(&records.Record{Queue: "general", QueuedAt: &at, AnsweredAt: &at, Agent: "1001", WaitMs: 12000, TalkMs: 95000, SurveyScore: &score}, 10*time.Second)
	m.ObserveRecord(&records.Record{Queue: "general", QueuedAt: &at, EndReason: "abandoned", WaitMs: 4000}, 0)
	m.RegisterQueueSource(func() ([]QueueState, []AgentCount) {
		return []QueueState{{Name: "general", Waiting: 3, LongestWait: 42 * time.Second, CallbacksKept: 1}},
			[]AgentCount{{Queue: "general", State: "ready", N: 5}}
	})
	m.SetTrunkUp("carrier", true)
	m.RegisterSinkBacklog("webhook", func() SinkBacklog { return SinkBacklog{Records: 2, SpooledBytes: 900, OldestSeconds: 3.5} })
	m.RegisterFailure("auth")
	m.RecordDelivered("redis_stream", false)
	m.RecordDelivered("redis_stream", true)
	m.RegisterRTPStats(func() RTPStats {
		return RTPStats{Received: 10, Sent: 20, Relayed: 30, Dropped: map[string]uint64{"source": 1}, Timeouts: 2, Sessions: 4}
	})
}

// standardPrefixes are the Go runtime and process collectors' families.
var standardPrefixes = []string{"go_", "process_"}

func isStandard(name string) bool {
	for _, p := range standardPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func TestMetricNamesLint(t *testing.T) {
	m := NewMetrics()
	exercise(m)
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	want := map[string]bool{
		"hotline_sip_requests_total": false, "hotline_sip_responses_total": false,
		"hotline_calls_started_total": false, "hotline_calls_ended_total": false,
		"hotline_call_duration_seconds": false, "hotline_calls_active": false,
		"hotline_registrations": false, "hotline_register_failures_total": false,
		"hotline_rtp_packets_received_total": false, "hotline_rtp_packets_sent_total": false,
		"hotline_rtp_packets_relayed_total": false, "hotline_rtp_packets_dropped_total": false,
		"hotline_rtp_sessions_active": false, "hotline_rtp_timeouts_total": false, "hotline_rtp_rooms_mixing": false,
		"hotline_rtp_kernel_path": false, "hotline_rtp_kernel_legs": false, "hotline_rtp_packets_relayed_kernel_total": false,
		"hotline_recordings_active": false, "hotline_records_backlog": false, "hotline_records_spooled_bytes": false,
		"hotline_records_oldest_undelivered_seconds": false,
		"hotline_queue_calls_total":                  false, "hotline_queue_wait_seconds": false, "hotline_agent_handle_seconds": false,
		"hotline_survey_results_total": false, "hotline_queue_waiting": false, "hotline_queue_longest_wait_seconds": false,
		"hotline_queue_callbacks_kept": false, "hotline_agents": false, "hotline_trunk_up": false,
		"hotline_records_delivered_total": false, "hotline_records_delivery_failures_total": false,
	}
	for _, mf := range mfs {
		name := mf.GetName()
		if isStandard(name) {
			continue
		}
		if !strings.HasPrefix(name, "hotline_") {
			t.Errorf("metric %s lacks the hotline_ prefix", name)
		}
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected metric %s (add it to this list and the README)", name)
		}
		want[name] = true
	}
	for name, seen := range want {
		if !seen {
			t.Errorf("metric %s not exposed", name)
		}
	}
}

func TestMetricValues(t *testing.T) {
	m := NewMetrics()
	exercise(m)
	m.SIPRequest("INVITE")
	m.SIPRequest("HACK")
	m.SIPRequest("invite")
	m.SIPResponse("INVITE", 9999)

	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{"requests INVITE", testutil.ToFloat64(m.sipRequests.WithLabelValues("INVITE")), 2},
		{"unknown methods as other", testutil.ToFloat64(m.sipRequests.WithLabelValues("other")), 2},
		{"responses INVITE 200", testutil.ToFloat64(m.sipResponses.WithLabelValues("INVITE", "200")), 1},
		{"bad code as other", testutil.ToFloat64(m.sipResponses.WithLabelValues("INVITE", "other")), 1},
		{"calls started", testutil.ToFloat64(m.callsStarted.WithLabelValues("12345")), 1},
		{"calls ended", testutil.ToFloat64(m.callsEnded.WithLabelValues("caller_hangup")), 1},
		{"active", testutil.ToFloat64(m.callsActive), 3},
		{"registrations", testutil.ToFloat64(m.registrations), 40},
		{"register failures", testutil.ToFloat64(m.registerFailures.WithLabelValues("auth")), 1},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestRTPStatsReadAtScrape(t *testing.T) {
	m := NewMetrics()
	if n := testutil.CollectAndCount(m.rtp); n != 0 {
		t.Fatalf("%d RTP metrics before RegisterRTPStats, want 0", n)
	}
	var stats RTPStats
	m.RegisterRTPStats(func() RTPStats { return stats })
	stats = RTPStats{Received: 1000, Sent: 500, Relayed: 900, Dropped: map[string]uint64{"source": 7}, Timeouts: 1, Sessions: 12}
	const want = `
# HELP hotline_rtp_packets_dropped_total RTP packets dropped, by reason: malformed, payload_type, source (not the learnt peer), dtmf_limit, relay, output, srtp_auth (wrong SRTP auth tag), srtp_replay.
# TYPE hotline_rtp_packets_dropped_total counter
hotline_rtp_packets_dropped_total{reason="source"} 7
# HELP hotline_rtp_packets_received_total RTP packets received on all media sessions.
# TYPE hotline_rtp_packets_received_total counter
hotline_rtp_packets_received_total 1000
# HELP hotline_rtp_sessions_active Media sessions open.
# TYPE hotline_rtp_sessions_active gauge
hotline_rtp_sessions_active 12
`
	err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"hotline_rtp_packets_received_total", "hotline_rtp_packets_dropped_total", "hotline_rtp_sessions_active")
	if err != nil {
		t.Fatal(err)
	}
}

func TestCallDurationHistogram(t *testing.T) {
	m := NewMetrics()
	m.CallEnded("no_seat", 2*time.Second)
	m.CallEnded("caller_hangup", 400*time.Second)
	if n := testutil.CollectAndCount(m.callDuration); n != 1 {
		t.Fatalf("histogram series = %d", n)
	}
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "hotline_call_duration_seconds" {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		if h.GetSampleCount() != 2 || h.GetSampleSum() != 402 {
			t.Fatalf("count %d sum %v", h.GetSampleCount(), h.GetSampleSum())
		}
		return
	}
	t.Fatal("hotline_call_duration_seconds not gathered")
}

func TestNilMetricsRecordsNothing(t *testing.T) {
	var m *Metrics
	exercise(m) // must not panic
}
