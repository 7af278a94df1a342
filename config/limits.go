package config

import (
	"time"

	"go.yaml.in/yaml/v3"
)

// Limits is the limits section: admission control. Over a call limit an
// INVITE gets 503 with Retry-After; over a per-source rate a request is
// answered 503 or dropped without costing other sources. 0 means no limit
// wherever a count or rate is 0.
type Limits struct {
	// MaxCalls bounds the calls in progress (trunk and seat calls).
	MaxCalls int
	// TrunkCallsPerSecond bounds the new calls each trunk may bring per
	// second (a token bucket whose burst is one second's worth).
	TrunkCallsPerSecond int
	// MaxWaiting bounds the callers waiting in all queues together; a new
	// call while it is reached gets 503. Each queue's own bound is its
	// max_length (MaxWaitingPerQueue when a queue sets none).
	MaxWaiting, MaxWaitingPerQueue int
	// SourceRequestsPerSecond and SourceRegistersPerSecond bound what one
	// source IP outside every trunk ACL may send: every request, and
	// REGISTERs among them. The burst is twice the rate.
	SourceRequestsPerSecond, SourceRegistersPerSecond int
	// TCPConnectionsPerSource caps the SIP TCP connections one IP may hold
	// open; TCPIdleTimeout closes a connection nothing was read on for so long.
	TCPConnectionsPerSource int
	TCPIdleTimeout          time.Duration
	// RetryAfter is the Retry-After of a 503 sent for a limit.
	RetryAfter time.Duration
}

// Defaults of the limits section: generous for a centre of 200 seats, tight
// for a stranger.
const (
	defaultMaxCalls           = 2000
	defaultSourceRequests     = 100
	defaultSourceRegisters    = 20
	defaultTCPPerSource       = 32
	defaultTCPIdleTimeout     = 20 * time.Minute
	defaultLimitRetryAfter    = 5 * time.Second
	maxLimitCount             = 1_000_000
	minTCPIdleTimeout         = 10 * time.Second
	minLimitRetryAfter        = time.Second
	maxLimitRetryAfterSeconds = 3600
)

func defaultLimits() Limits {
	return Limits{
		MaxCalls:                 defaultMaxCalls,
		SourceRequestsPerSecond:  defaultSourceRequests,
		SourceRegistersPerSecond: defaultSourceRegisters,
		TCPConnectionsPerSource:  defaultTCPPerSource,
		TCPIdleTimeout:           defaultTCPIdleTimeout,
		RetryAfter:               defaultLimitRetryAfter,
	}
}

func (p *parser) limits(path string, n *yaml.Node) {
	l := &p.c.Limits
	count := func(dst *int) func(string, *yaml.Node) {
		return func(path string, v *yaml.Node) {
			if i, ok := p.integer(path, v, 0, maxLimitCount); ok {
				*dst = i
			}
		}
	}
	p.mapping(path, n, fields{
		"max_calls":                   count(&l.MaxCalls),
		"trunk_calls_per_second":      count(&l.TrunkCallsPerSecond),
		"max_waiting":                 count(&l.MaxWaiting),
		"max_waiting_per_queue":       count(&l.MaxWaitingPerQueue),
		"source_requests_per_second":  count(&l.SourceRequestsPerSecond),
		"source_registers_per_second": count(&l.SourceRegistersPerSecond),
		"tcp_connections_per_source":  count(&l.TCPConnectionsPerSource),
		"tcp_idle_timeout": func(path string, v *yaml.Node) {
			setDuration(&p.reader, &l.TCPIdleTimeout, path, v, minTCPIdleTimeout)
		},
		"retry_after": func(path string, v *yaml.Node) {
			d, ok := p.duration(path, v, minLimitRetryAfter)
			switch {
			case !ok:
			case d%time.Second != 0 || d > maxLimitRetryAfterSeconds*time.Second:
				p.problem(v.Line, path, "must be whole seconds from 1s to 1h (Retry-After counts seconds), not %s", d)
			default:
				l.RetryAfter = d
			}
		},
	})
}
