package call

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/config"
)

// TestAdmitMaxWaiting: Admit refuses new calls with max_waiting while the
// callers in the queues reach limits.max_waiting, and admits again once one
// leaves; a queue at its own bound (max_waiting_per_queue as its
// max_length) still sends the caller over it to its on_full, uncounted.
func TestAdmitMaxWaiting(t *testing.T) {
	yaml := strings.Replace(ivrYAML, "skills: [general]", "skills: [general, market]\nlimits: {max_waiting: 2, max_waiting_per_queue: 1}", 1)
	fsys := fstest.MapFS{}
	for _, name := range []string{"welcome.wav", "hold.wav", "ask.wav", "menu.wav"} {
		fsys["prompts/"+name] = &fstest.MapFile{Data: shortWAV()}
	}
	cfg, err := config.Parse("test.yaml", []byte(yaml), fsys)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := testEngine(t, cfg)
	ctx := context.Background()
	admit := func(want bool) {
		t.Helper()
		if reason, ok := e.Admit(); ok != want || (!ok && reason != AdmitMaxWaiting) {
			t.Fatalf("Admit with %d waiting: %q %v, want %v", e.acd.Waiting(), reason, ok, want)
		}
	}
	arrive := func(id, q string) []acd.Decision {
		t.Helper()
		ds, err := e.acd.Arrive(ctx, acd.Arrival{CallID: id, Caller: "138", Queue: q})
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	admit(true)
	arrive("c1", "general")
	admit(true)
	ds := arrive("c2", "general") // general is full: on_full
	if len(ds) == 0 || ds[0].Kind != acd.Overflow || ds[0].CallID != "c2" {
		t.Fatalf("a full queue decided %+v, want c2's overflow", ds)
	}
	admit(true)
	arrive("c3", "market")
	admit(false)
	if _, err := e.acd.Leave(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	admit(true)

	cfg.Limits.MaxWaiting = 0 // no limit
	arrive("c4", "general")
	admit(true)
}
