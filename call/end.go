package call

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/records"
)

// reason is why a call ended. It decides the SIP answer to a caller not yet
// answered, the metric label, the log level and the record's end_reason.
type reason struct {
	name  string
	code  int // final response for an unanswered caller
	level slog.Level
}

var (
	endAnswered    = reason{"answered", 200, slog.LevelInfo}
	endAbandoned   = reason{"abandoned", 487, slog.LevelInfo}
	endNoRoute     = reason{"no_route", 404, slog.LevelInfo}
	endForbidden   = reason{"forbidden", 403, slog.LevelWarn}
	endNoCodec     = reason{"no_codec", 488, slog.LevelInfo}
	endNoMedia     = reason{"no_media_port", 503, slog.LevelError}
	endBusy        = reason{"busy", 486, slog.LevelInfo}
	endUnavailable = reason{"unavailable", 480, slog.LevelInfo}
	endRTPTimeout  = reason{"rtp_timeout", 408, slog.LevelWarn}
	endAckLost     = reason{"ack_timeout", 408, slog.LevelWarn}
	endShutdown    = reason{"shutdown", 503, slog.LevelInfo}
	endError       = reason{"error", 500, slog.LevelError}
	endFeature     = reason{"feature_code", 200, slog.LevelInfo}
)

// seatRejected: a seat-to-seat call whose callee answered with a final
// non-2xx; the caller gets the same code.
func seatRejected(code int) reason {
	switch code {
	case 486, 600:
		return endBusy
	case 603:
		return reason{"declined", 603, slog.LevelInfo}
	}
	return reason{fmt.Sprintf("rejected_%d", code), code, slog.LevelInfo}
}

// endTimeout bounds the SIP work of ending a call (BYEs, a final response).
const endTimeout = 5 * time.Second

// end is the one way out of a call. It runs once, on the call's goroutine:
// stops ringing, hangs up both legs (BYE before media is torn down), closes
// the media sessions, frees the seats, writes the record and the metrics.
func (c *Call) end(r reason) {
	if !c.ended.CompareAndSwap(false, true) {
		return
	}
	c.stopRinging()
	c.stopIVRTimer()
	ctx, cancel := context.WithTimeout(context.Background(), endTimeout)
	defer cancel()
	var wg sync.WaitGroup
	if b := c.b; b != nil {
		wg.Add(1)
		go func() { defer wg.Done(); _ = b.Hangup(ctx) }()
	}
	if err := c.a.Hangup(ctx, r.code); err != nil {
		c.log.Debug("hanging up the caller", "error", err)
	}
	wg.Wait()
	if c.am != nil {
		_ = c.am.Close()
	}
	if c.bm != nil {
		_ = c.bm.Close()
	}
	for _, ext := range []string{c.toSeat, c.fromSeat} {
		if ext != "" {
			c.e.seats.release(ext, c)
		}
	}
	c.leaveACD()
	c.setState(stEnded)
	c.writeRecord(r)
}

// writeRecord completes the call record and hands it to the records sink.
func (c *Call) writeRecord(r reason) {
	now := c.e.opts.Now()
	c.rec.EndedAt = records.Time(now)
	c.rec.EndReason = r.name
	if c.rec.HangupBy == "" {
		c.rec.HangupBy = "system"
	}
	if !c.talkFrom.IsZero() {
		c.rec.TalkMs = now.Sub(c.talkFrom).Milliseconds()
	} else if !c.waitFrom.IsZero() {
		c.rec.WaitMs = now.Sub(c.waitFrom).Milliseconds()
	}
	if c.e.opts.Records != nil {
		if err := c.e.opts.Records.Write(&c.rec); err != nil {
			c.log.Error("call record not written", "error", err)
		}
	}
	if c.e.opts.Metrics != nil {
		c.e.opts.Metrics.CallEnded(r.name, now.Sub(c.start))
	}
	c.log.Log(context.Background(), r.level, "call ended", "reason", r.name,
		"hangup_by", c.rec.HangupBy, "talk_ms", c.rec.TalkMs, "wait_ms", c.rec.WaitMs)
}

func (c *Call) metricStart(line string) {
	if c.e.opts.Metrics != nil {
		c.e.opts.Metrics.CallStarted(line)
	}
}
