package sip

import (
	"context"
	"sync"
	"time"
)

// keepaliveTries is how many keep-alives in a row a seat may leave
// unanswered before its binding is dropped (as the trunk ping marks a
// trunk down after three).
const keepaliveTries = 3

// keepaliveParallel bounds the OPTIONS in flight at once in one round.
const keepaliveParallel = 64

// runSeatKeepalive sends an OPTIONS every interval to each seat registered
// over UDP, where its INVITEs go (behind NAT: the address its REGISTER came
// from, nat.go): the traffic keeps the
// seat's NAT binding open between registrations (a NAT forgets a UDP
// mapping after 30 s to a few minutes), and a phone that answers none of
// keepaliveTries in a row is gone (unplugged, its NAT binding lost) and
// loses its binding as if it had expired, so the ACD logs it out instead of
// ringing it. Any final response counts as an answer. Seats on TCP keep
// their connection open themselves (RFC 5626 CRLF pings, answered by the
// edge) and are not sent OPTIONS. Runs on its own goroutine until ctx ends;
// rounds never overlap.
func (s *Server) runSeatKeepalive(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	missed := make(map[Registration]int)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.keepaliveRound(ctx, min(every, 5*time.Second), missed)
	}
}

// keepaliveRound pings every UDP binding once and updates missed, the
// unanswered keep-alives in a row of each binding.
func (s *Server) keepaliveRound(ctx context.Context, wait time.Duration, missed map[Registration]int) {
	regs := s.cfg.Registrar.List()
	live := make(map[Registration]bool, len(regs))
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		sem  = make(chan struct{}, keepaliveParallel)
		lost []Registration
	)
	for _, reg := range regs {
		if reg.Transport != "udp" {
			continue
		}
		reg.Expires, reg.UserAgent = time.Time{}, "" // the key: who and where
		live[reg] = true
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			pctx, cancel := context.WithTimeout(ctx, wait)
			_, err := s.ping(pctx, reg.Contact, reachAt(reg))
			cancel()
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				delete(missed, reg)
				return
			}
			if missed[reg]++; missed[reg] >= keepaliveTries && ctx.Err() == nil {
				lost = append(lost, reg)
				delete(missed, reg)
			}
		}()
	}
	wg.Wait()
	for reg := range missed {
		if !live[reg] {
			delete(missed, reg) // re-registered elsewhere, or gone
		}
	}
	for _, reg := range lost {
		s.log.Warn("sip: seat answers no keep-alive, registration dropped", "ext", reg.Extension,
			"contact", reg.Contact, "source", reg.Source, "tries", keepaliveTries)
		s.cfg.Registrar.Drop(reg)
	}
}

// Drop removes ext's binding if it is still the one reg describes (same
// Contact, source and transport), notifying OnChange as an expiry does.
func (r *Registrar) Drop(reg Registration) {
	r.unregister(reg.Extension, func(cur Registration) bool { return sameBinding(cur, reg) })
}
