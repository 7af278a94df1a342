package call

import (
	"time"

	"github.com/hotline-cc/hotline/records"
)

// The satisfaction survey (好差评, issue 11). In a queue with survey: true,
// when the agent hangs up first the caller stays on the line: the seat is
// released at once (its wrap-up starts), the recording ends, and the
// caller hears survey.wav, which asks for one key, 1 to 5: the national
// five grades 非常满意, 满意, 基本满意, 不满意, 非常不满意. A key 1-5 (also
// while the question plays) is the score: survey_score and survey_at in
// the record, thanks (survey-thanks.wav), goodbye. Any other key is
// ignored; no key within surveyWait of the question's end, or the caller
// hanging up, leaves no score. The call ends "answered", hung up by the
// agent, its talk time the conversation's.

// surveyWait is how long after the question the caller has to key a grade.
const surveyWait = 10 * time.Second

// surveyAsked reports whether the agent's hang-up now starts the survey.
func (c *Call) surveyAsked() bool {
	if c.st != stBridged || c.answeredSeat == "" || c.xfer != nil || c.mon != nil || c.ps.survey == nil || c.in.m == nil {
		return false
	}
	q, ok := c.cfg.Queue(c.queue)
	return ok && q.Survey
}

// startSurvey: the agent hung up; the caller is asked for a grade.
func (c *Call) startSurvey() *reason {
	now := c.e.opts.Now()
	c.rec.HangupBy = "agent"
	c.rec.TalkMs = now.Sub(c.talkFrom).Milliseconds()
	c.talkFrom = time.Time{}
	c.stopRecording(now)
	c.in.m.RelayTo(nil)
	c.b.drop()
	c.b = nil
	c.leaveACD() // the seat wraps up now, not after the survey
	c.answeredSeat = ""
	c.setState(stSurvey)
	c.log.Info("survey: the caller is asked for a grade")
	c.play(c.ps.survey, false)
	return nil
}

// surveyPromptDone: the question has played; the caller has surveyWait.
func (c *Call) surveyPromptDone() {
	c.stopIVRTimer()
	gen := c.timerGen
	c.ivrTimer = time.AfterFunc(surveyWait, func() { c.post(evIVRTimeout{gen: gen}) })
}

// onSurveyKey: a key during the survey; 1-5 is the grade.
func (c *Call) onSurveyKey(d rune) *reason {
	if d < '1' || d > '5' || c.rec.SurveyScore != nil {
		return nil
	}
	score := int(d - '0')
	t := records.Time(c.e.opts.Now())
	c.rec.SurveyScore, c.rec.SurveyAt = &score, &t
	c.stopIVRTimer()
	c.stopPrompts()
	c.journal(records.EventSurveyResult)
	c.log.Info("survey: graded", "score", score)
	c.closing = reasonPtr(endAnswered)
	c.play(c.ps.surveyThanks, false)
	return nil
}
