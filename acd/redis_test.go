package acd

import (
	"fmt"
	"testing"

	"github.com/hotline-cc/hotline/store"
	"github.com/hotline-cc/hotline/store/redistest"
	"github.com/redis/go-redis/v9"
)

func redisStore(t testing.TB, addr, prefix string) store.Store {
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	return store.NewRedis(c, prefix)
}

// TestRandomInvariantsRedis runs the randomized test on the Redis store.
func TestRandomInvariantsRedis(t *testing.T) {
	srv := redistest.Start(t)
	s := newSim(t, redisStore(t, srv.Addr, "{one}:"), 7, 12)
	for range 1500 {
		s.step()
	}
	s.drain()
}

// TestTwoNodesShareSeats: two dispatchers (two engine nodes, each with its
// own Redis connection) take calls in turn for the same seats; after every
// event no seat is held by two calls, on either node or in Redis.
func TestTwoNodesShareSeats(t *testing.T) {
	srv := redistest.Start(t)
	for seed := range uint64(2) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			prefix := fmt.Sprintf("{two%d}:", seed)
			a := newSim(t, redisStore(t, srv.Addr, prefix), seed, 10)
			b := newSim(t, redisStore(t, srv.Addr, prefix), seed+100, 10)
			a.prefix, b.prefix = "a", "b"
			a.d.node, b.d.node = "n1", "n2"
			b.clk = a.clk
			b.d.now = a.clk.Now
			a.peers, b.peers = []*sim{b}, []*sim{a}
			for i := range 1200 {
				if i%2 == 0 {
					a.step()
				} else {
					b.step()
				}
				a.check()
			}
			a.drain()
			b.drain()
			t.Logf("node a %v, node b %v", a.kinds, b.kinds)
		})
	}
}

// TestTwoNodesRaceForSeats: two nodes take bursts of calls at the same time
// for four seats; each seat is offered exactly once in all.
func TestTwoNodesRaceForSeats(t *testing.T) {
	srv := redistest.Start(t)
	cfg := oneQueue(general())
	seats := []Agent{agent("1001", "general", 5), agent("1002", "general", 5), agent("1003", "general", 5), agent("1004", "general", 5)}
	a := newRigStore(t, redisStore(t, srv.Addr, "{race}:"), cfg, seats...)
	b := newRigStore(t, redisStore(t, srv.Addr, "{race}:"), cfg, seats...)
	b.d.node = "n2"
	a.ready("1001", "1002", "1003", "1004")
	offers := make(chan Decision, 200)
	errs := make(chan error, 2)
	for _, r := range []*rig{a, b} {
		go func() {
			for i := range 50 {
				out, err := r.d.Arrive(r.ctx, Arrival{CallID: fmt.Sprintf("%s-%d", r.d.node, i), Queue: "general"})
				if err != nil {
					errs <- err
					return
				}
				for _, d := range out {
					if d.Kind == Offer {
						offers <- d
					}
				}
			}
			errs <- nil
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(offers)
	seen := map[string]string{}
	for d := range offers {
		if other, dup := seen[d.Agent]; dup {
			t.Fatalf("seat %s offered %s and %s", d.Agent, other, d.CallID)
		}
		seen[d.Agent] = d.CallID
	}
	if len(seen) != 4 {
		t.Fatalf("%d seats offered, want 4", len(seen))
	}
}
