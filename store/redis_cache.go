package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

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

// statesScript: KEYS agents:version, regs:version, status, status:states,
// status:indexed; ARGV the states. It returns both versions, then the raw
// statuses in those states. The index is built from the statuses the first
// time (a Redis written before it existed) and entries that no longer match
// their status (the agent was deleted) are dropped on the way.
var statesScript = redis.NewScript(`
local function stateOf(raw) return string.match(raw, '^%d+\31[^\31]*\31([^\31]*)') end
if redis.call('EXISTS', KEYS[5]) == 0 then
  local all = redis.call('HGETALL', KEYS[3])
  for i = 1, #all, 2 do
    redis.call('ZADD', KEYS[4], 0, stateOf(all[i+1]) .. '\31' .. all[i])
  end
  redis.call('SET', KEYS[5], 1)
end
local out = {redis.call('GET', KEYS[1]) or '', redis.call('GET', KEYS[2]) or ''}
for _, st in ipairs(ARGV) do
  for _, m in ipairs(redis.call('ZRANGEBYLEX', KEYS[4], '[' .. st .. '\31', '(' .. st .. '\32')) do
    local raw = redis.call('HGET', KEYS[3], string.sub(m, #st + 2))
    if raw and stateOf(raw) == st then
      out[#out + 1] = raw
    else
      redis.call('ZREM', KEYS[4], m)
    end
  end
end
return out
`)

// AgentsIn reads the versions and the statuses in states in one script run,
// through the state index; the records come from the cached profiles.
func (r *Redis) AgentsIn(ctx context.Context, states []string, buf []AgentRecord) ([]AgentRecord, error) {
	args := make([]any, len(states))
	for i, st := range states {
		args[i] = st
	}
	vals, err := statesScript.Run(ctx, r.c, r.keys.states, args...).StringSlice()
	if err != nil {
		return nil, r.wrap(err)
	}
	c, err := r.snapshot(ctx, vals[0], vals[1])
	if err != nil {
		return nil, err
	}
	out := buf[:0]
	for _, raw := range vals[2:] {
		ext, s, err := decodeStatus(raw)
		if err != nil {
			return nil, fmt.Errorf("store: status %q: %w", raw, err)
		}
		if i, ok := c.index[ext]; ok {
			out = append(out, c.recs[i])
			out[len(out)-1].Status = s
		}
	}
	slices.SortFunc(out, func(a, b AgentRecord) int { return strings.Compare(a.Agent.Ext, b.Agent.Ext) })
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
