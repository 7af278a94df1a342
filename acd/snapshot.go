package acd

import (
	"context"
	"time"

	"github.com/hotline-cc/hotline/queue"
)

// AgentInfo is one row of the agents snapshot.
type AgentInfo struct {
	Ext         string         `json:"extension"`
	Name        string         `json:"name"`
	Skills      map[string]int `json:"skills"`
	State       State          `json:"state"`
	Reason      string         `json:"reason,omitempty"`
	Since       time.Time      `json:"since,omitzero"`
	TimeInState time.Duration  `json:"time_in_state_ns"`
	CallID      string         `json:"call_id,omitempty"`
	Queue       string         `json:"queue,omitempty"`
	Registered  bool           `json:"registered"`
	Contact     string         `json:"contact,omitempty"`
	CallsToday  int            `json:"calls_today"`
	Misses      int            `json:"misses"`
	WrapUntil   time.Time      `json:"wrap_until,omitzero"`
}

// Agents returns every seat as the store has it (all nodes' view).
func (d *Dispatcher) Agents(ctx context.Context) ([]AgentInfo, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	recs, err := d.st.Agents(ctx, nil)
	if err != nil {
		return nil, err
	}
	now := d.now()
	day := d.dayLocked(now)
	out := make([]AgentInfo, 0, len(recs))
	for _, r := range recs {
		s := r.Status
		out = append(out, AgentInfo{
			Ext: r.Agent.Ext, Name: r.Agent.Name, Skills: r.Agent.Skills,
			State: state(s), Reason: s.Reason, Since: s.Since, TimeInState: TimeInState(s, now),
			CallID: s.CallID, Queue: s.Queue, Registered: registered(r.Registration, now),
			Contact: r.Registration.Contact, CallsToday: callsOn(s, day), Misses: s.Misses, WrapUntil: s.WrapUntil,
		})
	}
	return out, nil
}

// WaitingCall is one call in a queue snapshot.
type WaitingCall struct {
	CallID   string        `json:"call_id"`
	Caller   string        `json:"caller,omitempty"`
	Priority int           `json:"priority"`
	Position int           `json:"position"`
	Wait     time.Duration `json:"wait_ns"`
	Callback bool          `json:"callback,omitempty"`
}

// QueueInfo is one row of the queues snapshot (this node's calls).
type QueueInfo struct {
	Name      string        `json:"name"`
	Waiting   int           `json:"waiting"`
	Offered   int           `json:"offered"`
	Calls     []WaitingCall `json:"calls"`
	AvgHandle time.Duration `json:"avg_handle_ns"`
}

// Queues returns this node's queues with their waiting calls in order.
// It does not touch the store.
func (d *Dispatcher) Queues() []QueueInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	offered := map[string]int{}
	for _, cs := range d.calls {
		if len(cs.ringing) > 0 || cs.claiming {
			offered[cs.queue]++
		}
	}
	out := make([]QueueInfo, 0, len(d.names))
	for _, name := range d.names {
		q := d.queues[name]
		qi := QueueInfo{Name: name, Waiting: q.Len(), Offered: offered[name], AvgHandle: q.AverageHandle()}
		qi.Calls = make([]WaitingCall, 0, q.Len())
		for i, c := range q.Calls() {
			qi.Calls = append(qi.Calls, waitingCall(c, i+1, d.calls[c.ID], now))
		}
		out = append(out, qi)
	}
	return out
}

func waitingCall(c *queue.Call, pos int, cs *callState, now time.Time) WaitingCall {
	w := WaitingCall{CallID: c.ID, Caller: c.Caller, Priority: c.Priority, Position: pos, Callback: c.Callback}
	if cs != nil {
		w.Wait = now.Sub(cs.arrived)
	}
	return w
}

// ParseFeatureCode turns a number dialled from a seat into a command with
// the configured codes; false when it is not a feature code.
func (d *Dispatcher) ParseFeatureCode(dialled string) (Command, bool) {
	d.mu.Lock()
	f := d.cfg.Features
	d.mu.Unlock()
	return f.Parse(dialled)
}

// Waiting is the number of this node's callers in its queues: waiting, or
// being offered to a seat (a kept callback place counts while it waits).
// It does not touch the store; the SIP edge asks it for each new call.
func (d *Dispatcher) Waiting() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, q := range d.queues {
		n += q.Len()
	}
	for _, cs := range d.calls {
		if len(cs.ringing) > 0 || cs.claiming {
			n++
		}
	}
	return n
}
