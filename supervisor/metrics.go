package supervisor

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics is the one place hotline's metrics are created and registered. It
// owns a private prometheus.Registry (never the global one) holding the Go
// and process collectors and every hotline_ collector. Its methods are safe
// for concurrent use and do not block; a nil *Metrics records nothing, so
// packages under test can pass nil.
//
// Label values never carry caller numbers: lines are configured line numbers
// (or "seat"), reasons come from the engine's own vocabulary, and SIP methods
// outside the known set are counted as "other".
type Metrics struct {
	registry *prometheus.Registry

	sipRequests      *prometheus.CounterVec
	sipResponses     *prometheus.CounterVec
	callsStarted     *prometheus.CounterVec
	callsEnded       *prometheus.CounterVec
	callDuration     prometheus.Histogram
	callsActive      prometheus.Gauge
	transfers        *prometheus.CounterVec
	transferAnswer   *prometheus.HistogramVec
	registrations    prometheus.Gauge
	registerFailures *prometheus.CounterVec
	callsRejected    *prometheus.CounterVec
	sinkDelivered    *prometheus.CounterVec
	sinkFailed       *prometheus.CounterVec
	rtp              *rtpCollector
	sinks            *sinkCollector
	trunkUp          *prometheus.GaugeVec
	queues           *queueMetrics
	panics           panicCollector
}

// NewMetrics creates every collector and registers it on a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		sipRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_sip_requests_total",
			Help: "SIP requests received, by method.",
		}, []string{"method"}),
		sipResponses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_sip_responses_total",
			Help: "SIP responses sent, by request method and status code.",
		}, []string{"method", "code"}),
		callsStarted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_calls_started_total",
			Help: "Calls started, by dialled line (\"seat\" for calls from agent seats).",
		}, []string{"line"}),
		callsEnded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_calls_ended_total",
			Help: "Calls ended, by end reason.",
		}, []string{"reason"}),
		callDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hotline_call_duration_seconds",
			Help: "Duration of ended calls, from first INVITE to end.",
			// From abandoned in the greeting (seconds) to long consultations (an hour).
			Buckets: []float64{1, 5, 10, 30, 60, 120, 180, 300, 600, 900, 1800, 3600},
		}),
		transfers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_transfers_total",
			Help: "Agents' transfers to directory entries, by entry and result (answered, no_answer, busy, failed, cancelled).",
		}, []string{"entry", "result"}),
		trunkUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hotline_trunk_up",
			Help: "Whether a trunk answers the engine's OPTIONS pings (1 up, 0 down after 3 failures in a row), by trunk.",
		}, []string{"trunk"}),
		transferAnswer: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hotline_transfer_answer_seconds",
			Help:    "Time from a transfer's INVITE to the target's answer, by directory entry (the 15 s bucket is the departments' target).",
			Buckets: []float64{2, 5, 10, 15, 20, 30, 60},
		}, []string{"entry"}),
		callsActive: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_calls_active",
			Help: "Calls in progress.",
		}),
		registrations: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_registrations",
			Help: "Agent seat registrations currently bound.",
		}),
		registerFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_register_failures_total",
			Help: "REGISTER requests refused, by reason.",
		}, []string{"reason"}),
		callsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_calls_rejected_total",
			Help: "New calls refused with 503 at the SIP edge, by limit (max_calls, trunk_rate, draining, ...).",
		}, []string{"reason"}),
		sinkDelivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_records_delivered_total",
			Help: "Call records delivered to a sink beside the records files, by sink (redis_stream).",
		}, []string{"sink"}),
		sinkFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_records_delivery_failures_total",
			Help: "Failed attempts to deliver a call record to a sink (each is retried), by sink.",
		}, []string{"sink"}),
		rtp:    newRTPCollector(),
		sinks:  newSinkCollector(),
		queues: newQueueMetrics(),
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.sipRequests, m.sipResponses,
		m.callsStarted, m.callsEnded, m.callDuration, m.callsActive,
		m.transfers, m.transferAnswer, m.trunkUp,
		m.registrations, m.registerFailures, m.callsRejected,
		m.sinkDelivered, m.sinkFailed,
		m.rtp,
		m.sinks,
	)
	m.registry.MustRegister(m.queues.collectors()...)
	return m
}

// Registry returns the registry /metrics serves; callers may register more
// collectors on it (names must start with hotline_).
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// SIPRequest counts a SIP request received. Called by the SIP layer's handlers.
func (m *Metrics) SIPRequest(method string) {
	if m == nil {
		return
	}
	m.sipRequests.WithLabelValues(methodLabel(method)).Inc()
}

// SIPResponse counts a SIP response we sent to a request of method.
func (m *Metrics) SIPResponse(method string, code int) {
	if m == nil {
		return
	}
	m.sipResponses.WithLabelValues(methodLabel(method), codeLabel(code)).Inc()
}

// CallRejected counts a new call refused with 503 at the SIP edge, by the
// limit that refused it. Called on SIP handler goroutines.
func (m *Metrics) CallRejected(reason string) {
	if m == nil {
		return
	}
	m.callsRejected.WithLabelValues(reason).Inc()
}

// CallStarted counts a new call on line: the configured line number dialled,
// or "seat" for calls placed by agent seats. Never a caller's number.
func (m *Metrics) CallStarted(line string) {
	if m == nil {
		return
	}
	m.callsStarted.WithLabelValues(line).Inc()
}

// CallEnded counts an ended call by its end reason and observes its duration.
func (m *Metrics) CallEnded(reason string, d time.Duration) {
	if m == nil {
		return
	}
	m.callsEnded.WithLabelValues(reason).Inc()
	m.callDuration.Observe(d.Seconds())
}

// Transfer counts an agent's transfer to directory entry by result, and
// observes its answer time when it was answered.
func (m *Metrics) Transfer(entry, result string, ring time.Duration, answered bool) {
	if m == nil {
		return
	}
	m.transfers.WithLabelValues(entry, result).Inc()
	if answered {
		m.transferAnswer.WithLabelValues(entry).Observe(ring.Seconds())
	}
}

// SetTrunkUp sets whether trunk answers its OPTIONS pings.
func (m *Metrics) SetTrunkUp(trunk string, up bool) {
	if m == nil {
		return
	}
	v := 0.0
	if up {
		v = 1
	}
	m.trunkUp.WithLabelValues(trunk).Set(v)
}

// RecordDelivered counts a record delivered to sink; failed counts a
// failed attempt instead.
func (m *Metrics) RecordDelivered(sink string, failed bool) {
	if m == nil {
		return
	}
	if failed {
		m.sinkFailed.WithLabelValues(sink).Inc()
		return
	}
	m.sinkDelivered.WithLabelValues(sink).Inc()
}

// SetActiveCalls sets the number of calls in progress.
func (m *Metrics) SetActiveCalls(n int) {
	if m == nil {
		return
	}
	m.callsActive.Set(float64(n))
}

// SetRegistrations sets the number of seat registrations bound.
func (m *Metrics) SetRegistrations(n int) {
	if m == nil {
		return
	}
	m.registrations.Set(float64(n))
}

// RegisterFailure counts a refused REGISTER by reason (e.g. "auth", "unknown_user").
func (m *Metrics) RegisterFailure(reason string) {
	if m == nil {
		return
	}
	m.registerFailures.WithLabelValues(reason).Inc()
}

// methodLabel bounds the method label: anything else a peer sends is "other".
func methodLabel(method string) string {
	switch method {
	case "INVITE", "ACK", "BYE", "CANCEL", "REGISTER", "OPTIONS", "INFO", "REFER",
		"NOTIFY", "SUBSCRIBE", "UPDATE", "PRACK", "MESSAGE", "PUBLISH":
		return method
	}
	return "other"
}

func codeLabel(code int) string {
	if code < 100 || code > 699 {
		return "other"
	}
	return strconv.Itoa(code)
}
