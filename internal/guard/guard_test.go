package guard

import (
	"io"
	"log/slog"
	"testing"
)

func TestRecoverCountsAndCallsAfter(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var got any
	func() {
		defer Recover(log, "test", func(v any) { got = v })
		panic("boom")
	}()
	if got != "boom" {
		t.Fatalf("after got %v, want boom", got)
	}
	func() {
		defer Recover(log, "test", nil)
	}()
	var n uint64
	for _, e := range Counts() {
		if e.Component == "test" {
			n = e.N
		}
	}
	if n != 1 {
		t.Fatalf("count %d, want 1", n)
	}
}
