package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"
)

// Callback is a kept callback place: a caller who hung up and keeps their
// place in a queue to be called back. The engine writes it when the place
// is kept (and again when an attempt failed and another is due) and
// deletes it when the place is served, given up or expired; on start it
// puts the places of its node back in their queues.
type Callback struct {
	CallID   string    `json:"call_id"` // the asking call's id
	Queue    string    `json:"queue"`
	Caller   string    `json:"caller"`
	Line     string    `json:"line"`   // the number they had dialled
	Target   string    `json:"target"` // the Request-URI dialled through the trunk
	Codec    string    `json:"codec,omitempty"`
	Priority int       `json:"priority"`
	Arrived  time.Time `json:"arrived"` // first arrival at the ACD: their place
	Kept     time.Time `json:"kept"`    // when the place was kept (callback_expiry counts from here)
	Attempt  int       `json:"attempt"` // callbacks made before the next one
	Node     string    `json:"node,omitempty"`
}

// Callbacks keeps callback places across restarts. Memory keeps them for
// the life of the process only (the engine on the memory store keeps them
// in a CallbackFile instead); Redis keeps them as long as Redis does.
type Callbacks interface {
	// PutCallback creates or replaces the place c.CallID.
	PutCallback(ctx context.Context, c Callback) error
	// DeleteCallback is idempotent.
	DeleteCallback(ctx context.Context, callID string) error
	// Callbacks returns the places kept by node, in queue order (priority,
	// then arrival, then call id).
	Callbacks(ctx context.Context, node string) ([]Callback, error)
}

var (
	_ Callbacks = (*Memory)(nil)
	_ Callbacks = (*Redis)(nil)
)

func callbackLess(a, b Callback) bool {
	return entryLess(Entry{CallID: a.CallID, Priority: a.Priority, Arrived: a.Arrived},
		Entry{CallID: b.CallID, Priority: b.Priority, Arrived: b.Arrived})
}

func (m *Memory) PutCallback(_ context.Context, c Callback) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.callbacks == nil {
		m.callbacks = make(map[string]Callback)
	}
	m.callbacks[c.CallID] = c
	return nil
}

func (m *Memory) DeleteCallback(_ context.Context, callID string) error {
	m.mu.Lock()
	delete(m.callbacks, callID)
	m.mu.Unlock()
	return nil
}

func (m *Memory) Callbacks(_ context.Context, node string) ([]Callback, error) {
	m.mu.Lock()
	out := slices.DeleteFunc(slices.Collect(maps.Values(m.callbacks)), func(c Callback) bool { return c.Node != node })
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return callbackLess(out[i], out[j]) })
	return out, nil
}

// PutCallback sets the field call id of PREFIX callbacks (a hash of JSON).
func (r *Redis) PutCallback(ctx context.Context, c Callback) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return r.wrap(r.c.HSet(ctx, r.key("callbacks"), c.CallID, b).Err())
}

func (r *Redis) DeleteCallback(ctx context.Context, callID string) error {
	return r.wrap(r.c.HDel(ctx, r.key("callbacks"), callID).Err())
}

func (r *Redis) Callbacks(ctx context.Context, node string) ([]Callback, error) {
	all, err := r.c.HGetAll(ctx, r.key("callbacks")).Result()
	if err != nil {
		return nil, r.wrap(err)
	}
	out := make([]Callback, 0, len(all))
	for id, raw := range all {
		var c Callback
		if err := json.Unmarshal([]byte(raw), &c); err != nil {
			return nil, fmt.Errorf("store: callback %s: %w", id, err)
		}
		if c.Node == node {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return callbackLess(out[i], out[j]) })
	return out, nil
}

// CallbackFile keeps callback places in one JSON file: the memory store's
// places across restarts (DATA/callbacks.json). Every change rewrites the
// file atomically (a temporary file in the same folder, synced, then
// renamed over it), mode 0600 in a folder narrowed to 0700: it holds
// citizens' numbers. Safe for concurrent use; each method blocks on the
// disk.
type CallbackFile struct {
	mu     sync.Mutex
	path   string
	places map[string]Callback // nil until read
}

var _ Callbacks = (*CallbackFile)(nil)

// NewCallbackFile keeps places in path; nothing is read or written until
// the first call.
func NewCallbackFile(path string) *CallbackFile { return &CallbackFile{path: path} }

func (f *CallbackFile) PutCallback(_ context.Context, c Callback) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.readLocked(); err != nil {
		return err
	}
	f.places[c.CallID] = c
	return f.writeLocked()
}

func (f *CallbackFile) DeleteCallback(_ context.Context, callID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.readLocked(); err != nil {
		return err
	}
	if _, ok := f.places[callID]; !ok {
		return nil
	}
	delete(f.places, callID)
	return f.writeLocked()
}

func (f *CallbackFile) Callbacks(_ context.Context, node string) ([]Callback, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.readLocked(); err != nil {
		return nil, err
	}
	out := slices.DeleteFunc(slices.Collect(maps.Values(f.places)), func(c Callback) bool { return c.Node != node })
	sort.Slice(out, func(i, j int) bool { return callbackLess(out[i], out[j]) })
	return out, nil
}

// readLocked loads the file once; a missing file holds no place.
func (f *CallbackFile) readLocked() error {
	if f.places != nil {
		return nil
	}
	b, err := os.ReadFile(f.path)
	var list []Callback
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("store: callbacks: %w", err)
	default:
		if err := json.Unmarshal(b, &list); err != nil {
			return fmt.Errorf("store: callbacks %s: %w", f.path, err)
		}
	}
	f.places = make(map[string]Callback, len(list))
	for _, c := range list {
		f.places[c.CallID] = c
	}
	return nil
}

// writeLocked replaces the file with the places now kept.
func (f *CallbackFile) writeLocked() error {
	list := slices.Collect(maps.Values(f.places))
	sort.Slice(list, func(i, j int) bool { return callbackLess(list[i], list[j]) })
	b, err := json.Marshal(list)
	if err != nil {
		return err
	}
	dir := filepath.Dir(f.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("store: callbacks: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("store: callbacks: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".callbacks-*.json")
	if err != nil {
		return fmt.Errorf("store: callbacks: %w", err)
	}
	_, werr := tmp.Write(b)
	err = errors.Join(werr, tmp.Chmod(0o600), tmp.Sync(), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), f.path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("store: callbacks: %w", err)
	}
	return nil
}
