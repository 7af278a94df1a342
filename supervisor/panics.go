package supervisor

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// PanicCount is one component's number of recovered panics.
type PanicCount struct {
	Component string
	N         uint64
}

// RegisterPanics makes each scrape of /metrics call f for the recovered
// panics by component (hotline_panics_total{component}). f runs on the
// scraping goroutine and must not block.
func (m *Metrics) RegisterPanics(f func() []PanicCount) {
	if m == nil {
		return
	}
	if m.panics.source.Swap(&f) == nil {
		m.registry.MustRegister(&m.panics)
	}
}

// panicCollector turns a PanicCount func into const counters at scrape time.
type panicCollector struct {
	source atomic.Pointer[func() []PanicCount]
}

var panicsDesc = prometheus.NewDesc("hotline_panics_total",
	"Panics recovered in hotline's own goroutines, by component; each ended only the request, call or loop concerned.",
	[]string{"component"}, nil)

func (c *panicCollector) Describe(ch chan<- *prometheus.Desc) { ch <- panicsDesc }

func (c *panicCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.source.Load()
	if f == nil {
		return
	}
	for _, p := range (*f)() {
		ch <- prometheus.MustNewConstMetric(panicsDesc, prometheus.CounterValue, float64(p.N), p.Component)
	}
}
