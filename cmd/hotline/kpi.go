package main

import (
	"context"
	"time"

	"github.com/hotline-cc/hotline/records"
	"github.com/hotline-cc/hotline/supervisor"
)

// The contact-centre metrics (issue 12): counters and histograms from the
// call records as the journal feed carries them, gauges from the ACD at
// scrape time.

// startQueueMetrics feeds the queue metrics from the journal's records and
// registers the ACD as the source of the queue and agent gauges.
func (c *centre) startQueueMetrics() {
	feed := c.journal.Feed()
	go followRecords(feed, feed.Last(), func(r *records.Record) {
		var wrap time.Duration
		if q, ok := c.cfg.Load().Queue(r.Queue); ok {
			wrap = q.WrapUp
		}
		c.metrics.ObserveRecord(r, wrap)
	})
	c.metrics.RegisterQueueSource(c.queueGauges)
}

// queueGauges reads this node's queues and every agent from the ACD.
func (c *centre) queueGauges() ([]supervisor.QueueState, []supervisor.AgentCount) {
	var qs []supervisor.QueueState
	for _, q := range c.engine.QueueInfo() {
		s := supervisor.QueueState{Name: q.Name, Waiting: q.Waiting}
		for _, w := range q.Calls {
			if w.Callback { // a kept place: nobody is on the line
				s.CallbacksKept++
				continue
			}
			s.LongestWait = max(s.LongestWait, w.Wait)
		}
		qs = append(qs, s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	agents, err := c.engine.AgentInfo(ctx)
	if err != nil {
		c.log.Warn("metrics: agents not read", "error", err)
		return qs, nil
	}
	cfg := c.cfg.Load()
	var counts []supervisor.AgentCount
	index := map[[2]string]int{}
	for _, q := range cfg.Queues {
		for _, a := range agents {
			if _, has := a.Skills[q.Skill]; !has {
				continue
			}
			k := [2]string{q.Name, string(a.State)}
			i, ok := index[k]
			if !ok {
				i = len(counts)
				index[k] = i
				counts = append(counts, supervisor.AgentCount{Queue: q.Name, State: string(a.State)})
			}
			counts[i].N++
		}
	}
	return qs, counts
}
