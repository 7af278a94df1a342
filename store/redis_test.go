package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/store/redistest"
	"github.com/redis/go-redis/v9"
)

func TestRedis(t *testing.T) {
	srv := redistest.Start(t)
	n := 0
	suite(t, func(t *testing.T) Store {
		c := redis.NewClient(&redis.Options{Addr: srv.Addr})
		t.Cleanup(func() { c.Close() })
		n++
		return NewRedis(c, fmt.Sprintf("{test%d}:", n))
	})
}

// TestRedisStateIndexRebuilt: statuses written before the state index
// existed (no status:states, no status:indexed) are indexed on first use.
func TestRedisStateIndexRebuilt(t *testing.T) {
	srv := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { c.Close() })
	s := NewRedis(c, "")
	ctx := context.Background()
	for _, ext := range []string{"1001", "1002"} {
		if err := s.PutAgent(ctx, Agent{Ext: ext}); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = s.SwapStatus(ctx, "1001", 0, Status{State: "ready"})
	_, _ = s.SwapStatus(ctx, "1002", 0, Status{State: "on_call"})
	if _, err := s.AgentsIn(ctx, []string{"ready"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Del(ctx, DefaultRedisPrefix+"status:states", DefaultRedisPrefix+"status:indexed").Err(); err != nil {
		t.Fatal(err)
	}
	recs, err := s.AgentsIn(ctx, []string{"ready"}, nil)
	if err != nil || len(recs) != 1 || recs[0].Agent.Ext != "1001" {
		t.Fatalf("after the index was lost: %+v %v", recs, err)
	}
	if _, err := s.SwapStatus(ctx, "1002", 1, Status{State: "ready"}); err != nil {
		t.Fatal(err)
	}
	if recs, _ := s.AgentsIn(ctx, []string{"ready"}, nil); len(recs) != 2 {
		t.Fatalf("after 1002 became ready: %+v", recs)
	}
}

// TestRedisOutage: with Redis gone every call fails fast with
// ErrUnavailable; once Redis is back the same client works again (go-redis
// reconnects), and a missing key is ErrNotFound, not ErrUnavailable.
func TestRedisOutage(t *testing.T) {
	srv := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	s := NewRedis(c, "")
	ctx := context.Background()
	if err := s.PutAgent(ctx, Agent{Ext: "1001"}); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if err := s.Ping(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("ping: %v", err)
	}
	if _, err := s.Agents(ctx, nil); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("agents: %v", err)
	}
	if _, err := s.AgentsIn(ctx, []string{"ready"}, nil); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("agents in: %v", err)
	}
	if _, err := s.SwapStatus(ctx, "1001", 0, Status{}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("swap: %v", err)
	}
	if _, err := s.Status(ctx, "1001"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("status: %v", err)
	}
	srv.Restart()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if _, err := s.Status(ctx, "1001"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("status of unknown agent: %v", err)
	}
}
