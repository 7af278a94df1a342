package store

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// Nodes is the engine nodes' presence: each node beats (announces itself
// with a time to live) about once a second; a node whose beat has expired
// is dead, and the seats and queue entries it held may be freed by the
// others. Boot names one incarnation of a node: a node restarted under the
// same name beats with a new boot, so what the old incarnation held is
// known to be gone at once, without waiting for the time to live.
type Nodes interface {
	// Beat announces node (incarnation boot) alive for ttl from now.
	Beat(ctx context.Context, node, boot string, ttl time.Duration) error
	// Alive returns the boot of every node whose beat has not expired.
	Alive(ctx context.Context) (map[string]string, error)
	// DropEntry deletes the queue entry e.Queue/e.CallID if it still
	// belongs to e.Node under e.Boot (an entry put again meanwhile by a
	// live incarnation stays), and reports whether it did.
	DropEntry(ctx context.Context, e Entry) (bool, error)
}

var (
	_ Nodes = (*Memory)(nil)
	_ Nodes = (*Redis)(nil)
)

// memNode is a beat kept by Memory.
type memNode struct {
	boot  string
	until time.Time
}

// Beat records node's beat (Memory: in process, by the wall clock).
func (m *Memory) Beat(_ context.Context, node, boot string, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.nodes == nil {
		m.nodes = make(map[string]memNode)
	}
	m.nodes[node] = memNode{boot: boot, until: time.Now().Add(ttl)}
	return nil
}

// Alive returns the nodes beating now; expired beats are forgotten.
func (m *Memory) Alive(_ context.Context) (map[string]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	out := make(map[string]string, len(m.nodes))
	for name, n := range m.nodes {
		if now.Before(n.until) {
			out[name] = n.boot
		} else {
			delete(m.nodes, name)
		}
	}
	return out, nil
}

// Beat sets PREFIX node:NAME to the boot with ttl and adds the name to
// PREFIX nodes (one transaction).
func (r *Redis) Beat(ctx context.Context, node, boot string, ttl time.Duration) error {
	_, err := r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, r.key("node", node), boot, ttl)
		p.SAdd(ctx, r.key("nodes"), node)
		return nil
	})
	return r.wrap(err)
}

// Alive reads the names in PREFIX nodes and their beats (two round trips);
// names whose beat has expired are dropped from the set.
func (r *Redis) Alive(ctx context.Context) (map[string]string, error) {
	names, err := r.c.SMembers(ctx, r.key("nodes")).Result()
	if err != nil {
		return nil, r.wrap(err)
	}
	out := make(map[string]string, len(names))
	if len(names) == 0 {
		return out, nil
	}
	keys := make([]string, len(names))
	for i, n := range names {
		keys[i] = r.key("node", n)
	}
	boots, err := r.c.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, r.wrap(err)
	}
	var gone []any
	for i, b := range boots {
		if s, ok := b.(string); ok {
			out[names[i]] = s
		} else {
			gone = append(gone, names[i])
		}
	}
	if len(gone) > 0 {
		// A beat between MGET and SREM re-adds its name on the next beat.
		_ = r.c.SRem(ctx, r.key("nodes"), gone...).Err()
	}
	return out, nil
}

// DropEntry deletes e's entry while it names e's node and boot.
func (m *Memory) DropEntry(_ context.Context, e Entry) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.entries[e.Queue][e.CallID]
	if !ok || cur.Node != e.Node || cur.Boot != e.Boot {
		return false, nil
	}
	delete(m.entries[e.Queue], e.CallID)
	return true, nil
}

// dropEntryScript: KEYS q:QUEUE; ARGV call id, node, boot. The entry is
// deleted only while its JSON still names that node and boot.
var dropEntryScript = redis.NewScript(`
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local e = cjson.decode(raw)
if (e.node or '') ~= ARGV[2] or (e.boot or '') ~= ARGV[3] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
`)

// DropEntry deletes e's entry while it names e's node and boot (one
// script run, so a live node's entry put again meanwhile is kept).
func (r *Redis) DropEntry(ctx context.Context, e Entry) (bool, error) {
	n, err := dropEntryScript.Run(ctx, r.c, []string{r.key("q", e.Queue)}, e.CallID, e.Node, e.Boot).Int()
	if err != nil {
		return false, r.wrap(err)
	}
	return n == 1, nil
}
