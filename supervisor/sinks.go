package supervisor

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// SinkBacklog is what a record sink has not delivered yet: records,
// the bytes they take on disk (a spool; 0 in memory) and the age in
// seconds of the oldest (0 when none).
type SinkBacklog struct {
	Records       int
	SpooledBytes  int64
	OldestSeconds float64
}

// RegisterSinkBacklog makes each scrape of /metrics call f for sink's
// backlog (hotline_records_backlog, _spooled_bytes,
// _oldest_undelivered_seconds). f runs on the scraping goroutine and must
// not block for long.
func (m *Metrics) RegisterSinkBacklog(sink string, f func() SinkBacklog) {
	if m == nil {
		return
	}
	m.sinks.mu.Lock()
	defer m.sinks.mu.Unlock()
	m.sinks.sources[sink] = f
}

// sinkCollector turns the registered backlog funcs into gauges.
type sinkCollector struct {
	mu                     sync.Mutex
	sources                map[string]func() SinkBacklog
	records, bytes, oldest *prometheus.Desc
}

func newSinkCollector() *sinkCollector {
	return &sinkCollector{
		sources: map[string]func() SinkBacklog{},
		records: prometheus.NewDesc("hotline_records_backlog", "Call records not yet delivered to a sink, by sink.", []string{"sink"}, nil),
		bytes:   prometheus.NewDesc("hotline_records_spooled_bytes", "Bytes of undelivered call records spooled on disk, by sink.", []string{"sink"}, nil),
		oldest:  prometheus.NewDesc("hotline_records_oldest_undelivered_seconds", "Age of the oldest call record not yet delivered to a sink (0: none), by sink.", []string{"sink"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *sinkCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.records
	ch <- c.bytes
	ch <- c.oldest
}

// Collect implements prometheus.Collector.
func (c *sinkCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for sink, f := range c.sources {
		b := f()
		ch <- prometheus.MustNewConstMetric(c.records, prometheus.GaugeValue, float64(b.Records), sink)
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(b.SpooledBytes), sink)
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, b.OldestSeconds, sink)
	}
}
