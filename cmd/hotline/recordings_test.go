package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestSweepRecordings: day folders whose whole day is older than keep
// are deleted, the rest and anything not a day folder stay.
func TestSweepRecordings(t *testing.T) {
	dir := t.TempDir()
	loc := time.FixedZone("CST", 8*3600)
	for _, d := range []string{"2026-08-01", "2026-09-02", "2026-09-04", "2026-12-03", "notes"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, d, "x.wav"), []byte("RIFF"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "2026-01-01"), nil, 0o600); err != nil {
		t.Fatal(err) // a file named like a day: not ours
	}
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, loc)
	gone := sweepRecordings(dir, 90*24*time.Hour, loc, now, slog.New(slog.DiscardHandler))
	if want := []string{"2026-08-01", "2026-09-02"}; !slices.Equal(gone, want) {
		t.Fatalf("deleted %v, want %v", gone, want)
	}
	for _, d := range []string{"2026-09-04", "2026-12-03", "notes", "2026-01-01"} {
		if _, err := os.Stat(filepath.Join(dir, d)); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
	if got := sweepRecordings(filepath.Join(dir, "none"), time.Hour, loc, now, slog.New(slog.DiscardHandler)); got != nil {
		t.Errorf("a missing folder: %v", got)
	}
}
