package main

import (
	"context"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/internal/guard"
)

// Trunk health (issue 13, a carrier's view of failures): every trunk with
// an outbound address and a ping interval is sent OPTIONS at that
// interval; any final answer is a success (a carrier may answer 404 or
// 405), no answer within the interval (5 s at most) a failure. A trunk is
// down after trunkDownAfter failures in a row and up again after
// trunkUpAfter successes; it starts up. Callbacks and outbound calls go
// through a trunk that is up when one is (call.Options.TrunkUp);
// hotline_trunk_up{trunk}; GET /api/v1/trunks.
const (
	trunkDownAfter = 3
	trunkUpAfter   = 2
)

// trunkState is one trunk's health.
type trunkState struct {
	Name     string     `json:"name"`
	Outbound string     `json:"outbound"`
	Up       bool       `json:"up"`
	Since    time.Time  `json:"since"`
	LastPing *time.Time `json:"last_ping,omitempty"`
	LastCode int        `json:"last_code,omitempty"`
	LastErr  string     `json:"last_error,omitempty"`
	PingS    float64    `json:"ping_interval_s"`
	fails    int
	oks      int
}

// trunkHealth is every trunk's health, under mu.
type trunkHealth struct {
	mu     sync.Mutex
	trunks map[string]*trunkState
}

// pinger sends one OPTIONS (sip.Server.Ping).
type pinger interface {
	Ping(ctx context.Context, uri string) (int, error)
}

// startTrunkHealth pings each trunk of cfg that has an outbound address
// and a ping interval, until stop closes.
func startTrunkHealth(cfg *config.Config, p pinger, now func() time.Time, log *slog.Logger, setUp func(string, bool), stop <-chan struct{}) *trunkHealth {
	h := &trunkHealth{trunks: map[string]*trunkState{}}
	for _, t := range cfg.Trunks {
		if t.Outbound != "" {
			h.trunks[t.Name] = &trunkState{Name: t.Name, Outbound: t.Outbound, Up: true, Since: now(), PingS: t.Ping.Seconds()}
			setUp(t.Name, true)
		}
	}
	for _, t := range cfg.Trunks { // the table is complete before a watcher reads it
		if t.Outbound != "" && t.Ping > 0 {
			go h.watch(t, p, now, log, setUp, stop)
		}
	}
	return h
}

// watch pings one trunk every t.Ping.
func (h *trunkHealth) watch(t config.Trunk, p pinger, now func() time.Time, log *slog.Logger, setUp func(string, bool), stop <-chan struct{}) {
	defer guard.Recover(log, "trunk_health", nil)
	tick := time.NewTicker(t.Ping)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), min(t.Ping, 5*time.Second))
		code, err := p.Ping(ctx, t.PingURI())
		cancel()
		if changed, up := h.note(t.Name, code, err, now()); changed {
			setUp(t.Name, up)
			if up {
				log.Info("trunk up: it answers OPTIONS again", "trunk", t.Name, "code", code)
			} else {
				log.Warn("trunk down: no answer to OPTIONS", "trunk", t.Name, "failures", trunkDownAfter, "error", err)
			}
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

// note counts one ping's outcome; changed when the trunk went up or down.
func (h *trunkHealth) note(name string, code int, err error, at time.Time) (changed, up bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.trunks[name]
	s.LastPing, s.LastCode, s.LastErr = &at, code, ""
	if err != nil {
		s.LastErr = err.Error()
		s.fails, s.oks = s.fails+1, 0
		if s.Up && s.fails >= trunkDownAfter {
			s.Up, s.Since = false, at
			return true, false
		}
		return false, s.Up
	}
	s.fails, s.oks = 0, s.oks+1
	if !s.Up && s.oks >= trunkUpAfter {
		s.Up, s.Since = true, at
		return true, true
	}
	return false, s.Up
}

// up reports whether trunk name is up (an unknown trunk, or one without
// an outbound address, is).
func (h *trunkHealth) up(name string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.trunks[name]
	return s == nil || s.Up
}

// serve answers GET /api/v1/trunks.
func (h *trunkHealth) serve(w http.ResponseWriter, _ *http.Request) {
	h.mu.Lock()
	out := make([]trunkState, 0, len(h.trunks))
	for _, s := range h.trunks {
		out = append(out, *s)
	}
	h.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	writeJSON(w, http.StatusOK, out)
}
