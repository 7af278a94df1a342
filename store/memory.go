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
	byState map[string][]*memAgent      // status state -> agents sorted by extension (status set)
	entries map[string]map[string]Entry // queue -> call id -> entry
}

type memAgent struct {
	agent  Agent
	status Status
	reg    Registration
}

// NewMemory returns an empty store.
func NewMemory() *Memory {
	return &Memory{agents: make(map[string]*memAgent), byState: make(map[string][]*memAgent), entries: make(map[string]map[string]Entry)}
}

func (m *Memory) PutAgent(_ context.Context, a Agent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a.Skills = maps.Clone(a.Skills)
	if ma, ok := m.agents[a.Ext]; ok {
		ma.agent = a
		return nil
	}
	ma := &memAgent{agent: a}
	m.agents[a.Ext] = ma
	m.order = insertAgent(m.order, ma)
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
	if ma.status.Version != 0 {
		m.byState[ma.status.State] = removeAgent(m.byState[ma.status.State], ma)
	}
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

// AgentsIn reads only the agents in states, from the by-state index.
func (m *Memory) AgentsIn(_ context.Context, states []string, buf []AgentRecord) ([]AgentRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out, lists := buf[:0], 0
	for _, st := range states {
		if len(m.byState[st]) > 0 {
			lists++
		}
		for _, ma := range m.byState[st] {
			out = append(out, AgentRecord{Agent: ma.agent, Status: ma.status, Registration: ma.reg})
		}
	}
	if lists > 1 {
		slices.SortFunc(out, func(a, b AgentRecord) int { return strings.Compare(a.Agent.Ext, b.Agent.Ext) })
	}
	return out, nil
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
	if version == 0 || ma.status.State != s.State {
		if version != 0 {
			m.byState[ma.status.State] = removeAgent(m.byState[ma.status.State], ma)
		}
		m.byState[s.State] = insertAgent(m.byState[s.State], ma)
	}
	ma.status = s
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
	return nil
}

func (m *Memory) DeleteRegistration(_ context.Context, ext string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ma, ok := m.agents[ext]; ok {
		ma.reg = Registration{}
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
