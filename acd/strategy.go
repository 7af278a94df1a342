package acd

import (
	"time"

	"github.com/hotline-cc/hotline/queue"
	"github.com/hotline-cc/hotline/store"
)

// candidate is a seat that may take a given call, with its best level in
// the skills the call needs.
type candidate struct {
	rec   *store.AgentRecord
	at    int // in the dispatcher's view
	level int
	idle  int64 // idleSince in Unix ns
}

// idleSince is when the seat last became idle (its longest-idle key).
func idleSince(s store.Status) time.Time {
	if !s.IdleSince.IsZero() {
		return s.IdleSince
	}
	return s.Since
}

// callsOn is the seat's number of answered calls on day.
func callsOn(s store.Status, day string) int {
	if s.Day != day {
		return 0
	}
	return s.CallsToday
}

// idleLess: longer idle first, then extension (a stable tie-break).
func idleLess(a, b candidate) bool {
	if a.idle != b.idle {
		return a.idle < b.idle
	}
	return a.rec.Agent.Ext < b.rec.Agent.Ext
}

// better reports whether a should be offered before b under strategy s.
// lastRR is the extension the queue's round robin offered last.
func better(s queue.Strategy, a, b candidate, lastRR, day string) bool {
	switch s {
	case FewestCallsStrategy:
		ca, cb := callsOn(a.rec.Status, day), callsOn(b.rec.Status, day)
		if ca != cb {
			return ca < cb
		}
	case SkillLevelStrategy:
		if a.level != b.level {
			return a.level > b.level
		}
	case RoundRobinStrategy:
		ea, eb := a.rec.Agent.Ext, b.rec.Agent.Ext
		if (ea > lastRR) != (eb > lastRR) {
			return ea > lastRR
		}
		return ea < eb
	}
	return idleLess(a, b)
}

// Strategy names, re-exported for readers of acd.
const (
	LongestIdleStrategy = queue.LongestIdle
	FewestCallsStrategy = queue.FewestCalls
	RoundRobinStrategy  = queue.RoundRobin
	SkillLevelStrategy  = queue.SkillLevel
	RingAllStrategy     = queue.RingAll
)

// pick returns the index of the best candidate under s (-1 when none).
func pick(s queue.Strategy, cands []candidate, lastRR, day string) int {
	best := -1
	for i := range cands {
		if best < 0 || better(s, cands[i], cands[best], lastRR, day) {
			best = i
		}
	}
	return best
}
