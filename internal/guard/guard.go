// Package guard turns a panic in one of hotline's own goroutines into an
// error log with its stack and a count, so that a fault ends only the work
// concerned (a request, a call, a packet loop) and never the process.
//
// It imports nothing of ours; every package may use it. The counts are
// process-wide, as the fact they count is: cmd exposes them as
// hotline_panics_total{component}.
package guard

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"
)

var counts sync.Map // component string → *atomic.Uint64

// Recover must be deferred directly (defer guard.Recover(log, "sip", nil)):
// if the goroutine is panicking it stops the panic, logs it at error level
// with the stack, counts it under component and calls after (when not nil)
// with the panic value, so the caller can end what the goroutine served.
func Recover(log *slog.Logger, component string, after func(v any)) {
	v := recover()
	if v == nil {
		return
	}
	Count(component)
	if log == nil {
		log = slog.Default()
	}
	log.Error("panic recovered", "component", component, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	if after != nil {
		after(v)
	}
}

// Count counts one recovered panic under component.
func Count(component string) {
	c, _ := counts.LoadOrStore(component, new(atomic.Uint64))
	c.(*atomic.Uint64).Add(1)
}

// Counts returns the panics recovered so far, by component, in name order.
func Counts() []Entry {
	var out []Entry
	counts.Range(func(k, v any) bool {
		out = append(out, Entry{Component: k.(string), N: v.(*atomic.Uint64).Load()})
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Component < out[j].Component })
	return out
}

// Entry is one component's count of recovered panics.
type Entry struct {
	Component string
	N         uint64
}
