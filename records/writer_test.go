package records

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func newTestWriter(t *testing.T, opts ...Option) (*Writer, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data", "records")
	w, err := NewWriter(dir, nil, append([]Option{WithLocation(cst)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w, dir
}

func TestNewWriterCreatesDir(t *testing.T) {
	_, dir := newTestWriter(t)
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !info.IsDir() || info.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v, want drwx------", info.Mode())
	}
}

// TestRecordsArePrivate: the records directory is 0700 and every day file
// 0600, also where an earlier version left them readable by all.
func TestRecordsArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "records")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, "2026-11-22.jsonl")
	if err := os.WriteFile(old, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(dir, nil, WithLocation(cst))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, day := range []int{22, 23} {
		ended := time.Date(2026, 11, day, 13, 0, 0, 0, cst)
		if err := w.Write(&Record{CallID: "c", EndedAt: Time(ended)}); err != nil {
			t.Fatal(err)
		}
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, old: 0o600, filepath.Join(dir, "2026-11-23.jsonl"): 0o600} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", path, info.Mode().Perm(), want)
		}
	}
}

func TestConcurrentWriters(t *testing.T) {
	w, dir := newTestWriter(t)
	ended := time.Date(2026, 11, 23, 13, 31, 26, 0, cst)
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			r := minimalRecord(fmt.Sprintf("call-%03d", i), ended)
			r.IVRPath = []string{"welcome"}
			errs <- w.Write(r)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(dir, "2026-11-23.jsonl")
	assertValidLines(t, path, n)
	recs, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		seen[r.CallID] = true
	}
	if len(recs) != n || len(seen) != n {
		t.Fatalf("read %d records, %d distinct, want %d", len(recs), len(seen), n)
	}
}

// assertValidLines checks that path holds exactly want lines, each a JSON object.
func assertValidLines(t *testing.T, path string, want int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	got := 0
	for sc.Scan() {
		got++
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d not a JSON object: %v: %q", got, err, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("%s has %d lines, want %d", path, got, want)
	}
}

func TestDateRotation(t *testing.T) {
	clock := time.Date(2026, 11, 25, 9, 0, 0, 0, cst)
	w, dir := newTestWriter(t, WithClock(func() time.Time { return clock }))

	writes := []struct {
		id    string
		ended time.Time
	}{
		{"before-midnight", time.Date(2026, 11, 23, 23, 59, 59, 999_000_000, cst)},
		{"at-midnight", time.Date(2026, 11, 24, 0, 0, 0, 0, cst)},
		// 16:30 UTC is 00:30 the next day in the centre's zone.
		{"utc-late", time.Date(2026, 11, 23, 16, 30, 0, 0, time.UTC)},
		// A late record for a day already rotated away goes back to its day.
		{"late", time.Date(2026, 11, 23, 12, 0, 0, 0, cst)},
		{"no-end-time", time.Time{}},
	}
	for _, wr := range writes {
		if err := w.Write(minimalRecord(wr.id, wr.ended)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	want := map[string][]string{
		"2026-11-23.jsonl": {"before-midnight", "late"},
		"2026-11-24.jsonl": {"at-midnight", "utc-late"},
		"2026-11-25.jsonl": {"no-end-time"},
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		t.Fatalf("files %v, want %d", entries, len(want))
	}
	for name, ids := range want {
		recs, err := ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != len(ids) {
			t.Fatalf("%s: %d records, want %d", name, len(recs), len(ids))
		}
		for i, id := range ids {
			if recs[i].CallID != id {
				t.Errorf("%s[%d] = %s, want %s", name, i, recs[i].CallID, id)
			}
		}
	}
	if got := w.Path(clock); got != filepath.Join(dir, "2026-11-25.jsonl") {
		t.Errorf("Path = %s", got)
	}
}

func TestWriteAfterClose(t *testing.T) {
	w, _ := newTestWriter(t)
	if err := w.Write(minimalRecord("a", time.Now())); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := w.Write(minimalRecord("b", time.Now())); !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
	if err := w.Write(nil); !errors.Is(err, ErrNilRecord) {
		t.Fatalf("err = %v, want ErrNilRecord", err)
	}
}

func TestAppendsToExistingFileAfterTornLine(t *testing.T) {
	w, dir := newTestWriter(t)
	path := filepath.Join(dir, "2026-11-23.jsonl")
	// A previous run wrote one good record, then crashed mid-line.
	good, err := json.Marshal(minimalRecord("old", time.Date(2026, 11, 23, 8, 0, 0, 0, cst)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(append(good, '\n'), `{"call_id":"torn`...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(minimalRecord("new", time.Date(2026, 11, 23, 9, 0, 0, 0, cst))); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	_, err = ReadFile(path)
	if !errors.Is(err, ErrBadRecord) {
		t.Fatalf("err = %v, want ErrBadRecord for the torn line", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := splitLines(data)
	if len(lines) != 3 || lines[1] != `{"call_id":"torn` {
		t.Fatalf("lines %q", lines)
	}
	var r Record
	if err := json.Unmarshal([]byte(lines[2]), &r); err != nil || r.CallID != "new" {
		t.Fatalf("new record not on a line of its own: %v %q", err, lines[2])
	}
}

func splitLines(data []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadFile(filepath.Join(dir, "missing.jsonl")); !errors.Is(err, ErrFile) {
		t.Fatalf("missing file: err = %v, want ErrFile", err)
	}
	path := filepath.Join(dir, "bad.jsonl")
	body := "\n" + `{"call_id":"x","ended_at":"yesterday"}` + "\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(path)
	if !errors.Is(err, ErrBadRecord) {
		t.Fatalf("err = %v, want ErrBadRecord", err)
	}
	if want := path + ":2:"; !strings.Contains(err.Error(), want) {
		t.Fatalf("err %q does not name %s", err, want)
	}
}
