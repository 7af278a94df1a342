package records

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// The journal (issue 11, crash-safe records): every call's life is
// journalled as numbered events before anything acts on them, so that a
// node killed with calls live still gives each of them its one record:
//
//	call.started   the call was admitted (the record as far as known)
//	call.queued    it entered a queue
//	call.answered  a seat answered it (agent, answered_at, wait)
//	call.transfer  a transfer began or came to a result
//	call.monitor   a supervisor's monitoring began, changed or ended
//	call.ended     its record, complete
//	agent.state    a seat's state changed (not a call's: Data)
//
// On start (OpenJournal) every call the journal shows begun and not ended
// is returned as a lost record: what was known, end_reason "lost". The
// owner writes those records and journals their end (Ended), then Compact
// starts the journal afresh with only the calls still open. Event ids are
// node-local, increasing, and go on across restarts.
//
// The file is DIR/journal.jsonl (0600), one JSON event per line, each
// written in one write(2). Sync policy: FsyncAlways syncs every event
// before Event returns; FsyncInterval syncs at most every interval from
// a goroutine of its own (a kill -9 loses nothing that reached the page
// cache; a power cut loses at most the interval); FsyncNever leaves it to
// the kernel.

// Journal fsync policies (config records.fsync).
const (
	FsyncAlways   = "always"
	FsyncInterval = "interval"
	FsyncNever    = "never"
)

// Journal event types.
const (
	EventCallStarted  = "call.started"
	EventCallQueued   = "call.queued"   // it entered a queue of the ACD
	EventCallAnswered = "call.answered" // a seat answered it
	EventCallTransfer = "call.transfer" // a transfer began or came to a result (record.transfers)
	EventCallMonitor  = "call.monitor"  // a supervisor's monitoring began, changed or ended (record.monitors)
	EventCallEnded    = "call.ended"
	EventSurveyResult = "survey.result" // the caller keyed a grade (record.survey_score)
	EventCallIVR      = "call.ivr"      // the IVR came to an outcome (record.ivr_path)
	EventCallOffered  = "call.offered"  // a seat rings for it
	// EventCallbackKept: the caller's place is kept for a callback (the
	// asking call, which then ends "callback"); EventCallbackDialled: a
	// callback dials the caller (the callback's own record, line_mode
	// callback: a node killed during it recovers it as lost).
	EventCallbackKept    = "callback.kept"
	EventCallbackDialled = "callback.dialled"
	// EventRecordingReady: the call's recording is complete on disk
	// (record.recording, recording_sha256), just before call.ended.
	EventRecordingReady = "recording.ready"
)

// EndLost is the end_reason of a call the node was killed during.
const EndLost = "lost"

// journalMax is the size past which the journal is compacted: rewritten
// with the open calls' latest events only.
const journalMax = 32 << 20

// EventAgentState: a seat's ACD state changed (Data is an AgentState).
const EventAgentState = "agent.state"

// Event is one journalled event: a call's (CallID and Record) or, with no
// CallID, another part's (Data).
type Event struct {
	ID     uint64    `json:"id"`
	Time   time.Time `json:"time"`
	Type   string    `json:"type"`
	CallID string    `json:"call_id,omitempty"`
	Record *Record   `json:"record,omitempty"`
	Data   any       `json:"data,omitempty"`
}

// AgentState is the data of an agent.state event.
type AgentState struct {
	Agent  string    `json:"agent"`
	State  string    `json:"state"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since"`
	CallID string    `json:"call_id,omitempty"`
	Queue  string    `json:"queue,omitempty"`
}

// Journal is the node's event journal; safe for concurrent use.
type Journal struct {
	path     string
	policy   string
	log      *slog.Logger
	now      func() time.Time
	mu       sync.Mutex
	f        *os.File
	size     int64
	next     uint64
	open     map[string][]byte // call id -> its latest event line, while the call is open
	dirty    bool
	closed   bool
	stop     chan struct{}
	done     chan struct{}
	syncErrs int
	feed     *Feed
}

// feedSize is how many events the journal keeps for live readers.
const feedSize = 8192

// Feed is the journal's live view: its latest events, for the event
// stream.
func (j *Journal) Feed() *Feed { return j.feed }

// OpenJournal opens (creating) DIR/journal.jsonl with the sync policy,
// and returns the calls it shows begun and not ended as records with
// end_reason "lost", ended at their last event's time. A line it cannot
// read (a write torn by the crash) is skipped and logged.
func OpenJournal(dir, policy string, interval time.Duration, log *slog.Logger) (*Journal, []Record, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	switch policy {
	case FsyncAlways, FsyncInterval, FsyncNever:
	default:
		return nil, nil, fmt.Errorf("records: journal fsync policy %q (always, interval or never)", policy)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("records: journal: %w", err)
	}
	j := &Journal{path: filepath.Join(dir, "journal.jsonl"), policy: policy, log: log, now: time.Now,
		open: map[string][]byte{}, next: 1, feed: NewFeed(feedSize)}
	lost, err := j.recover()
	if err != nil {
		return nil, nil, err
	}
	j.f, err = os.OpenFile(j.path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("records: journal: %w", err)
	}
	if err := terminateLastLine(j.f); err != nil {
		return nil, nil, fmt.Errorf("records: journal: %w", err)
	}
	if st, err := j.f.Stat(); err == nil {
		j.size = st.Size()
	}
	if policy == FsyncInterval {
		if interval <= 0 {
			interval = 200 * time.Millisecond
		}
		j.stop, j.done = make(chan struct{}), make(chan struct{})
		go j.syncEvery(interval)
	}
	return j, lost, nil
}

// recover reads the journal: the next id, and the calls left open.
func (j *Journal) recover() ([]Record, error) {
	f, err := os.Open(j.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("records: journal: %w", err)
	}
	defer f.Close()
	last := map[string]Event{}
	var order []string
	br := bufio.NewReaderSize(f, 64<<10)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			var ev Event
			if jerr := json.Unmarshal(line, &ev); jerr != nil {
				j.log.Warn("journal: a line not read (torn by a crash?)", "line", n, "error", jerr)
			} else {
				if ev.ID >= j.next {
					j.next = ev.ID + 1
				}
				if ev.CallID == "" {
					continue // not a call's
				}
				if _, seen := last[ev.CallID]; !seen {
					order = append(order, ev.CallID)
				}
				last[ev.CallID] = ev
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("records: journal: %w", err)
		}
	}
	var lost []Record
	for _, id := range order {
		ev := last[id]
		if ev.Type == EventCallEnded || ev.Record == nil {
			continue
		}
		r := *ev.Record
		r.EndedAt, r.EndReason = Time(ev.Time), EndLost
		if r.HangupBy == "" {
			r.HangupBy = "system"
		}
		if r.AnsweredAt != nil {
			r.TalkMs = ev.Time.Sub(r.AnsweredAt.Std()).Milliseconds()
		}
		lost = append(lost, r)
	}
	return lost, nil
}

// Event journals an event of r's call (r as it is now; for call.ended,
// complete). It returns once the event is in the file (and synced, with
// FsyncAlways).
func (j *Journal) Event(typ string, r *Record) error {
	return j.append(Event{Type: typ, CallID: r.CallID, Record: r})
}

// Publish journals an event that is not a call's (agent.state) with its
// data.
func (j *Journal) Publish(typ string, data any) error {
	return j.append(Event{Type: typ, Data: data})
}

func (j *Journal) append(ev Event) error {
	typ, r := ev.Type, ev.Record
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return errors.New("records: journal closed")
	}
	ev.ID, ev.Time = j.next, j.now()
	line, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("records: journal: %w", err)
	}
	line = append(line, '\n')
	if _, err := j.f.Write(line); err != nil {
		return fmt.Errorf("records: journal: %w", err)
	}
	j.next++
	j.size += int64(len(line))
	j.feed.publish(FeedEvent{ID: ev.ID, Type: typ, CallID: ev.CallID, JSON: line[:len(line)-1]})
	switch {
	case r == nil: // not a call's
	case typ == EventCallEnded:
		delete(j.open, r.CallID)
	default:
		j.open[r.CallID] = line
	}
	switch j.policy {
	case FsyncAlways:
		if err := j.f.Sync(); err != nil {
			return fmt.Errorf("records: journal: %w", err)
		}
	case FsyncInterval:
		j.dirty = true
	}
	if j.size > journalMax {
		if err := j.compactLocked(); err != nil {
			j.log.Error("journal: compaction failed; it goes on growing", "error", err)
		}
	}
	return nil
}

// Ended journals the end of a lost call returned by OpenJournal, once its
// record is written.
func (j *Journal) Ended(r *Record) error { return j.Event(EventCallEnded, r) }

// Compact rewrites the journal with the open calls' latest events only
// (a new file renamed over the old, synced): after a start's lost records
// are written and ended, the journal starts empty.
func (j *Journal) Compact() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.compactLocked()
}

func (j *Journal) compactLocked() error {
	tmp := j.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	var size int64
	for _, line := range j.open {
		n, err := f.Write(line)
		size += int64(n)
		if err != nil {
			_ = f.Close()
			return err
		}
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, j.path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(j.path)); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	nf, err := os.OpenFile(j.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	_ = j.f.Close()
	j.f, j.size, j.dirty = nf, size, false
	return nil
}

// syncEvery syncs the journal every interval while events came.
func (j *Journal) syncEvery(interval time.Duration) {
	defer close(j.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-j.stop:
			return
		case <-t.C:
		}
		j.mu.Lock()
		if j.dirty && !j.closed {
			if err := j.f.Sync(); err != nil && j.syncErrs == 0 {
				j.log.Error("journal: sync failed", "error", err)
				j.syncErrs++
			}
			j.dirty = false
		}
		j.mu.Unlock()
	}
}

// Close syncs and closes the journal.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	j.feed.Close()
	err := j.f.Sync()
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	j.mu.Unlock()
	if j.stop != nil {
		close(j.stop)
		<-j.done
	}
	return err
}
