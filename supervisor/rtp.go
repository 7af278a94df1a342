package supervisor

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// RTPStats are the media layer's running totals (media.Manager.Stats), read
// from its atomics at scrape time.
type RTPStats struct {
	Received, Sent, Relayed, Timeouts uint64
	Dropped                           map[string]uint64 // by reason (the metric's label)
	Sessions                          int
	RoomsMixing                       int    // calls mixed now (three or more parties, or monitored)
	Recordings                        int    // calls being recorded now
	KernelPath                        bool   // bridged legs may be relayed by the kernel fast path
	KernelLegs                        int    // legs the kernel relays now
	KernelRelayed                     uint64 // of Relayed, those the kernel relayed
}

// RegisterRTPStats makes each scrape of /metrics call f for the RTP figures,
// so the packet path updates only its own atomics and never a metric. f runs
// on the scraping goroutine and must not block. A later call replaces f;
// until the first call no RTP metric is exposed.
func (m *Metrics) RegisterRTPStats(f func() RTPStats) {
	if m == nil {
		return
	}
	m.rtp.source.Store(&f)
}

// rtpCollector turns an RTPStats func into const metrics at scrape time.
type rtpCollector struct {
	source   atomic.Pointer[func() RTPStats]
	received *prometheus.Desc
	sent     *prometheus.Desc
	relayed  *prometheus.Desc
	dropped  *prometheus.Desc
	timeouts *prometheus.Desc
	sessions *prometheus.Desc
	rooms    *prometheus.Desc
	recs     *prometheus.Desc
	kpath    *prometheus.Desc
	klegs    *prometheus.Desc
	krelayed *prometheus.Desc
}

func newRTPCollector() *rtpCollector {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &rtpCollector{
		received: desc("hotline_rtp_packets_received_total", "RTP packets received on all media sessions."),
		sent:     desc("hotline_rtp_packets_sent_total", "RTP packets sent by the engine (prompts, tones)."),
		relayed:  desc("hotline_rtp_packets_relayed_total", "RTP packets relayed from one leg to another."),
		dropped:  desc("hotline_rtp_packets_dropped_total", "RTP packets dropped, by reason: malformed, payload_type, source (not the learnt peer), dtmf_limit, relay, output, srtp_auth (wrong SRTP auth tag), srtp_replay.", "reason"),
		timeouts: desc("hotline_rtp_timeouts_total", "Media sessions ended because no RTP arrived in time."),
		sessions: desc("hotline_rtp_sessions_active", "Media sessions open."),
		rooms:    desc("hotline_rtp_rooms_mixing", "Calls whose media is mixed now: three or more parties, or a supervisor monitoring."),
		recs:     desc("hotline_recordings_active", "Calls being recorded now."),
		kpath:    desc("hotline_rtp_kernel_path", "1 when bridged same-codec legs are relayed by the kernel fast path (eBPF), 0 when every packet goes through user space."),
		klegs:    desc("hotline_rtp_kernel_legs", "Legs whose RTP the kernel fast path relays now."),
		krelayed: desc("hotline_rtp_packets_relayed_kernel_total", "Of the relayed RTP packets, those the kernel fast path relayed."),
	}
}

// Describe implements prometheus.Collector.
func (c *rtpCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.received, c.sent, c.relayed, c.dropped, c.timeouts, c.sessions, c.rooms, c.recs, c.kpath, c.klegs, c.krelayed} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *rtpCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.source.Load()
	if f == nil {
		return
	}
	s := (*f)()
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	counter(c.received, s.Received)
	counter(c.sent, s.Sent)
	counter(c.relayed, s.Relayed)
	for reason, n := range s.Dropped {
		ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(n), reason)
	}
	counter(c.timeouts, s.Timeouts)
	ch <- prometheus.MustNewConstMetric(c.sessions, prometheus.GaugeValue, float64(s.Sessions))
	ch <- prometheus.MustNewConstMetric(c.rooms, prometheus.GaugeValue, float64(s.RoomsMixing))
	ch <- prometheus.MustNewConstMetric(c.recs, prometheus.GaugeValue, float64(s.Recordings))
	kpath := 0.0
	if s.KernelPath {
		kpath = 1
	}
	ch <- prometheus.MustNewConstMetric(c.kpath, prometheus.GaugeValue, kpath)
	ch <- prometheus.MustNewConstMetric(c.klegs, prometheus.GaugeValue, float64(s.KernelLegs))
	counter(c.krelayed, s.KernelRelayed)
}
