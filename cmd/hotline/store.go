package main

import (
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/store"
)

// openStore builds the store of the store section: memory, or Redis through
// a go-redis client that connects lazily (nothing is dialled here) and
// reconnects by itself. closeStore releases the client; serve calls it once
// the engine has drained.
func openStore(s config.Store) (st store.Store, closeStore func() error) {
	if s.Kind != config.StoreRedis {
		return store.NewMemory(), func() error { return nil }
	}
	c := redis.NewClient(&redis.Options{Addr: s.Redis.Address, Password: s.Redis.Password, DB: s.Redis.DB})
	r := store.NewRedis(c, s.Redis.Prefix)
	r.SetMaxStale(redisMaxStale)
	return r, c.Close
}

// redisMaxStale: the ACD reads seats from its mirror of the Redis store for
// this long after each refresh; other nodes' changes arrive at most this
// late (claims are checked by version in Redis all the same).
const redisMaxStale = 20 * time.Millisecond
