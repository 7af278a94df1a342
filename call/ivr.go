package call

import (
	"strings"
	"time"

	"github.com/hotline-cc/hotline/ivr"
	"github.com/hotline-cc/hotline/records"
)

// endIVRHangup: the caller's IVR walk ended in a hang-up node.
var endIVRHangup = reason{"ivr_hangup", 480, endAnswered.level}

// endIVRLoop: the caller went round the IVR too long (its path reached
// ivr.MaxPath entries, or it played maxIVRPlays prompts): told goodbye and
// hung up.
var endIVRLoop = reason{"ivr_loop", 480, endAnswered.level}

// maxIVRPlays bounds the prompts one call's IVR walk plays (a menu's
// prompts again and again): far beyond any real caller's walk.
const maxIVRPlays = 128

// startIVR begins the caller's walk of the line's tree (the built-in one is
// the welcome prompt, then the line's queue).
func (c *Call) startIVR() *reason {
	c.ivr = ivr.NewSession(c.ps.plan.ForLine(c.line), ivr.Env{
		Now: c.e.opts.Now, Location: c.e.opts.Location,
		Caller: c.rec.Caller, Dialled: c.rec.Dialled, Line: c.line,
	})
	c.setState(stIVR)
	return c.act(c.ivr.Start())
}

// act carries out what the IVR walk decided: each action replaces the last
// (what plays stops, the timer is disarmed), then plays its prompts and arms
// its timer, or ends the walk in a queue, a transfer or a hang-up.
func (c *Call) act(a ivr.Action) *reason {
	if a.NoChange() {
		return nil
	}
	c.stopPrompts()
	c.stopIVRTimer()
	c.rec.IVRPath = c.ivr.Path()
	c.log.Debug("ivr", "path", strings.Join(c.rec.IVRPath, ">"), "play", strings.Join(a.Play, ","), "timer", a.Timer)
	if o := a.Done; o != nil {
		return c.ivrOutcome(*o)
	}
	if a.Timer > 0 {
		c.timerGen++
		gen := c.timerGen
		c.ivrTimer = time.AfterFunc(a.Timer, func() { c.post(evIVRTimeout{gen: gen}) })
	}
	c.list = c.list[:0]
	for _, path := range a.Play {
		if p := c.ps.byPath[path]; p != nil {
			c.list = append(c.list, p)
		} else {
			c.log.Error("IVR prompt not loaded", "prompt", path)
		}
	}
	if c.ivrPlays += len(c.list); c.ivrPlays > maxIVRPlays {
		c.log.Warn("ivr: too many prompts played; the call ends", "plays", c.ivrPlays)
		return c.sayGoodbye(endIVRLoop)
	}
	if !c.playNext() {
		return c.act(c.ivr.PromptsDone())
	}
	return nil
}

// ivrOutcome: the walk is over.
func (c *Call) ivrOutcome(o ivr.Outcome) *reason {
	c.log.Info("ivr done", "outcome", o.Kind, "skill", o.Skill, "priority", o.Priority, "path", c.rec.IVRPath)
	c.rec.Category = strings.Join(c.ivr.Tags(), ",")
	defer c.journal(records.EventCallIVR)
	switch o.Kind {
	case ivr.KindQueue:
		c.rec.Skill, c.rec.Queue, c.priority = o.Skill, o.Skill, o.Priority
		c.rec.Priority = o.Priority
		return c.enqueue()
	case ivr.KindTransfer:
		c.setState(stRinging)
		c.holdMusic()
		return c.dialOut(legTransfer, o.Target, c.cfg.SIP.SeatRingTimeout)
	}
	if o.Reason == ivr.ReasonTooLong {
		return c.sayGoodbye(endIVRLoop)
	}
	return reasonPtr(endIVRHangup)
}

// sayGoodbye ends the IVR walk: the goodbye prompt plays (when the prompt
// folder has it), then the call ends with r.
func (c *Call) sayGoodbye(r reason) *reason {
	c.stopPrompts()
	c.stopIVRTimer()
	c.ivr = nil
	if c.ps.confirm == nil {
		return &r
	}
	c.closing = &r
	c.play(c.ps.confirm, false)
	return nil
}

// playNext starts the next prompt of the list; false when none is left.
func (c *Call) playNext() bool {
	if len(c.list) == 0 {
		return false
	}
	p := c.list[0]
	c.list = c.list[1:]
	c.play(p, false)
	return true
}

// onPromptDone: the current prompt ended by itself (stale ends are filtered
// by generation). The list goes on; at its end the IVR hears of it.
func (c *Call) onPromptDone() *reason {
	if c.playNext() {
		return nil
	}
	if c.closing != nil {
		return c.closing
	}
	if c.st == stSurvey {
		c.surveyPromptDone()
		return nil
	}
	if c.st == stIVR && c.ivr != nil {
		return c.act(c.ivr.PromptsDone())
	}
	if c.feature {
		return reasonPtr(endFeature)
	}
	if c.overflowed {
		return reasonPtr(endOverflow)
	}
	if c.kept && c.keptAlready {
		return reasonPtr(endCallbackDuplicate)
	}
	if c.kept {
		return reasonPtr(endCallbackKept)
	}
	if c.st == stWaiting {
		c.holdMusic()
	}
	return nil
}

// stopPrompts stops what plays to the caller; its end is then stale.
func (c *Call) stopPrompts() {
	c.playGen++
	c.list = c.list[:0]
	c.moh = false
	if c.in.m != nil {
		c.in.m.StopPlayback()
	}
}

func (c *Call) stopIVRTimer() {
	if c.ivrTimer != nil {
		c.ivrTimer.Stop()
		c.ivrTimer = nil
	}
	c.timerGen++
}
