package main

import (
	_ "embed"
	"net/http"
	"sort"
	"time"

	"github.com/hotline-cc/hotline/config"
)

// The wallboard (issue 12): /wallboard is one self-contained page for the
// hall screen (no font, script or style from elsewhere: centres run on the
// government extranet), in Chinese. It reads GET /api/v1/wallboard with
// the read token it is given in its address (#token=...), again on every
// event of /api/v1/events (within a second of a call arriving, being
// answered or ending, of a seat changing state) and every 5 s, and
// reconnects to the stream by itself.

//go:embed wallboard.html
var wallboardPage []byte

// serveWallboard serves the page (open: it holds no data).
func (c *centre) serveWallboard(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(wallboardPage)
}

// Lights of the wallboard.
const (
	lightGreen  = "green"
	lightYellow = "yellow"
	lightRed    = "red"
)

// boardQueue is one queue on the wallboard.
type boardQueue struct {
	Name         string         `json:"name"`
	Waiting      int            `json:"waiting"`
	LongestWaitS float64        `json:"longest_wait_s"`
	ServiceLevel *float64       `json:"service_level"`
	AnswerRate   *float64       `json:"answer_rate"`
	Offered      int            `json:"offered"`
	Answered     int            `json:"answered"`
	Abandoned    int            `json:"abandoned"`
	Agents       map[string]int `json:"agents"`
	Light        string         `json:"light"`
	Why          string         `json:"why,omitempty"`
}

// boardAgent is one seat's tile (no caller numbers).
type boardAgent struct {
	Ext    string  `json:"extension"`
	Name   string  `json:"name"`
	State  string  `json:"state"`
	Reason string  `json:"reason,omitempty"`
	StateS float64 `json:"seconds_in_state"`
}

// boardEntry is a department's transfers today.
type boardEntry struct {
	Name      string   `json:"name"`
	Kind      string   `json:"kind,omitempty"`
	Transfers int      `json:"transfers"`
	InLevel   int      `json:"answered_in_15s"`
	Rate      *float64 `json:"rate"`
}

// board is GET /api/v1/wallboard.
type board struct {
	Title      string       `json:"title"`
	Day        string       `json:"day"`
	Now        time.Time    `json:"now"`
	Centre     boardQueue   `json:"centre"`
	Queues     []boardQueue `json:"queues"`
	Agents     []boardAgent `json:"agents"`
	Entries    []boardEntry `json:"departments"`
	Thresholds struct {
		ServiceLevelYellow float64 `json:"service_level_yellow"`
		ServiceLevelRed    float64 `json:"service_level_red"`
		LongestWaitYellowS float64 `json:"longest_wait_yellow_s"`
		LongestWaitRedS    float64 `json:"longest_wait_red_s"`
	} `json:"thresholds"`
}

// light is a queue's (or the centre's) warning light and why.
func light(w config.Wallboard, sl *float64, longest float64) (string, string) {
	switch {
	case longest > w.LongestWaitRed.Seconds():
		return lightRed, "等待超时"
	case sl != nil && *sl*100 < float64(w.ServiceLevelRed):
		return lightRed, "服务水平过低"
	case longest > w.LongestWaitYellow.Seconds():
		return lightYellow, "等待较长"
	case sl != nil && *sl*100 < float64(w.ServiceLevelYellow):
		return lightYellow, "服务水平偏低"
	}
	return lightGreen, ""
}

// wallboardData serves GET /api/v1/wallboard.
func (c *centre) wallboardData(w http.ResponseWriter, _ *http.Request) {
	cfg := c.cfg.Load()
	wb := cfg.Wallboard
	centre, queues, agents := liveState{c}.centre()
	var b board
	b.Title, b.Now, b.Day = wb.Title, c.now(), centre.Day
	b.Thresholds.ServiceLevelYellow, b.Thresholds.ServiceLevelRed = float64(wb.ServiceLevelYellow)/100, float64(wb.ServiceLevelRed)/100
	b.Thresholds.LongestWaitYellowS, b.Thresholds.LongestWaitRedS = wb.LongestWaitYellow.Seconds(), wb.LongestWaitRed.Seconds()
	d := centre.Today
	b.Centre = boardQueue{Name: cfg.Centre, Waiting: centre.Waiting, LongestWaitS: centre.LongestWaitS, Agents: centre.Agents,
		ServiceLevel: d.ServiceLevel, AnswerRate: d.AnswerRate, Offered: d.Offered, Answered: d.Answered, Abandoned: d.Abandoned}
	for _, q := range queues {
		bq := boardQueue{Name: q.Name, Waiting: q.Waiting, LongestWaitS: q.LongestWaitS, ServiceLevel: q.Today.ServiceLevel,
			AnswerRate: q.Today.AnswerRate, Offered: q.Today.Offered, Answered: q.Today.Answered, Abandoned: q.Today.Abandoned, Agents: q.Agents}
		bq.Light, bq.Why = light(wb, bq.ServiceLevel, bq.LongestWaitS)
		b.Queues = append(b.Queues, bq)
	}
	for _, a := range agents {
		b.Agents = append(b.Agents, boardAgent{Ext: a.Ext, Name: a.Name, State: string(a.State), Reason: a.Reason, StateS: a.TimeInState.Seconds()})
	}
	sort.Slice(b.Agents, func(i, j int) bool { return b.Agents[i].Ext < b.Agents[j].Ext })
	t := c.today
	t.mu.Lock()
	for _, e := range t.entries {
		b.Entries = append(b.Entries, boardEntry{Name: e.Group, Kind: e.Kind, Transfers: e.Transfers, InLevel: e.TransfersInLevel, Rate: e.TransferRate()})
	}
	t.mu.Unlock()
	sort.Slice(b.Entries, func(i, j int) bool { return b.Entries[i].Name < b.Entries[j].Name })
	b.Centre.Light, b.Centre.Why = light(wb, b.Centre.ServiceLevel, b.Centre.LongestWaitS)
	writeJSON(w, http.StatusOK, b)
}
