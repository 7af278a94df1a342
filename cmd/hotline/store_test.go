package main

import (
	"testing"

	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/store"
)

// TestOpenStore: memory by default; Redis without dialling.
func TestOpenStore(t *testing.T) {
	st, closeStore := openStore(config.Store{Kind: config.StoreMemory})
	if _, ok := st.(*store.Memory); !ok {
		t.Errorf("memory kind gave %T", st)
	}
	if err := closeStore(); err != nil {
		t.Error(err)
	}
	st, closeStore = openStore(config.Store{Kind: config.StoreRedis, Redis: config.Redis{Address: "127.0.0.1:1", Prefix: "{t}:"}})
	if _, ok := st.(*store.Redis); !ok {
		t.Errorf("redis kind gave %T", st)
	}
	if err := closeStore(); err != nil {
		t.Error(err)
	}
}
