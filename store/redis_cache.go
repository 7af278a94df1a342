package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The agents are read from a mirror this process keeps: the profiles,
// reread when their version counter moves, and the statuses and
// registrations, brought up to date on every read with the seats changed
// since the last one. Every status or registration write bumps status:seq
// and scores the seat with it in status:changed (one member per seat, so the
// set never grows beyond the seats), so a read costs one script run that
// returns only the seats any node changed meanwhile: a handful per call, not
// every seat.

// changesScript: KEYS agents:version, status:seq, status:changed, status,
// status:logged, regs; ARGV the seq last seen ("0": all). It returns the
// profiles' version, the current seq, then ext, raw status, raw
// registration triples for the seats changed since ("" for none). The
// change set is built from the statuses the first time (a Redis written
// before it existed).
var changesScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[5]) == 0 then
  local s = redis.call('INCR', KEYS[2])
  for _, ext in ipairs(redis.call('HKEYS', KEYS[4])) do redis.call('ZADD', KEYS[3], s, ext) end
  for _, ext in ipairs(redis.call('HKEYS', KEYS[6])) do redis.call('ZADD', KEYS[3], s, ext) end
  redis.call('SET', KEYS[5], 1)
end
local out = {redis.call('GET', KEYS[1]) or '', redis.call('GET', KEYS[2]) or '0'}
local exts = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. ARGV[1], '+inf')
for i = 1, #exts, 4000 do
  local part = {}
  for j = i, math.min(i + 3999, #exts) do part[#part + 1] = exts[j] end
  local raws = redis.call('HMGET', KEYS[4], unpack(part))
  local regs = redis.call('HMGET', KEYS[6], unpack(part))
  for j = 1, #part do
    out[#out + 1] = part[j]
    out[#out + 1] = raws[j] or ''
    out[#out + 1] = regs[j] or ''
  end
end
return out
`)

// Agents returns every agent with its status and registration, sorted by
// extension (from the mirror, brought up to date in one round trip).
func (r *Redis) Agents(ctx context.Context, buf []AgentRecord) ([]AgentRecord, error) {
	recs, _, _, err := r.AgentsSince(ctx, 0, buf)
	return recs, err
}

// AgentsSince returns the agents changed in the mirror since mark
// (store.Seats): the mirror stamps each seat with a counter of this process
// when it takes a change, and starts over (every seat stamped anew, a mark
// from before gets everything) when it reloads the profiles.
func (r *Redis) AgentsSince(ctx context.Context, mark uint64, buf []AgentRecord) ([]AgentRecord, uint64, bool, error) {
	if err := r.ensureFresh(ctx); err != nil {
		return nil, 0, false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.cache
	if c == nil { // dropped meanwhile by a refresh that read something it could not decode
		return nil, 0, false, fmt.Errorf("%w: the agents could not be read", ErrUnavailable)
	}
	out, full := buf[:0], mark == 0 || mark < c.base || mark > r.stamp
	for i := range c.recs {
		if full || c.stamps[i] > mark {
			out = append(out, c.recs[i])
		}
	}
	return out, r.stamp, full, nil
}

// cached is the mirror: profiles sorted by extension with their
// registrations and statuses, where each extension is, the versions the
// profiles and registrations were read at and the status seq the statuses
// are up to date with. Guarded by Redis.mu.
type cached struct {
	profiles string // the profiles' version
	seq      string
	recs     []AgentRecord
	index    map[string]int
	stamps   []uint64 // Redis.stamp when each rec last changed
	base     uint64   // the stamp of the load
}

// staleLimit is how many times maxStale a mirror may age while it is
// brought up to date in the background; beyond it (Redis not answering)
// reads wait for Redis again and report its errors.
const staleLimit = 50

// ensureFresh brings the mirror up to date. Within maxStale of the last
// time it was, nothing is done; a little later a refresh is started in the
// background and the reader answered from the mirror as it is, so that no
// reader waits on a round trip; otherwise (no mirror, maxStale 0, profiles
// written here, or the background refresh failing) the reader refreshes.
func (r *Redis) ensureFresh(ctx context.Context) error {
	r.mu.Lock()
	if r.cache != nil && r.maxStale > 0 {
		age := time.Since(r.fresh)
		if age < r.maxStale {
			r.mu.Unlock()
			return nil
		}
		if age < staleLimit*r.maxStale {
			if !r.refreshing {
				r.refreshing = true
				go r.refreshBehind(staleLimit * r.maxStale)
			}
			r.mu.Unlock()
			return nil
		}
	}
	r.mu.Unlock()
	return r.refresh(ctx)
}

// refreshBehind is the background refresh of ensureFresh.
func (r *Redis) refreshBehind(limit time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	_ = r.refresh(ctx) // a failure leaves the mirror to age past the limit: readers then see it
	r.mu.Lock()
	r.refreshing = false
	r.mu.Unlock()
}

// refresh brings the mirror up to date: the statuses changed since its
// seq, and everything when the profiles or registrations moved. Refreshes
// run one at a time (refreshMu); the round trips hold no other lock, and
// the mirror takes only statuses newer than its own (this process's writes
// meanwhile are kept).
func (r *Redis) refresh(ctx context.Context) error {
	r.refreshMu.Lock()
	defer r.refreshMu.Unlock()
	start := time.Now()
	r.mu.Lock()
	c, since := r.cache, "0"
	if c != nil {
		since = c.seq
	}
	r.mu.Unlock()
	vals, err := changesScript.Run(ctx, r.c, r.keys.changes, since).StringSlice()
	if err != nil {
		return r.wrap(err)
	}
	if c == nil || c.profiles != vals[0] {
		// A new mirror, built aside: readers keep the old one meanwhile.
		if c, err = r.loadProfiles(ctx, vals[0]); err != nil {
			return err
		}
		if since != "0" { // the changes read are relative to the old mirror: read them all
			if vals, err = changesScript.Run(ctx, r.c, r.keys.changes, "0").StringSlice(); err != nil {
				return r.wrap(err)
			}
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.stamp++
		c.base = r.stamp
		c.stamps = make([]uint64, len(c.recs))
		for i := range c.stamps {
			c.stamps[i] = c.base
		}
		r.cache = c
	} else {
		r.mu.Lock()
		defer r.mu.Unlock()
	}
	if err := r.applyLocked(c, vals); err != nil {
		r.cache = nil
		return err
	}
	r.fresh = start
	return nil
}

// applyLocked takes the statuses and registrations of a changesScript
// reply into c.
func (r *Redis) applyLocked(c *cached, vals []string) error {
	if _, err := strconv.ParseInt(vals[1], 10, 64); err != nil {
		return fmt.Errorf("store: status seq %q: %w", vals[1], err)
	}
	for i := 2; i+2 < len(vals); i += 3 {
		ext := vals[i]
		at, ok := c.index[ext]
		if !ok {
			continue // an agent added since: its profile comes with the next version
		}
		var s Status
		if vals[i+1] != "" {
			var err error
			if _, s, err = decodeStatus(vals[i+1]); err != nil {
				return fmt.Errorf("store: status %q: %w", vals[i+1], err)
			}
		}
		if s.Version > c.recs[at].Status.Version || s.Version == 0 && c.recs[at].Status.Version != 0 {
			r.setLocked(c, at, s)
		}
		var g Registration
		if vals[i+2] != "" {
			var err error
			if g, err = decodeRegistration(ext, vals[i+2]); err != nil {
				return fmt.Errorf("store: registration of %s: %w", ext, err)
			}
		}
		r.setRegLocked(c, at, g)
	}
	c.seq = vals[1]
	return nil
}

// loadProfiles reads every profile and registration (statuses come after).
func (r *Redis) loadProfiles(ctx context.Context, profiles string) (*cached, error) {
	var agents, bindings *redis.MapStringStringCmd
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		agents = p.HGetAll(ctx, r.key("agents"))
		bindings = p.HGetAll(ctx, r.key("regs"))
		return nil
	})
	if err != nil {
		return nil, r.wrap(err)
	}
	n := &cached{profiles: profiles, seq: "0", index: make(map[string]int, len(agents.Val()))}
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
	return n, nil
}

// setLocked puts s in the mirror for seat at and stamps the change.
func (r *Redis) setLocked(c *cached, at int, s Status) {
	c.recs[at].Status = s
	r.stamp++
	c.stamps[at] = r.stamp
}

// setRegLocked puts g in the mirror for seat at (ext g.Ext, or none) and
// stamps it when it changed.
func (r *Redis) setRegLocked(c *cached, at int, g Registration) {
	cur := c.recs[at].Registration
	if cur.Contact == g.Contact && cur.Expires.Equal(g.Expires) && (cur.Ext == g.Ext || g.Contact == "") {
		return
	}
	if g.Contact == "" {
		g = Registration{}
	}
	c.recs[at].Registration = g
	r.stamp++
	c.stamps[at] = r.stamp
}

// wroteReg puts a registration this process wrote (none: deleted) in the
// mirror.
func (r *Redis) wroteReg(ext string, g Registration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.cache; c != nil {
		if at, ok := c.index[ext]; ok {
			r.setRegLocked(c, at, g)
		}
	}
}
