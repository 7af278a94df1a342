package main

import (
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/config"

	"github.com/hotline-cc/hotline/records"
	"github.com/hotline-cc/hotline/supervisor"
)

// The contact-centre metrics (issue 12): counters and histograms from the
// call records as the journal feed carries them, gauges from the ACD at
// scrape time.

// observeQueue counts an ended call in the queue metrics, its queue's
// wrap-up in its handle time.
func (c *centre) observeQueue(r *records.Record) {
	var wrap time.Duration
	if q, ok := c.cfg.Load().Queue(r.Queue); ok {
		wrap = q.WrapUp
	}
	c.metrics.ObserveRecord(r, wrap)
}

// queueGauges reads this node's queues and every agent from the ACD.
func (c *centre) queueGauges() ([]supervisor.QueueState, []supervisor.AgentCount) {
	var qs []supervisor.QueueState
	for _, q := range c.engine.QueueInfo() {
		longest, kept := onTheLine(q)
		qs = append(qs, supervisor.QueueState{Name: q.Name, Waiting: q.Waiting, LongestWait: longest, CallbacksKept: kept})
	}
	agents, err := liveState{c}.agents()
	if err != nil {
		c.log.Warn("metrics: agents not read", "error", err)
		return qs, nil
	}
	var counts []supervisor.AgentCount
	for queue, states := range agentsByQueue(c.cfg.Load(), agents) {
		for state, n := range states {
			counts = append(counts, supervisor.AgentCount{Queue: queue, State: state, N: n})
		}
	}
	return qs, counts
}

// onTheLine is a queue's longest wait of a caller on the line and its
// kept callback places (nobody is on the line for those).
func onTheLine(q acd.QueueInfo) (longest time.Duration, kept int) {
	for _, w := range q.Calls {
		if w.Callback {
			kept++
			continue
		}
		longest = max(longest, w.Wait)
	}
	return longest, kept
}

// agentsByQueue counts the agents of each queue's skill by state (an agent
// counts in every queue of its skills).
func agentsByQueue(cfg *config.Config, agents []acd.AgentInfo) map[string]map[string]int {
	out := make(map[string]map[string]int, len(cfg.Queues))
	for _, q := range cfg.Queues {
		byState := map[string]int{}
		for _, a := range agents {
			if _, has := a.Skills[q.Skill]; has {
				byState[string(a.State)]++
			}
		}
		out[q.Name] = byState
	}
	return out
}
