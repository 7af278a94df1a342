package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/hotline-cc/hotline/call"
)

// recordingOp serves POST /api/v1/calls/{call_id}/recording (admin
// token): {"action": "pause|resume"}. 404 no such call, 409 not recorded
// or already in that state.
func (c *centre) recordingOp(w http.ResponseWriter, r *http.Request) {
	var body struct{ Action string }
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&body); err != nil ||
		(body.Action != call.RecPause && body.Action != call.RecResume) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `body must be JSON with "action": "pause" or "resume"`})
		return
	}
	writeTransfer(w, c.engine.Recording(r.PathValue("id"), body.Action))
}

// recordingsSweep is how often retention looks for recordings past
// recordings.keep.
const recordingsSweep = time.Hour

// keepRecordings deletes, at start and every recordingsSweep until stop
// closes, the day folders of DATA/recordings older than keep (by the
// folder's date, in loc: a day is deleted once all of it is older). keep 0
// keeps everything.
func keepRecordings(dir string, keep time.Duration, loc *time.Location, now func() time.Time, log *slog.Logger, stop <-chan struct{}) {
	if keep <= 0 {
		return
	}
	t := time.NewTicker(recordingsSweep)
	defer t.Stop()
	for {
		sweepRecordings(dir, keep, loc, now(), log)
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// sweepRecordings is one pass of keepRecordings; it returns the folders
// deleted.
func sweepRecordings(dir string, keep time.Duration, loc *time.Location, now time.Time, log *slog.Logger) []string {
	if loc == nil {
		loc = time.Local
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !os.IsNotExist(err) {
			log.Warn("recordings retention: cannot list", "dir", dir, "error", err)
		}
		return nil
	}
	var gone []string
	for _, e := range entries {
		day, err := time.ParseInLocation(time.DateOnly, e.Name(), loc)
		if err != nil || !e.IsDir() {
			continue // not ours
		}
		if now.Sub(day.AddDate(0, 0, 1)) <= keep {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			log.Warn("recordings retention: cannot delete", "day", e.Name(), "error", err)
			continue
		}
		gone = append(gone, e.Name())
	}
	if len(gone) > 0 {
		log.Info("recordings retention: deleted", "days", gone, "keep", keep)
	}
	return gone
}
