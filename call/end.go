package call

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/internal/guard"
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
	// endReplaced: the agent's own call to a directory entry was replaced
	// by the agent's transfer (REFER with Replaces: replaces.go); its
	// entry went on with the agent's caller.
	endReplaced = reason{"replaced", 487, slog.LevelInfo}

	// endNoSDPAnswer: our 200 carried the offer (late offer) and the ACK
	// no usable answer (RFC 3264 §5: the answerer must answer).
	endNoSDPAnswer = reason{"no_sdp_answer", 488, slog.LevelWarn}
	// endAddrFamily: the offer's media address is IPv6 and our RTP
	// address IPv4 (or the other way round): no RTP could flow.
	endAddrFamily = reason{"media_address_family", 488, slog.LevelInfo}
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
	c.finish(r)
}

// finish is end's work, after its compare-and-swap.
func (c *Call) finish(r reason) {
	c.stopIVRTimer()
	c.stopSessionTimer()
	ctx, cancel := context.WithTimeout(context.Background(), endTimeout)
	defer cancel()
	var wg sync.WaitGroup
	// The dialled party and the offers (one that answered in this instant
	// is hung up too).
	parties := append([]*leg{c.b}, c.offers...)
	if c.xfer != nil {
		parties = append(parties, c.xfer.l)
	}
	if c.mon != nil && c.mon.peer == nil {
		parties = append(parties, c.mon.l) // a monitor ends with the call
	}
	if c.watching != nil {
		c.watching.tryPost(evMonDetach{s: c.in.m}) // our session leaves its room
	}
	for _, l := range parties {
		if l == nil {
			continue
		}
		l.stopRinging()
		if l.d != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer guard.Recover(c.log, "call", nil)
				_ = l.d.Hangup(ctx)
			}()
		}
	}
	if err := c.a.Hangup(ctx, r.code); err != nil {
		c.log.Debug("hanging up the caller", "error", err)
	}
	wg.Wait()
	// The call ended now; what follows is bookkeeping (another node may
	// already offer the seat a call once the ACD hears of this end).
	endedAt := c.e.opts.Now()
	if c.mon != nil {
		c.mon.release(c.log)
	}
	c.closeMonEntry() // a monitor (or a takeover) lasts until the end
	c.closeRoom()
	c.in.drop()
	if c.b != nil {
		c.b.drop()
	}
	for _, of := range c.offers {
		of.drop()
	}
	c.offers = nil
	if c.xfer != nil {
		if r := &c.rec.Transfers[c.xfer.i]; r.Result == "" || r.Result == "answered" {
			r.Result = "ended" // the call ended during it
		}
		c.xfer.l.drop()
	}
	for _, ext := range []string{c.toSeat, c.fromSeat} {
		if ext != "" {
			c.e.seats.release(ext, c)
		}
	}
	if c.toSeat != "" {
		c.e.seatsFreed()
	}
	c.leaveACD()
	c.setState(stEnded)
	if n := c.mb.dropCount(); n > 0 || c.digitsOver > 0 {
		c.log.Warn("digits not kept", "dropped_waiting", n, "beyond_record", c.digitsOver)
	}
	c.stopRecording(endedAt)
	c.recorded = true
	c.e.writeRecord(c.log, &c.rec, r, c.start, endedAt, c.talkFrom, c.waitFrom)
}

// guarded runs f, the body of the call's goroutine: a panic in it ends only
// this call, with reason error (an error log with the stack, the legs hung
// up, the seats released, the record written), and closes the mailbox.
func (c *Call) guarded(f func()) {
	defer c.mb.close()
	defer guard.Recover(c.log, "call", c.fail)
	f()
}

// fail ends the call after a panic on its goroutine, also one in the middle
// of end: what end did is done again (each step may be repeated), unless
// the record was written. A second panic is logged and given up.
func (c *Call) fail(any) {
	defer guard.Recover(c.log, "call", nil)
	if c.recorded {
		return
	}
	c.ended.Store(true)
	c.finish(endError)
}

// spawn runs f on a helper goroutine of the call (it blocks on the network
// and reports back as an event); a panic in it ends the call with error.
func (c *Call) spawn(f func()) {
	go func() {
		defer guard.Recover(c.log, "call", func(any) { c.post(evFault{}) })
		f()
	}()
}

// writeRecord completes a call record that ended at now (talk from
// talkFrom, or the wait from waitFrom when nobody talked) and hands it to
// the records sink.
func (e *Engine) writeRecord(log *slog.Logger, rec *records.Record, r reason, start, now, talkFrom, waitFrom time.Time) {
	rec.EndedAt = records.Time(now)
	rec.EndReason = r.name
	if rec.HangupBy == "" {
		rec.HangupBy = "system"
	}
	if !talkFrom.IsZero() {
		rec.TalkMs = now.Sub(talkFrom).Milliseconds()
	} else if !waitFrom.IsZero() {
		rec.WaitMs = now.Sub(waitFrom).Milliseconds()
	}
	if e.opts.Records != nil {
		if err := e.opts.Records.Write(rec); err != nil {
			log.Error("call record not written", "error", err)
		}
	}
	if e.opts.Metrics != nil {
		e.opts.Metrics.CallEnded(r.name, now.Sub(start))
	}
	log.Log(context.Background(), r.level, "call ended", "reason", r.name,
		"hangup_by", rec.HangupBy, "talk_ms", rec.TalkMs, "wait_ms", rec.WaitMs)
}

func (c *Call) metricStart(line string) {
	if c.e.opts.Metrics != nil {
		c.e.opts.Metrics.CallStarted(line)
	}
}

// journal journals the call's progress (typ) with its record so far, when
// the records sink keeps a journal.
func (c *Call) journal(typ string) { c.e.journal(c.log, typ, &c.rec) }

// journal journals a call's (or callback's) event with its record as it
// stands.
func (e *Engine) journal(log *slog.Logger, typ string, rec *records.Record) {
	if j, ok := e.opts.Records.(Journal); ok {
		if err := j.Event(typ, rec); err != nil {
			log.Error("journal: the call's progress not journalled", "event", typ, "error", err)
		}
	}
}
