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

// TestRedisChangeLogRebuilt: statuses written before the change log existed
// (no status:changed, no status:logged) are logged on first use, and a
// mirror up to date before the log was lost is brought up to date again. A
// second client (another node) sees the first one's writes.
func TestRedisChangeLogRebuilt(t *testing.T) {
	c, s, other := twoNodes(t, "1001", "1002")
	ctx := context.Background()
	_, _ = s.SwapStatus(ctx, "1001", 0, Status{State: "ready"})
	_, _ = s.SwapStatus(ctx, "1002", 0, Status{State: "on_call"})
	if _, err := readyIn(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := c.Del(ctx, DefaultRedisPrefix+"status:changed", DefaultRedisPrefix+"status:logged").Err(); err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]*Redis{"this node": s, "another node": other} {
		recs, err := readyIn(ctx, st)
		if err != nil || len(recs) != 1 || recs[0].Agent.Ext != "1001" {
			t.Fatalf("%s, after the log was lost: %+v %v", name, recs, err)
		}
	}
	if _, err := other.SwapStatus(ctx, "1002", 1, Status{State: "ready"}); err != nil {
		t.Fatal(err)
	}
	if recs, _ := readyIn(ctx, s); len(recs) != 2 || recs[1].Status.Version != 2 {
		t.Fatalf("after 1002 became ready on another node: %+v", recs)
	}
	if err := other.DeleteAgent(ctx, "1001"); err != nil {
		t.Fatal(err)
	}
	if recs, _ := s.Agents(ctx, nil); len(recs) != 1 || recs[0].Agent.Ext != "1002" {
		t.Fatalf("after 1001 was deleted on another node: %+v", recs)
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
	if _, _, _, err := s.AgentsSince(ctx, 1, nil); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("agents since: %v", err)
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

// TestRedisMaxStale: within the staleness window this client's own writes
// are read back at once, another client's only once the window has passed
// (here: set back to 0).
func TestRedisMaxStale(t *testing.T) {
	_, s, other := twoNodes(t, "1001", "1002")
	ctx := context.Background()
	s.SetMaxStale(time.Hour)
	if recs, err := readyIn(ctx, s); err != nil || len(recs) != 0 {
		t.Fatalf("before: %+v %v", recs, err)
	}
	if _, err := other.SwapStatus(ctx, "1002", 0, Status{State: "ready"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SwapStatus(ctx, "1001", 0, Status{State: "ready"}); err != nil {
		t.Fatal(err)
	}
	recs, _ := readyIn(ctx, s)
	if len(recs) != 1 || recs[0].Agent.Ext != "1001" || recs[0].Status.Version != 1 {
		t.Fatalf("within the window: %+v", recs)
	}
	s.SetMaxStale(0)
	if recs, _ := readyIn(ctx, s); len(recs) != 2 {
		t.Fatalf("after the window: %+v", recs)
	}
}

// readyIn returns the ready agents of s.
func readyIn(ctx context.Context, s *Redis) ([]AgentRecord, error) {
	recs, err := s.Agents(ctx, nil)
	var out []AgentRecord
	for _, r := range recs {
		if r.Status.State == "ready" {
			out = append(out, r)
		}
	}
	return out, err
}

// TestRedisRegistrationsInTheLog: a registration written by another node
// reaches this node's mirror seat by seat (not a reload of every agent),
// and this node's own registrations are in its mirror at once.
func TestRedisRegistrationsInTheLog(t *testing.T) {
	_, s, other := twoNodes(t, "1001", "1002", "1003")
	ctx := context.Background()
	_, mark, full, err := s.AgentsSince(ctx, 0, nil)
	if err != nil || !full {
		t.Fatalf("first read: full %v, %v", full, err)
	}
	exp := t0.Add(time.Hour)
	if err := other.PutRegistration(ctx, Registration{Ext: "1002", Contact: "sip:1002@10.0.0.2", Expires: exp}); err != nil {
		t.Fatal(err)
	}
	recs, mark, full, err := s.AgentsSince(ctx, mark, nil)
	if err != nil || full || len(recs) != 1 || recs[0].Registration.Contact != "sip:1002@10.0.0.2" || !recs[0].Registration.Expires.Equal(exp) {
		t.Fatalf("after another node's REGISTER: %+v full %v %v", recs, full, err)
	}
	if err := other.DeleteRegistration(ctx, "1002"); err != nil {
		t.Fatal(err)
	}
	recs, mark, full, _ = s.AgentsSince(ctx, mark, nil)
	if full || len(recs) != 1 || recs[0].Registration.Contact != "" {
		t.Fatalf("after another node's unREGISTER: %+v full %v", recs, full)
	}
	s.SetMaxStale(time.Hour)
	if err := s.PutRegistration(ctx, Registration{Ext: "1003", Contact: "sip:1003@10.0.0.3", Expires: exp}); err != nil {
		t.Fatal(err)
	}
	recs, _, full, _ = s.AgentsSince(ctx, mark, nil)
	if full || len(recs) != 1 || recs[0].Agent.Ext != "1003" || recs[0].Registration.Contact != "sip:1003@10.0.0.3" {
		t.Fatalf("own REGISTER within the window: %+v full %v", recs, full)
	}
	if err := s.PutRegistration(ctx, Registration{Ext: "9999", Contact: "sip:x"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown agent: %v", err)
	}
}

// twoNodes starts a redis-server and returns a client of it and two stores
// on it (two engine nodes); the first has put the agents exts.
func twoNodes(t *testing.T, exts ...string) (c *redis.Client, s, other *Redis) {
	t.Helper()
	srv := redistest.Start(t)
	c = redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { c.Close() })
	s, other = NewRedis(c, ""), NewRedis(c, "")
	for _, ext := range exts {
		if err := s.PutAgent(context.Background(), Agent{Ext: ext}); err != nil {
			t.Fatal(err)
		}
	}
	return c, s, other
}

func TestRedisCallbacks(t *testing.T) {
	srv := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { c.Close() })
	callbackSuite(t, NewRedis(c, "{test}:"))
}
