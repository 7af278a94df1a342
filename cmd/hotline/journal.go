package main

import (
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/records"
)

// journaled is the engine's records sink: each record is written to the
// records file, then its call's end is journalled (records.Journal), so
// that a crash between the two gives no second record (openJournal finds
// the first in the file).
type journaled struct {
	j *records.Journal
	w *records.Writer
}

func (s journaled) Write(r *records.Record) error {
	if err := s.w.Write(r); err != nil {
		return err
	}
	return s.j.Event(records.EventCallEnded, r)
}

// Event journals a call's progress (call.started, call.answered).
func (s journaled) Event(typ string, r *records.Record) error { return s.j.Event(typ, r) }

// Publish journals an event that is not a call's (agent.state).
func (s journaled) Publish(typ string, data any) error { return s.j.Publish(typ, data) }

// openJournal opens DATA/journal and gives every call the last run left
// open its record (end_reason lost, what was known), unless the records
// file has it already; then the journal starts afresh.
func openJournal(cfg *config.Config, w *records.Writer, log *slog.Logger) (*records.Journal, error) {
	j, lost, err := records.OpenJournal(filepath.Join(cfg.DataDir, "journal"), cfg.Records.Fsync, cfg.Records.FsyncInterval, log)
	if err != nil {
		return nil, err
	}
	written, read := map[string]bool{}, map[string]bool{} // call ids in the records files; files read
	for _, r := range lost {
		for _, path := range []string{w.Path(r.EndedAt.Std()), w.Path(r.EndedAt.Std().AddDate(0, 0, 1))} {
			if read[path] {
				continue
			}
			read[path] = true
			recs, _ := records.ReadFile(path) // a missing file has none
			for _, old := range recs {
				written[old.CallID] = true
			}
		}
	}
	recovered := 0
	for i := range lost {
		r := &lost[i]
		if !written[r.CallID] {
			if err := w.Write(r); err != nil {
				_ = j.Close()
				return nil, fmt.Errorf("the record of lost call %s: %w", r.CallID, err)
			}
			recovered++
		}
		if err := j.Ended(r); err != nil {
			_ = j.Close()
			return nil, err
		}
	}
	if err := j.Compact(); err != nil {
		_ = j.Close()
		return nil, err
	}
	if len(lost) > 0 {
		log.Warn("calls of the last run that never ended recorded as lost", "recorded", recovered, "already_recorded", len(lost)-recovered)
	}
	return j, nil
}
