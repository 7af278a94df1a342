package call

import (
	"fmt"
	"path/filepath"
	"time"

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

// startRecording starts the call's recording (why: the queue or the entry
// that asks for it), unless it is recorded already, and taps its legs.
func (c *Call) startRecording(why string) {
	if c.recorder != nil || c.rec.Recording != "" || c.e.opts.Media == nil {
		return
	}
	now := c.e.opts.Now()
	loc := c.e.opts.Location
	if loc == nil {
		loc = time.Local
	}
	rel := filepath.Join("recordings", now.In(loc).Format(time.DateOnly), c.id+".wav")
	c.rec.Recording = rel
	r, err := c.e.opts.Media.StartRecording(filepath.Join(c.cfg.DataDir, rel), c.log.With("part", "recording"))
	if err != nil {
		c.rec.RecordingStatus = "failed"
		c.log.Error("recording not started: the call goes on without it", "for", why, "error", err)
		return
	}
	c.recorder, c.recFrom = r, now
	c.log.Info("recording", "for", why, "path", rel)
	c.tapRecording()
}

// tapRecording points the recording at the call's legs as they are now:
// the caller left; the agent (or the party dialled), a transfer's entry
// and a supervisor who whispers or barges right. Called after every
// change of the call's legs or a monitor's mode.
func (c *Call) tapRecording() {
	r := c.recorder
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
	if c.recorder == nil {
		return fmt.Errorf("%w: the call is not being recorded", ErrTransferState)
	}
	now := c.e.opts.Now()
	switch action {
	case RecPause:
		if c.recorder.Paused() {
			return fmt.Errorf("%w: the recording is paused already", ErrTransferState)
		}
		c.recorder.Pause(true)
		c.rec.RecordingPauses = append(c.rec.RecordingPauses, records.RecordingPause{AtMs: now.Sub(c.recFrom).Milliseconds(), By: by})
	case RecResume:
		if !c.recorder.Paused() {
			return fmt.Errorf("%w: the recording is not paused", ErrTransferState)
		}
		c.recorder.Pause(false)
		c.closePause(now)
	default:
		return fmt.Errorf("%w: recording action %q (pause or resume)", ErrTransferState, action)
	}
	c.log.Info("recording "+action+"d", "by", by)
	return nil
}

// closePause ends the open pause entry at now.
func (c *Call) closePause(now time.Time) {
	if n := len(c.rec.RecordingPauses); n > 0 {
		p := &c.rec.RecordingPauses[n-1]
		p.Ms = now.Sub(c.recFrom).Milliseconds() - p.AtMs
	}
}

// stopRecording ends the recording at the end of the call and notes its
// length, hash and status in the record.
func (c *Call) stopRecording(now time.Time) {
	r := c.recorder
	if r == nil {
		return
	}
	c.recorder = nil
	if r.Paused() {
		c.closePause(now)
	}
	res := r.Stop()
	c.rec.RecordingMs = res.Duration.Milliseconds()
	c.rec.RecordingSHA256 = res.SHA256
	c.rec.RecordingStatus = "complete"
	if res.Err != nil {
		c.rec.RecordingStatus = "failed"
		c.log.Error("recording incomplete", "error", res.Err)
	}
	c.journal(records.EventRecordingReady)
}
