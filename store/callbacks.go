package store

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
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
// the life of the process only; Redis keeps them as long as Redis does.
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
