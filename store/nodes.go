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
