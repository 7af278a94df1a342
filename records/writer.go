package records

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// dayLayout names a records file: the date of ended_at in the centre's zone.
const dayLayout = "2006-01-02"

// Writer appends records to DATA/records/YYYY-MM-DD.jsonl. It keeps one file
// open (O_APPEND) and switches file when a record's day differs from the
// current one. Each record reaches the file in a single write(2), so
// concurrent writers and other appenders never interleave within a line.
type Writer struct {
	dir    string
	logger *slog.Logger
	now    func() time.Time
	loc    *time.Location

	mu     sync.Mutex
	f      *os.File // nil before the first record and after a failed open
	day    string   // date of f, "" when f is nil
	closed bool
}

// Option adjusts a Writer built by NewWriter.
type Option func(*Writer)

// WithClock sets the clock used to date a record whose EndedAt is zero
// (default time.Now). Tests inject a fixed clock.
func WithClock(now func() time.Time) Option {
	return func(w *Writer) { w.now = now }
}

// WithLocation sets the centre's time zone, which decides the file a record
// goes to (default time.Local). China's centres use Asia/Shanghai.
func WithLocation(loc *time.Location) Option {
	return func(w *Writer) { w.loc = loc }
}

// NewWriter creates dir (mode 0o700, parents too; an existing dir is
// narrowed to 0o700: records carry citizens' numbers) and returns a Writer
// that appends to files in it (mode 0o600). A nil logger discards logs. No file is opened until
// the first Write.
func NewWriter(dir string, logger *slog.Logger, opts ...Option) (*Writer, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	w := &Writer{dir: dir, logger: logger, now: time.Now, loc: time.Local}
	for _, opt := range opts {
		opt(w)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: create %s: %w", ErrFile, dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: chmod %s: %w", ErrFile, dir, err)
	}
	return w, nil
}

// Write appends r as one JSON line to the file of r's day. It is safe for
// concurrent use; it blocks for one write(2), and for an fsync of the previous
// file when the day changes. r is not modified and not retained.
func (w *Writer) Write(r *Record) error {
	if r == nil {
		return ErrNilRecord
	}
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("record %s: %w: %w", r.CallID, ErrEncode, err)
	}
	line = append(line, '\n')
	day := w.dayOf(r)

	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return fmt.Errorf("record %s: %w", r.CallID, ErrClosed)
	}
	if day != w.day {
		if err := w.switchLocked(day); err != nil {
			return fmt.Errorf("record %s: %w", r.CallID, err)
		}
	}
	if _, err := w.f.Write(line); err != nil {
		return fmt.Errorf("record %s: %w: %w", r.CallID, ErrFile, err)
	}
	return nil
}

// Close syncs and closes the current file. Later Writes fail with ErrClosed;
// a second Close returns nil.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	return w.closeFileLocked()
}

// Path returns the file that records ending on day (in the centre's zone)
// are appended to.
func (w *Writer) Path(day time.Time) string {
	return filepath.Join(w.dir, day.In(w.loc).Format(dayLayout)+".jsonl")
}

func (w *Writer) dayOf(r *Record) string {
	ended := r.EndedAt.Std()
	if ended.IsZero() {
		ended = w.now()
	}
	return ended.In(w.loc).Format(dayLayout)
}

// switchLocked closes the current file (fsync first) and opens day's file.
func (w *Writer) switchLocked(day string) error {
	if err := w.closeFileLocked(); err != nil {
		w.logger.Warn("records: closing previous day's file", "error", err)
	}
	path := filepath.Join(w.dir, day+".jsonl")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("%w: open %s: %w", ErrFile, path, err)
	}
	// A file an earlier version made readable by all is narrowed too.
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close()
		return fmt.Errorf("%w: chmod %s: %w", ErrFile, path, err)
	}
	if err := terminateLastLine(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("%w: %s: %w", ErrFile, path, err)
	}
	w.f, w.day = f, day
	w.logger.Debug("records: appending", "file", path)
	return nil
}

func (w *Writer) closeFileLocked() error {
	if w.f == nil {
		return nil
	}
	f := w.f
	w.f, w.day = nil, ""
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("%w: close %s: %w", ErrFile, f.Name(), err)
	}
	return nil
}

// terminateLastLine appends '\n' when the file ends inside a line (a write cut
// short by a crash), so the next record starts on a line of its own. f is
// opened read-write with O_APPEND: ReadAt reads in place, Write appends.
func terminateLastLine(f *os.File) error {
	info, err := f.Stat()
	if err != nil || info.Size() == 0 {
		return err
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, info.Size()-1); err != nil {
		return err
	}
	if last[0] == '\n' {
		return nil
	}
	_, err = f.Write([]byte{'\n'})
	return err
}
