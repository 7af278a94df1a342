package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/redis/go-redis/v9"
)

// Agents reads the profile and registration versions and every status in
// one round trip; profiles and registrations are reread only when their
// version moved (profiles change on reloads, registrations on REGISTER).
func (r *Redis) Agents(ctx context.Context, buf []AgentRecord) ([]AgentRecord, error) {
	var pv, rv *redis.StringCmd
	var status *redis.StringSliceCmd
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		pv = p.Get(ctx, r.key("agents", "version"))
		rv = p.Get(ctx, r.key("regs", "version"))
		status = p.HVals(ctx, r.key("status"))
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, r.wrap(err)
	}
	c, err := r.snapshot(ctx, pv.Val(), rv.Val())
	if err != nil {
		return nil, err
	}
	out := append(buf[:0], c.recs...)
	for _, raw := range status.Val() {
		ext, s, err := decodeStatus(raw)
		if err != nil {
			return nil, fmt.Errorf("store: status %q: %w", raw, err)
		}
		if i, ok := c.index[ext]; ok {
			out[i].Status = s
		}
	}
	return out, nil
}

// cached is the slow-changing part of the agents: profiles sorted by
// extension with their registrations, and where each extension is.
type cached struct {
	profiles, regs string // versions
	recs           []AgentRecord
	index          map[string]int
}

// snapshot returns the cached profiles and registrations, rereading both
// when either version moved since they were read.
func (r *Redis) snapshot(ctx context.Context, profiles, regs string) (*cached, error) {
	r.mu.Lock()
	c := r.cache
	r.mu.Unlock()
	if c != nil && c.profiles == profiles && c.regs == regs {
		return c, nil
	}
	var agents, bindings *redis.MapStringStringCmd
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		agents = p.HGetAll(ctx, r.key("agents"))
		bindings = p.HGetAll(ctx, r.key("regs"))
		return nil
	})
	if err != nil {
		return nil, r.wrap(err)
	}
	n := &cached{profiles: profiles, regs: regs, index: make(map[string]int, len(agents.Val()))}
	for ext, raw := range agents.Val() {
		rec := AgentRecord{}
		if err := json.Unmarshal([]byte(raw), &rec.Agent); err != nil {
			return nil, fmt.Errorf("store: agent %s: %w", ext, err)
		}
		if g, ok := bindings.Val()[ext]; ok {
			if rec.Registration, err = decodeRegistration(ext, g); err != nil {
				return nil, fmt.Errorf("store: registration of %s: %w", ext, err)
			}
		}
		n.recs = append(n.recs, rec)
	}
	sort.Slice(n.recs, func(i, j int) bool { return n.recs[i].Agent.Ext < n.recs[j].Agent.Ext })
	for i, rec := range n.recs {
		n.index[rec.Agent.Ext] = i
	}
	r.mu.Lock()
	r.cache = n
	r.mu.Unlock()
	return n, nil
}
