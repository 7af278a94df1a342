package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is the store shared by several engine nodes. Every key lives under
// one prefix with a hash tag ("{hotline}:" by default) so the Lua scripts
// also run on Redis Cluster. Layout:
//
//	PREFIX agents         hash ext -> Agent JSON
//	PREFIX agents:version counter, bumped by every profile change
//	PREFIX status         hash ext -> VERSION, ext, then the Status fields (codec.go)
//	PREFIX regs           hash ext -> contact and expiry (codec.go)
//	PREFIX status:seq     counter, bumped by every status or registration write
//	PREFIX status:changed sorted set ext scored by the seq of its last write
//	PREFIX status:logged  set once status:changed was built from status
//	PREFIX q:QUEUE        hash call id -> Entry JSON
//	PREFIX callbacks      hash call id -> Callback JSON (callbacks.go)
//
// Agents and AgentsSince answer from a mirror of the agents kept by this
// process and brought up to date in one script run that returns only the
// statuses changed since the last read (redis_cache.go); a status swap is
// one Lua script (compare the version, write, log the change; a Claim also
// deletes the queue entry). Every node sharing a Redis must run a version
// that logs the changes. Network failures and timeouts are returned as
// ErrUnavailable; go-redis reconnects by itself on the next call.
type Redis struct {
	c      redis.UniversalClient
	prefix string
	keys   redisKeys

	mu    sync.Mutex
	cache *cached // the mirror of the agents (nil: read it all)
	stamp uint64  // counts the changes the mirror took (AgentsSince)
	// fresh is when the mirror was last brought up to date; within
	// maxStale of it reads answer from the mirror alone (this process's
	// own writes are in it at once; other nodes' within maxStale).
	fresh      time.Time
	maxStale   time.Duration
	refreshing bool       // a background refresh is under way (ensureFresh)
	refreshMu  sync.Mutex // one refresh at a time; taken before mu, never under it
}

// SetMaxStale lets Agents and AgentsSince answer from the mirror without a
// round trip for d after each one (0, the default: always up to date).
// Other nodes' status changes are then seen up to d late; a seat claimed
// meanwhile by another node is caught by the claim's version check, as
// always. This process's own writes are in the mirror at once.
func (r *Redis) SetMaxStale(d time.Duration) {
	r.mu.Lock()
	r.maxStale = d
	r.mu.Unlock()
}

// stale forces the next read to come from Redis (profiles or registrations
// were written here).
func (r *Redis) stale() {
	r.mu.Lock()
	r.fresh = time.Time{}
	r.mu.Unlock()
}

// wrote puts a status this process wrote (version v) in the mirror.
func (r *Redis) wrote(ext string, v int64, s Status) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.cache; c != nil {
		if i, ok := c.index[ext]; ok && c.recs[i].Status.Version < v {
			s.Version = v
			r.setLocked(c, i, s)
		}
	}
}

var (
	_ Store = (*Redis)(nil)
	_ Store = (*Memory)(nil)
)

// DefaultRedisPrefix keeps every key in one Redis Cluster slot.
const DefaultRedisPrefix = "{hotline}:"

// NewRedis wraps a go-redis client (redis.NewClient, NewFailoverClient for
// Sentinel, or NewClusterClient). The caller owns and closes the client.
func NewRedis(c redis.UniversalClient, prefix string) *Redis {
	if prefix == "" {
		prefix = DefaultRedisPrefix
	}
	r := &Redis{c: c, prefix: prefix}
	r.keys = redisKeys{
		swap: []string{r.key("agents"), r.key("status"), r.key("status", "seq"), r.key("status", "changed")},
		changes: []string{r.key("agents", "version"), r.key("status", "seq"), r.key("status", "changed"),
			r.key("status"), r.key("status", "logged"), r.key("regs")},
		regs: []string{r.key("agents"), r.key("regs"), r.key("status", "seq"), r.key("status", "changed")},
	}
	return r
}

// redisKeys are the KEYS of the hot scripts, built once.
type redisKeys struct {
	swap    []string // swapScript without the queue entry
	changes []string // changesScript
	regs    []string // putRegScript and delRegScript
}

func (r *Redis) key(parts ...string) string { return r.prefix + strings.Join(parts, ":") }

// Ping checks that Redis answers (ErrUnavailable otherwise).
func (r *Redis) Ping(ctx context.Context) error {
	return r.wrap(r.c.Ping(ctx).Err())
}

// wrap maps go-redis errors: redis.Nil to ErrNotFound, a reply error from
// the server to itself, anything else (network, timeout, closed pool) to
// ErrUnavailable.
func (r *Redis) wrap(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, redis.Nil) {
		return ErrNotFound
	}
	var reply redis.Error
	if errors.As(err, &reply) && !strings.HasPrefix(reply.Error(), "LOADING") {
		return fmt.Errorf("store: redis: %w", err)
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// swapScript: KEYS agents, status, status:seq, status:changed[, q:QUEUE];
// ARGV ext, version, encoded status[, call id]. With the queue key, the
// entry is deleted when the swap succeeds (Claim).
var swapScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -1 end
local cur = redis.call('HGET', KEYS[2], ARGV[1])
local v = 0
if cur then v = tonumber(string.match(cur, '^(%d+)\31')) end
if v ~= tonumber(ARGV[2]) then return -2 end
v = v + 1
redis.call('HSET', KEYS[2], ARGV[1], v .. '\31' .. ARGV[3])
redis.call('ZADD', KEYS[4], redis.call('INCR', KEYS[3]), ARGV[1])
if KEYS[5] then redis.call('HDEL', KEYS[5], ARGV[4]) end
return v
`)

// putRegScript and delRegScript: KEYS agents, regs, status:seq,
// status:changed; ARGV ext[, encoded registration]. Both log the change
// (see changesScript).
var putRegScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[4], redis.call('INCR', KEYS[3]), ARGV[1])
return 1
`)

var delRegScript = redis.NewScript(`
if redis.call('HDEL', KEYS[2], ARGV[1]) == 1 then
  redis.call('ZADD', KEYS[4], redis.call('INCR', KEYS[3]), ARGV[1])
end
return 1
`)

// PutAgent stores a profile and bumps the profiles' version, so every
// node's cache reloads them.
func (r *Redis) PutAgent(ctx context.Context, a Agent) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	_, err = r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, r.key("agents"), a.Ext, b)
		p.Incr(ctx, r.key("agents", "version"))
		return nil
	})
	r.stale()
	return r.wrap(err)
}

func (r *Redis) DeleteAgent(ctx context.Context, ext string) error {
	_, err := r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HDel(ctx, r.key("agents"), ext)
		p.HDel(ctx, r.key("status"), ext)
		p.HDel(ctx, r.key("regs"), ext)
		p.Incr(ctx, r.key("agents", "version"))
		return nil
	})
	r.stale()
	return r.wrap(err)
}

func (r *Redis) Status(ctx context.Context, ext string) (Status, error) {
	var known *redis.BoolCmd
	var raw *redis.StringCmd
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		known = p.HExists(ctx, r.key("agents"), ext)
		raw = p.HGet(ctx, r.key("status"), ext)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return Status{}, r.wrap(err)
	}
	if !known.Val() {
		return Status{}, fmt.Errorf("agent %s: %w", ext, ErrNotFound)
	}
	if errors.Is(raw.Err(), redis.Nil) {
		return Status{}, nil
	}
	_, st, err := decodeStatus(raw.Val())
	return st, err
}

func (r *Redis) SwapStatus(ctx context.Context, ext string, version int64, s Status) (int64, error) {
	return r.swap(ctx, r.keys.swap, ext, version, s, "")
}

// Claim swaps and deletes the queue entry in one script run.
func (r *Redis) Claim(ctx context.Context, ext string, version int64, s Status, queue, callID string) (int64, error) {
	keys := append(r.keys.swap[:len(r.keys.swap):len(r.keys.swap)], r.key("q", queue))
	return r.swap(ctx, keys, ext, version, s, callID)
}

func (r *Redis) swap(ctx context.Context, keys []string, ext string, version int64, s Status, callID string) (int64, error) {
	v, err := swapScript.Run(ctx, r.c, keys, ext, version, encodeStatus(ext, s), callID).Int64()
	switch {
	case err != nil:
		return 0, r.wrap(err)
	case v == -1:
		return 0, fmt.Errorf("agent %s: %w", ext, ErrNotFound)
	case v == -2:
		return 0, fmt.Errorf("agent %s: %w", ext, ErrConflict)
	}
	r.wrote(ext, v, s)
	return v, nil
}

// PutRegistration stores where a phone is; the mirror takes it at once.
func (r *Redis) PutRegistration(ctx context.Context, g Registration) error {
	ok, err := putRegScript.Run(ctx, r.c, r.keys.regs, g.Ext, encodeRegistration(g)).Int()
	if err != nil {
		return r.wrap(err)
	}
	if ok == 0 {
		return fmt.Errorf("agent %s: %w", g.Ext, ErrNotFound)
	}
	r.wroteReg(g.Ext, g)
	return nil
}

func (r *Redis) DeleteRegistration(ctx context.Context, ext string) error {
	if err := delRegScript.Run(ctx, r.c, r.keys.regs, ext).Err(); err != nil {
		return r.wrap(err)
	}
	r.wroteReg(ext, Registration{})
	return nil
}

func (r *Redis) PutEntry(ctx context.Context, e Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return r.wrap(r.c.HSet(ctx, r.key("q", e.Queue), e.CallID, b).Err())
}

func (r *Redis) DeleteEntry(ctx context.Context, queue, callID string) error {
	return r.wrap(r.c.HDel(ctx, r.key("q", queue), callID).Err())
}

func (r *Redis) Entries(ctx context.Context, queue string) ([]Entry, error) {
	all, err := r.c.HGetAll(ctx, r.key("q", queue)).Result()
	if err != nil {
		return nil, r.wrap(err)
	}
	out := make([]Entry, 0, len(all))
	for id, raw := range all {
		var e Entry
		if err := json.Unmarshal([]byte(raw), &e); err != nil {
			return nil, fmt.Errorf("store: entry %s: %w", id, err)
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return entryLess(out[i], out[j]) })
	return out, nil
}
