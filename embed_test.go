package hotline

import (
	"testing"

	"github.com/hotline-cc/hotline/call"
)

// TestDemoConfig: the demo centre embedded in the binary (what `make run`
// starts) parses, and the engine loads every prompt it names from the
// embedded files.
func TestDemoConfig(t *testing.T) {
	cfg, err := DemoConfig()
	if err != nil {
		t.Fatalf("embedded demo refused:\n%v", err)
	}
	if cfg.Centre == "" || len(cfg.Seats) != 43 {
		t.Fatalf("demo: centre %q, %d seats", cfg.Centre, len(cfg.Seats))
	}
	if _, err := call.NewEngine(call.Options{Config: cfg}); err != nil {
		t.Fatalf("engine on the embedded demo: %v", err)
	}
}
