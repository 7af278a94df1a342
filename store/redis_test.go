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
