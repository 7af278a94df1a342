package supervisor

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-cc/hotline/records"
)

// Queue outcomes of hotline_queue_calls_total. A call that reached a
// queue counts once as offered and once under its outcome: answered (a
// seat answered it), abandoned (the caller hung up waiting or ringing),
// overflow (moved on by max_wait or a full queue: a message, a
// department), callback (it hung up keeping its place for a callback), or
// other (lost in a crash, shut down, media lost, ...). A callback call
// counts callback_reached when the caller answered it and a seat took it
// (it is not offered again).
const (
	OutcomeOffered         = "offered"
	OutcomeAnswered        = records.OutcomeAnswered
	OutcomeAbandoned       = records.OutcomeAbandoned
	OutcomeOverflow        = records.OutcomeOverflow
	OutcomeCallback        = records.OutcomeCallback
	OutcomeCallbackReached = "callback_reached"
	OutcomeOther           = records.OutcomeOther
)

// WaitBuckets are the upper bounds of hotline_queue_wait_seconds: 15 s is
// the national answer target (GB/T 33358), 5 s the usual short abandon.
var WaitBuckets = []float64{5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600}

// HandleBuckets are the upper bounds of hotline_agent_handle_seconds.
var HandleBuckets = []float64{30, 60, 120, 180, 240, 300, 450, 600, 900, 1200, 1800}

// QueueState is what the ACD holds for a queue now (this node's calls).
type QueueState struct {
	Name          string
	Waiting       int
	LongestWait   time.Duration
	CallbacksKept int
}

// AgentCount is how many agents of a queue's skill are in a state.
type AgentCount struct {
	Queue, State string
	N            int
}

// QueueSource gives the queue and agent figures at scrape time; it runs
// on the scraping goroutine and must not block for long.
type QueueSource func() ([]QueueState, []AgentCount)

// queueMetrics are the contact-centre figures: counters and histograms fed
// by the call records (ObserveRecord), gauges read from the ACD on scrape.
type queueMetrics struct {
	calls   *prometheus.CounterVec
	wait    *prometheus.HistogramVec
	handle  *prometheus.HistogramVec
	surveys *prometheus.CounterVec

	mu                             sync.Mutex
	source                         QueueSource
	waiting, longest, kept, agents *prometheus.Desc
}

func newQueueMetrics() *queueMetrics {
	return &queueMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_queue_calls_total",
			Help: "Calls that reached a queue (outcome offered), and what became of them: answered, abandoned, overflow, callback, callback_reached, other.",
		}, []string{"queue", "outcome"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hotline_queue_wait_seconds",
			Help:    "Time callers waited in a queue, by outcome (answered: until a seat answered; abandoned: until they hung up). The 15 s bucket is the service level.",
			Buckets: WaitBuckets,
		}, []string{"queue", "outcome"}),
		handle: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hotline_agent_handle_seconds",
			Help:    "Handle time of answered calls (talk plus the queue's wrap-up), by queue.",
			Buckets: HandleBuckets,
		}, []string{"queue"}),
		surveys: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_survey_results_total",
			Help: "Satisfaction survey grades keyed by callers (1 very satisfied .. 5 very dissatisfied), by queue.",
		}, []string{"queue", "score"}),
		waiting: prometheus.NewDesc("hotline_queue_waiting", "Callers waiting in a queue now (this node), kept callback places included.", []string{"queue"}, nil),
		longest: prometheus.NewDesc("hotline_queue_longest_wait_seconds", "The longest wait of a caller on the line in a queue now (this node; kept callback places not counted); 0 when none waits.", []string{"queue"}, nil),
		kept:    prometheus.NewDesc("hotline_queue_callbacks_kept", "Callback places kept in a queue now (this node).", []string{"queue"}, nil),
		agents:  prometheus.NewDesc("hotline_agents", "Agents of a queue's skill by ACD state (an agent counts in every queue of its skills).", []string{"queue", "state"}, nil),
	}
}

func (q *queueMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{q.calls, q.wait, q.handle, q.surveys, (*queueGauges)(q)}
}

// queueGauges is the scrape-time part of queueMetrics.
type queueGauges queueMetrics

// Describe implements prometheus.Collector.
func (g *queueGauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{g.waiting, g.longest, g.kept, g.agents} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (g *queueGauges) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	f := g.source
	g.mu.Unlock()
	if f == nil {
		return
	}
	queues, agents := f()
	for _, q := range queues {
		ch <- prometheus.MustNewConstMetric(g.waiting, prometheus.GaugeValue, float64(q.Waiting), q.Name)
		ch <- prometheus.MustNewConstMetric(g.longest, prometheus.GaugeValue, q.LongestWait.Seconds(), q.Name)
		ch <- prometheus.MustNewConstMetric(g.kept, prometheus.GaugeValue, float64(q.CallbacksKept), q.Name)
	}
	for _, a := range agents {
		ch <- prometheus.MustNewConstMetric(g.agents, prometheus.GaugeValue, float64(a.N), a.Queue, a.State)
	}
}

// RegisterQueueSource makes each scrape read the queues and agents from f.
func (m *Metrics) RegisterQueueSource(f QueueSource) {
	if m == nil {
		return
	}
	m.queues.mu.Lock()
	defer m.queues.mu.Unlock()
	m.queues.source = f
}

// ObserveRecord counts a call record in the queue figures: wrapUp is its
// queue's wrap-up, part of the handle time. Records of calls that reached
// no queue (a department's line, a seat-to-seat call) are not counted.
func (m *Metrics) ObserveRecord(r *records.Record, wrapUp time.Duration) {
	if m == nil || r.Queue == "" {
		return
	}
	q := m.queues
	answered := r.AnsweredAt != nil && r.Agent != ""
	if r.LineMode == "callback" {
		if answered {
			q.calls.WithLabelValues(r.Queue, OutcomeCallbackReached).Inc()
		}
	} else if r.QueuedAt != nil || r.OfferedAt != nil { // as report counts offered
		q.calls.WithLabelValues(r.Queue, OutcomeOffered).Inc()
		outcome := records.QueueOutcome(r)
		q.calls.WithLabelValues(r.Queue, outcome).Inc()
		if outcome == OutcomeAnswered || outcome == OutcomeAbandoned {
			q.wait.WithLabelValues(r.Queue, outcome).Observe(float64(r.WaitMs) / 1000)
		}
	}
	if answered {
		q.handle.WithLabelValues(r.Queue).Observe(float64(r.TalkMs)/1000 + wrapUp.Seconds())
	}
	if r.SurveyScore != nil {
		q.surveys.WithLabelValues(r.Queue, strconv.Itoa(*r.SurveyScore)).Inc()
	}
}
