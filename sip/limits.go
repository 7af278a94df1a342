package sip

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Limits is admission control at the edge (config's limits section); a zero
// count or rate means no limit.
type Limits struct {
	// MaxCalls bounds the inbound dialogs (trunk and seat calls) the edge
	// holds at once, from admission until the leg ends.
	MaxCalls int
	// TrunkCallsPerSecond bounds each trunk's new calls (a token bucket per
	// trunk whose burst is one second's worth).
	TrunkCallsPerSecond int
	// SourceRequestsPerSecond and SourceRegistersPerSecond bound what one IP
	// outside the trunk ACLs may send (burst: twice the rate).
	SourceRequestsPerSecond, SourceRegistersPerSecond int
	// TCPConnectionsPerSource caps one IP's open SIP TCP connections;
	// TCPIdleTimeout closes a connection nothing was read on for so long.
	TCPConnectionsPerSource int
	TCPIdleTimeout          time.Duration
	// RetryAfter is the Retry-After of a 503 sent for a limit.
	RetryAfter time.Duration
}

// Admission is asked, after the edge's own limits, whether a new call may
// come in (the integrator wires it to the call engine's waiting-caller
// limits). Called on the INVITE's handler goroutine; must not block. A
// refusal's reason labels hotline_calls_rejected_total.
type Admission interface {
	Admit(o Origin) (reason string, ok bool)
}

// Reasons a call is refused with 503 at the edge.
const (
	RejectMaxCalls  = "max_calls"
	RejectTrunkRate = "trunk_rate"
	RejectDraining  = "draining"
)

// bucket is a token bucket; callers hold the lock of the table it is in.
type bucket struct {
	tokens float64
	last   time.Time
}

// take refills the bucket for the time since its last use and takes a token
// if there is one.
func (b *bucket) take(now time.Time, rate, burst float64) bool {
	if b.last.IsZero() {
		b.tokens = burst
	} else {
		b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// verdict is what the per-source limiter says of one request.
type verdict int

const (
	allow   verdict = iota
	refuse          // answer 503 with Retry-After
	discard         // far over the limit: drop without a word
)

// sourceEntry is one source IP's buckets: requests, REGISTERs, and the 503s
// it is sent (past those, a flood is dropped).
type sourceEntry struct {
	req, reg, replies bucket
}

// maxSources bounds the per-source table; idle sources are evicted first.
const maxSources = 8192

// sourceLimiter holds per-source buckets for sources outside the trunk ACLs.
type sourceLimiter struct {
	limits func() Limits
	now    func() time.Time

	mu sync.Mutex
	m  map[netip.Addr]*sourceEntry
}

func newSourceLimiter(limits func() Limits, now func() time.Time) *sourceLimiter {
	return &sourceLimiter{limits: limits, now: now, m: make(map[netip.Addr]*sourceEntry)}
}

// check takes a token for one request from ip (register: a REGISTER, which
// takes from both buckets). Called on transport read goroutines.
func (l *sourceLimiter) check(ip netip.Addr, register bool) verdict {
	lim := l.limits()
	reqRate, regRate := float64(lim.SourceRequestsPerSecond), float64(lim.SourceRegistersPerSecond)
	if reqRate == 0 && (!register || regRate == 0) {
		return allow
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.m[ip]
	if e == nil {
		if len(l.m) >= maxSources {
			l.evictLocked(now)
		}
		e = &sourceEntry{}
		l.m[ip] = e
	}
	ok := reqRate == 0 || e.req.take(now, reqRate, 2*reqRate)
	if ok && register && regRate > 0 {
		ok = e.reg.take(now, regRate, 2*regRate)
	}
	switch {
	case ok:
		return allow
	case e.replies.take(now, max(reqRate, regRate), max(reqRate, regRate)):
		return refuse
	}
	return discard
}

// evictLocked makes room: sources idle long enough for their buckets to be
// full again go first; if none are, a quarter of the table goes (the map's
// order is random, so a flood of new addresses cannot pick who stays).
func (l *sourceLimiter) evictLocked(now time.Time) {
	idle := 2 * time.Second
	for ip, e := range l.m {
		if now.Sub(e.req.last) > idle && now.Sub(e.reg.last) > idle {
			delete(l.m, ip)
		}
	}
	for ip := range l.m {
		if len(l.m) < maxSources*3/4 {
			return
		}
		delete(l.m, ip)
	}
}

// admission is the edge's own call limits: live inbound dialogs and each
// trunk's call rate.
type admission struct {
	limits func() Limits
	now    func() time.Time
	calls  atomic.Int64

	mu     sync.Mutex
	trunks map[string]*bucket
}

func newAdmission(limits func() Limits, now func() time.Time) *admission {
	return &admission{limits: limits, now: now, trunks: make(map[string]*bucket)}
}

// admit takes a call slot (and, for a trunk, a token of its rate); release
// gives the slot back when the leg ends. reason names the limit on refusal.
func (a *admission) admit(o Origin) (release func(), reason string, ok bool) {
	lim := a.limits()
	if cps := float64(lim.TrunkCallsPerSecond); o.Trunk != "" && cps > 0 {
		a.mu.Lock()
		b := a.trunks[o.Trunk]
		if b == nil {
			b = &bucket{}
			a.trunks[o.Trunk] = b
		}
		ok := b.take(a.now(), cps, cps)
		a.mu.Unlock()
		if !ok {
			return nil, RejectTrunkRate, false
		}
	}
	n := a.calls.Add(1)
	if lim.MaxCalls > 0 && n > int64(lim.MaxCalls) {
		a.calls.Add(-1)
		return nil, RejectMaxCalls, false
	}
	var once sync.Once
	return func() { once.Do(func() { a.calls.Add(-1) }) }, "", true
}

// SetLimits replaces the edge's limits (a config reload): from the next
// request on; calls already admitted stay.
func (s *Server) SetLimits(l Limits) { s.lim.Store(&l) }

func (s *Server) limits() Limits { return *s.lim.Load() }

// Calls is the number of inbound dialogs the edge holds (admitted, not yet
// ended).
func (s *Server) Calls() int { return int(s.adm.calls.Load()) }
