package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Memory is the in-process store, safe for concurrent use; every method is
// non-blocking apart from one mutex.
type Memory struct {
	mu      sync.Mutex
	agents  map[string]*memAgent
	order   []*memAgent                 // the agents sorted by extension
	entries map[string]map[string]Entry // queue -> call id -> entry
	nodes   map[string]memNode          // node name -> its last beat (nodes.go)
	// callbacks are the kept callback places by call id (callbacks.go).
	callbacks map[string]Callback
	// seq is bumped by every change of an agent, which is stamped with it
	// (AgentsSince); a mark below base gets every agent (one was added or
	// deleted since).
	seq, base uint64
}

type memAgent struct {
	agent  Agent
	status Status
	reg    Registration
	seq    uint64 // Memory.seq of its last change
}

// NewMemory returns an empty store.
func NewMemory() *Memory {
	return &Memory{agents: make(map[string]*memAgent), entries: make(map[string]map[string]Entry)}
}

// touch stamps a change of ma.
func (m *Memory) touch(ma *memAgent) {
	m.seq++
	ma.seq = m.seq
}

func (m *Memory) PutAgent(_ context.Context, a Agent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a.Skills = maps.Clone(a.Skills)
	if ma, ok := m.agents[a.Ext]; ok {
		ma.agent = a
		m.touch(ma)
		return nil
	}
	ma := &memAgent{agent: a}
	m.agents[a.Ext] = ma
	m.order = insertAgent(m.order, ma)
	m.touch(ma)
	m.base = m.seq
	return nil
}

func (m *Memory) DeleteAgent(_ context.Context, ext string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	ma, ok := m.agents[ext]
	if !ok {
		return nil
	}
	delete(m.agents, ext)
	m.order = removeAgent(m.order, ma)
	m.seq++
	m.base = m.seq
	return nil
}

// insertAgent and removeAgent keep a slice of agents sorted by extension.
func insertAgent(list []*memAgent, ma *memAgent) []*memAgent {
	i, _ := slices.BinarySearchFunc(list, ma.agent.Ext, byExt)
	return slices.Insert(list, i, ma)
}

func removeAgent(list []*memAgent, ma *memAgent) []*memAgent {
	if i, ok := slices.BinarySearchFunc(list, ma.agent.Ext, byExt); ok {
		return slices.Delete(list, i, i+1)
	}
	return list
}

func byExt(ma *memAgent, ext string) int { return strings.Compare(ma.agent.Ext, ext) }

func (m *Memory) Agents(_ context.Context, buf []AgentRecord) ([]AgentRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := buf[:0]
	for _, ma := range m.order {
		out = append(out, AgentRecord{Agent: ma.agent, Status: ma.status, Registration: ma.reg})
	}
	return out, nil
}

func (m *Memory) Status(_ context.Context, ext string) (Status, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ma, ok := m.agents[ext]
	if !ok {
		return Status{}, fmt.Errorf("agent %s: %w", ext, ErrNotFound)
	}
	return ma.status, nil
}

// AgentsSince returns the agents changed since mark (store.Seats).
func (m *Memory) AgentsSince(_ context.Context, mark uint64, buf []AgentRecord) ([]AgentRecord, uint64, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out, full := buf[:0], mark == 0 || mark < m.base || mark > m.seq
	for _, ma := range m.order {
		if full || ma.seq > mark {
			out = append(out, AgentRecord{Agent: ma.agent, Status: ma.status, Registration: ma.reg})
		}
	}
	return out, m.seq, full, nil
}

func (m *Memory) SwapStatus(_ context.Context, ext string, version int64, s Status) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.swapLocked(ext, version, s)
}

func (m *Memory) Claim(_ context.Context, ext string, version int64, s Status, queue, callID string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, err := m.swapLocked(ext, version, s)
	if err == nil {
		delete(m.entries[queue], callID)
	}
	return v, err
}

func (m *Memory) swapLocked(ext string, version int64, s Status) (int64, error) {
	ma, ok := m.agents[ext]
	if !ok {
		return 0, fmt.Errorf("agent %s: %w", ext, ErrNotFound)
	}
	if ma.status.Version != version {
		return 0, fmt.Errorf("agent %s: %w", ext, ErrConflict)
	}
	s.Version = version + 1
	ma.status = s
	m.touch(ma)
	return s.Version, nil
}

func (m *Memory) PutRegistration(_ context.Context, r Registration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	ma, ok := m.agents[r.Ext]
	if !ok {
		return fmt.Errorf("agent %s: %w", r.Ext, ErrNotFound)
	}
	ma.reg = r
	m.touch(ma)
	return nil
}

func (m *Memory) DeleteRegistration(_ context.Context, ext string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ma, ok := m.agents[ext]; ok {
		ma.reg = Registration{}
		m.touch(ma)
	}
	return nil
}

func (m *Memory) PutEntry(_ context.Context, e Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.entries[e.Queue]
	if q == nil {
		q = make(map[string]Entry)
		m.entries[e.Queue] = q
	}
	q[e.CallID] = e
	return nil
}

func (m *Memory) DeleteEntry(_ context.Context, queue, callID string) error {
	m.mu.Lock()
	delete(m.entries[queue], callID)
	m.mu.Unlock()
	return nil
}

func (m *Memory) Entries(_ context.Context, queue string) ([]Entry, error) {
	m.mu.Lock()
	out := slices.Collect(maps.Values(m.entries[queue]))
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return entryLess(out[i], out[j]) })
	return out, nil
}
