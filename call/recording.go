package call

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/media"
	"github.com/hotline-cc/hotline/records"
)

// Call recording (issue 11). A queue with record: true records its calls
// from the agent's answer, a directory entry with record: true from the
// moment a call is put through to it; the recording ends with the call.
// The file is DATA/recordings/YYYY-MM-DD/<call_id>.wav (the centre's
// date), stereo: the caller on the left; the agent, a department and a
// supervisor who whispers or barges on the right (a listening supervisor
// says nothing; a whisper is never in the caller's channel). Pause and
// resume: the agent's *7 and *9, or POST /api/v1/calls/{id}/recording; a
// pause is silence in the file and an entry in the record. A recording
// that fails (a full disk) ends; the call goes on.

// Recording ops of the API and the agent's keys.
const (
	RecPause  = "pause"
	RecResume = "resume"
)

// evRecReq: pause or resume the call's recording; the call answers on
// reply.
type evRecReq struct {
	action string
	reply  chan error
}

// Recording asks the call callID to pause or resume its recording.
func (e *Engine) Recording(callID, action string) error {
	return e.askCall(callID, func(r chan error) any { return evRecReq{action: action, reply: r} })
}

func (c *Call) onRecReq(req evRecReq) {
	req.reply <- c.pauseRecording(req.action, "api")
}

// recording is a call's (or a callback's) recording, owned by its
// goroutine: the recorder and when it started.
type recording struct {
	r    *media.Recorder
	from time.Time
}

// start starts recording the call id (why: the queue or the entry that
// asks for it) into DATA/recordings/<date>/<id>.wav, unless it records
// already, noting the file in rec; false when it does not record.
func (g *recording) start(e *Engine, dataDir, id string, rec *records.Record, log *slog.Logger, why string) bool {
	if g.r != nil || rec.Recording != "" || e.opts.Media == nil {
		return false
	}
	now := e.opts.Now()
	loc := e.opts.Location
	if loc == nil {
		loc = time.Local
	}
	rel := filepath.Join("recordings", now.In(loc).Format(time.DateOnly), id+".wav")
	rec.Recording = rel
	r, err := e.opts.Media.StartRecording(filepath.Join(dataDir, rel), log.With("part", "recording"))
	if err != nil {
		rec.RecordingStatus = "failed"
		log.Error("recording not started: the call goes on without it", "for", why, "error", err)
		return false
	}
	g.r, g.from = r, now
	log.Info("recording", "for", why, "path", rel)
	return true
}

// startRecording starts the call's recording and taps its legs.
func (c *Call) startRecording(why string) {
	if c.recording.start(c.e, c.cfg.DataDir, c.id, &c.rec, c.log, why) {
		c.tapRecording()
	}
}

// tapRecording points the recording at the call's legs as they are now:
// the caller left; the agent (or the party dialled), a transfer's entry
// and a supervisor who whispers or barges right. Called after every
// change of the call's legs or a monitor's mode.
func (c *Call) tapRecording() {
	r := c.recording.r
	if r == nil {
		return
	}
	if c.in.m != nil {
		r.Tap(c.in.m, media.Left)
	}
	if c.b != nil && c.b.m != nil {
		r.Tap(c.b.m, media.Right)
	}
	if c.xfer != nil && c.xfer.l != nil && c.xfer.l.m != nil {
		r.Tap(c.xfer.l.m, media.Right)
	}
	if m := c.mon; m != nil && m.l != nil && m.l.m != nil {
		if m.up && m.mode != MonListen {
			r.Tap(m.l.m, media.Right)
		} else {
			r.Untap(m.l.m)
		}
	}
}

// pauseRecording applies RecPause or RecResume, by the agent or the api.
func (c *Call) pauseRecording(action, by string) error {
	if err := c.recording.pause(action, by, c.e.opts.Now(), &c.rec); err != nil {
		return err
	}
	c.log.Info("recording "+action+"d", "by", by)
	return nil
}

// pause applies RecPause or RecResume at now, noting it in rec.
func (g *recording) pause(action, by string, now time.Time, rec *records.Record) error {
	if g.r == nil {
		return fmt.Errorf("%w: the call is not being recorded", ErrTransferState)
	}
	switch action {
	case RecPause:
		if g.r.Paused() {
			return fmt.Errorf("%w: the recording is paused already", ErrTransferState)
		}
		g.r.Pause(true)
		rec.RecordingPauses = append(rec.RecordingPauses, records.RecordingPause{AtMs: now.Sub(g.from).Milliseconds(), By: by})
	case RecResume:
		if !g.r.Paused() {
			return fmt.Errorf("%w: the recording is not paused", ErrTransferState)
		}
		g.r.Pause(false)
		g.closePause(now, rec)
	default:
		return fmt.Errorf("%w: recording action %q (pause or resume)", ErrTransferState, action)
	}
	return nil
}

// closePause ends the open pause entry at now.
func (g *recording) closePause(now time.Time, rec *records.Record) {
	if n := len(rec.RecordingPauses); n > 0 {
		p := &rec.RecordingPauses[n-1]
		p.Ms = now.Sub(g.from).Milliseconds() - p.AtMs
	}
}

// stop ends the recording at now and notes its length, hash and status
// in rec; false when there was none.
func (g *recording) stop(now time.Time, rec *records.Record, log *slog.Logger) bool {
	r := g.r
	if r == nil {
		return false
	}
	g.r = nil
	if r.Paused() {
		g.closePause(now, rec)
	}
	res := r.Stop()
	rec.RecordingMs = res.Duration.Milliseconds()
	rec.RecordingSHA256 = res.SHA256
	rec.RecordingStatus = "complete"
	if res.Err != nil {
		rec.RecordingStatus = "failed"
		log.Error("recording incomplete", "error", res.Err)
	}
	return true
}

// stopRecording ends the call's recording (recording.ready).
func (c *Call) stopRecording(now time.Time) { c.recording.finish(c.e, now, &c.rec, c.log) }

// finish stops the recording and journals recording.ready.
func (g *recording) finish(e *Engine, now time.Time, rec *records.Record, log *slog.Logger) {
	if g.stop(now, rec, log) {
		e.journal(log, records.EventRecordingReady, rec)
	}
}

// startTwo records a two-party call of the centre's (a queue callback, a
// follow-up call) when its queue records: the citizen left, the seat
// right.
func (g *recording) startTwo(e *Engine, cfg *config.Config, id string, rec *records.Record, log *slog.Logger, citizen, seat *media.Session) {
	q, ok := cfg.Queue(rec.Queue)
	if !ok || !q.Record || !g.start(e, cfg.DataDir, id, rec, log, "queue "+q.Name) {
		return
	}
	g.r.Tap(citizen, media.Left)
	g.r.Tap(seat, media.Right)
}
