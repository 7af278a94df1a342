package main

import (
	"context"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/records"
	"github.com/hotline-cc/hotline/report"
)

// The live JSON API of issue 12: /api/v1/queues and /api/v1/agents with
// today's figures, durations in seconds. "Today" is the centre's date
// (timezone); a call counts on the day it started, once it has ended,
// with the definitions of `hotline report` (docs/REPORTS.md), so the
// live figures and the day's report agree.

// todayFigures tallies today's ended calls per queue, for the centre and
// per agent.
type todayFigures struct {
	mu     sync.Mutex
	loc    *time.Location
	now    func() time.Time
	opts   func() report.Options
	day    string
	queues map[string]*report.Row
	centre report.Row
	agents map[string]*agentDay
	// entries: today's transfers by directory entry (or target)
	entries map[string]*report.Row
}

// agentDay is an agent's answered calls and talk time today.
type agentDay struct {
	calls  int
	talkMs int64
}

func newTodayFigures(loc *time.Location, now func() time.Time, opts func() report.Options) *todayFigures {
	if loc == nil {
		loc = time.Local
	}
	t := &todayFigures{loc: loc, now: now, opts: opts}
	t.resetLocked(now().In(loc).Format(time.DateOnly))
	return t
}

func (t *todayFigures) resetLocked(day string) {
	t.day, t.queues, t.centre, t.agents = day, map[string]*report.Row{}, report.Row{}, map[string]*agentDay{}
	t.entries = map[string]*report.Row{}
}

// rollLocked starts a new day at midnight.
func (t *todayFigures) rollLocked() {
	if d := t.now().In(t.loc).Format(time.DateOnly); d != t.day {
		t.resetLocked(d)
	}
}

// note counts one ended call if it started today.
func (t *todayFigures) note(r *records.Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rollLocked()
	if r.StartedAt.Std().In(t.loc).Format(time.DateOnly) != t.day {
		return
	}
	o := t.opts()
	if r.Queue != "" {
		q := t.queues[r.Queue]
		if q == nil {
			q = &report.Row{Group: r.Queue}
			t.queues[r.Queue] = q
		}
		q.Add(r, o)
	}
	t.centre.Add(r, o)
	for i := range r.Transfers {
		x := &r.Transfers[i]
		name := x.Name
		if name == "" {
			name = x.Target
		}
		e := t.entries[name]
		if e == nil {
			e = &report.Row{Group: name, Kind: x.Kind}
			t.entries[name] = e
		}
		e.AddTransfer(x, o)
	}
	if r.Agent != "" && r.AnsweredAt != nil {
		a := t.agents[r.Agent]
		if a == nil {
			a = &agentDay{}
			t.agents[r.Agent] = a
		}
		a.calls++
		a.talkMs += r.TalkMs
	}
}

// dayFigures is a row of today's figures as the API shows it.
type dayFigures struct {
	Offered          int      `json:"offered"`
	Answered         int      `json:"answered"`
	Abandoned        int      `json:"abandoned"`
	ShortAbandoned   int      `json:"short_abandoned"`
	Overflow         int      `json:"overflow"`
	CallbacksKept    int      `json:"callbacks_kept"`
	CallbacksReached int      `json:"callbacks_reached"`
	AnswerRate       *float64 `json:"answer_rate"`
	ServiceLevel     *float64 `json:"service_level"`
	ASA              *float64 `json:"average_speed_of_answer_s"`
	AHT              *float64 `json:"average_handle_s"`
	Transfers        int      `json:"transfers"`
	TransfersIn15s   int      `json:"transfers_answered_in_level"`
	TransferRate     *float64 `json:"transfer_answer_rate"`
	Graded           int      `json:"survey_graded"`
	Satisfaction     *float64 `json:"satisfaction"`
}

func figures(r *report.Row) dayFigures {
	return dayFigures{
		Offered: r.Offered, Answered: r.Answered, Abandoned: r.Abandoned, ShortAbandoned: r.ShortAbandoned,
		Overflow: r.Overflow, CallbacksKept: r.CallbacksKept, CallbacksReached: r.CallbacksReached,
		AnswerRate: r.AnswerRate(), ServiceLevel: r.ServiceLevel(), ASA: r.ASA(), AHT: r.AHT(),
		Transfers: r.Transfers, TransfersIn15s: r.TransfersInLevel, TransferRate: r.TransferRate(),
		Graded: r.Graded(), Satisfaction: r.Satisfaction(),
	}
}

// apiQueue is one queue of GET /api/v1/queues.
type apiQueue struct {
	Name          string         `json:"name"`
	Waiting       int            `json:"waiting"`
	Ringing       int            `json:"ringing"`
	LongestWaitS  float64        `json:"longest_wait_s"`
	CallbacksKept int            `json:"callbacks_kept"`
	ServiceLevelS float64        `json:"service_level_s"`
	AvgHandleS    float64        `json:"avg_handle_s"` // the ACD's estimate (recent handle times)
	Agents        map[string]int `json:"agents"`       // of the queue's skill, by state
	Today         dayFigures     `json:"today"`
	Calls         []apiWaiting   `json:"calls"`
}

// apiWaiting is one caller waiting in a queue.
type apiWaiting struct {
	CallID   string  `json:"call_id"`
	Caller   string  `json:"caller,omitempty"`
	Priority int     `json:"priority"`
	Position int     `json:"position"`
	WaitS    float64 `json:"wait_s"`
	Callback bool    `json:"callback,omitempty"`
}

// apiAgent is one agent of GET /api/v1/agents.
type apiAgent struct {
	Ext        string         `json:"extension"`
	Name       string         `json:"name"`
	Skills     map[string]int `json:"skills"`
	State      string         `json:"state"`
	Reason     string         `json:"reason,omitempty"`
	Since      *time.Time     `json:"since"`
	StateS     float64        `json:"seconds_in_state"`
	CallID     string         `json:"call_id,omitempty"`
	Queue      string         `json:"queue,omitempty"`
	Registered bool           `json:"registered"`
	Contact    string         `json:"contact,omitempty"`
	CallsToday int            `json:"calls_today"`
	TalkTodayS float64        `json:"talk_today_s"`
	Misses     int            `json:"misses"`
	WrapUntil  *time.Time     `json:"wrap_until,omitempty"`
}

// liveState is the Snapshotter of the JSON API: the engine's calls, and
// the queues and agents with today's figures.
type liveState struct{ c *centre }

func (s liveState) Calls() any { return s.c.engine.Calls() }

func (s liveState) Queues() any {
	agents, _ := s.agents()
	return s.queues(agents)
}

// queues is this node's queues with today's figures, agents (read once
// by the caller) counted by queue.
func (s liveState) queues(agents []acd.AgentInfo) []apiQueue {
	c := s.c
	cfg := c.cfg.Load()
	byQueue := agentsByQueue(cfg, agents)
	t := c.today
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rollLocked()
	var out []apiQueue
	for _, q := range c.engine.QueueInfo() {
		longest, kept := onTheLine(q)
		row := apiQueue{Name: q.Name, Waiting: q.Waiting, Ringing: q.Offered, AvgHandleS: q.AvgHandle.Seconds(),
			LongestWaitS: longest.Seconds(), CallbacksKept: kept, Agents: byQueue[q.Name], Calls: make([]apiWaiting, 0, len(q.Calls))}
		if row.Agents == nil {
			row.Agents = map[string]int{}
		}
		for _, w := range q.Calls {
			row.Calls = append(row.Calls, apiWaiting{CallID: w.CallID, Caller: w.Caller, Priority: w.Priority,
				Position: w.Position, WaitS: w.Wait.Seconds(), Callback: w.Callback})
		}
		if qc, ok := cfg.Queue(q.Name); ok {
			row.ServiceLevelS = qc.ServiceLevel.Seconds()
		}
		if r := t.queues[q.Name]; r != nil {
			row.Today = figures(r)
		} else {
			row.Today = figures(&report.Row{})
		}
		out = append(out, row)
	}
	return out
}

func (s liveState) agents() ([]acd.AgentInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.c.engine.AgentInfo(ctx)
}

func (s liveState) Agents() any {
	agents, err := s.agents()
	if err != nil {
		return map[string]string{"error": err.Error()}
	}
	t := s.c.today
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rollLocked()
	out := make([]apiAgent, 0, len(agents))
	for _, a := range agents {
		row := apiAgent{Ext: a.Ext, Name: a.Name, Skills: a.Skills, State: string(a.State), Reason: a.Reason,
			StateS: a.TimeInState.Seconds(), CallID: a.CallID, Queue: a.Queue, Registered: a.Registered,
			Contact: a.Contact, CallsToday: a.CallsToday, Misses: a.Misses}
		if !a.Since.IsZero() {
			since := a.Since.In(t.loc)
			row.Since = &since
		}
		if !a.WrapUntil.IsZero() {
			w := a.WrapUntil.In(t.loc)
			row.WrapUntil = &w
		}
		if d := t.agents[a.Ext]; d != nil {
			row.TalkTodayS = float64(d.talkMs) / 1000
		}
		out = append(out, row)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ext < out[j].Ext })
	return out
}

// apiCentre is GET /api/v1/centre: the whole centre now and today.
type apiCentre struct {
	Centre       string         `json:"centre"`
	Waiting      int            `json:"waiting"`
	LongestWaitS float64        `json:"longest_wait_s"`
	Agents       map[string]int `json:"agents"` // every seat, by state
	Today        dayFigures     `json:"today"`
	Day          string         `json:"day"`
}

// centreNow serves GET /api/v1/centre.
func (c *centre) centreNow(w http.ResponseWriter, _ *http.Request) {
	out, _, _ := liveState{c}.centre()
	writeJSON(w, http.StatusOK, out)
}

// centre is the whole centre now and today, with the queues and the agents
// it was summed from (the agents read from the store once).
func (s liveState) centre() (apiCentre, []apiQueue, []acd.AgentInfo) {
	agents, _ := s.agents()
	queues := s.queues(agents)
	out := apiCentre{Centre: s.c.cfg.Load().Centre, Agents: map[string]int{}}
	for _, q := range queues {
		out.Waiting += q.Waiting
		out.LongestWaitS = max(out.LongestWaitS, q.LongestWaitS)
	}
	for _, a := range agents {
		out.Agents[string(a.State)]++
	}
	t := s.c.today
	t.mu.Lock()
	t.rollLocked()
	out.Today, out.Day = figures(&t.centre), t.day
	t.mu.Unlock()
	return out, queues, agents
}
