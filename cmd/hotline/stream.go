package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/internal/guard"
	"github.com/hotline-cc/hotline/records"
	"github.com/hotline-cc/hotline/supervisor"
)

// streamSink adds every call record (each call.ended event of the
// journal's feed) to a Redis Stream for a ticket system: XADD key MAXLEN ~
// max_len with the fields call_id, event_id, end_reason and record (the
// record's JSON). It runs on a goroutine of its own behind the feed, so a
// slow or absent Redis never slows a call: a failed XADD is retried with
// back-off, and the records wait in the feed meanwhile (the last 8,192
// events; an outage longer than that loses the oldest to the stream, and
// says so). The records files have every record regardless.
type streamSink struct {
	c       *redis.Client
	cfg     config.RecordStream
	feed    *records.Feed
	log     *slog.Logger
	metrics *supervisor.Metrics
	stop    chan struct{}
	done    chan struct{}
	// waiting: records taken from the feed (256 events at a time) and not
	// yet in Redis; oldest: the journal time (Unix ns) of the first of
	// them, 0 when none
	waiting, oldest atomic.Int64
}

const streamSinkName = "redis_stream"

// startStreamSink starts the sink when records.redis_stream is set; its
// stop (nil when not set) delivers what is left, giving up after wait.
func startStreamSink(cfg config.RecordStream, feed *records.Feed, log *slog.Logger, m *supervisor.Metrics) func(wait time.Duration) {
	if cfg.Address == "" {
		return nil
	}
	s := &streamSink{
		c:   redis.NewClient(&redis.Options{Addr: cfg.Address, Password: cfg.Password, DB: cfg.DB}),
		cfg: cfg, feed: feed, log: log, metrics: m, stop: make(chan struct{}), done: make(chan struct{}),
	}
	m.RegisterSinkBacklog(streamSinkName, s.backlog)
	go s.run()
	return func(wait time.Duration) {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-s.done: // the feed closed and everything went out
		case <-t.C:
			close(s.stop)
			<-s.done
		}
		_ = s.c.Close()
	}
}

func (s *streamSink) run() {
	defer close(s.done)
	defer guard.Recover(s.log, "records", nil)
	var cursor uint64 // this run's events from the first: the lost records of the start too
	for {
		evs, reset, more, closed := s.feed.Since(cursor, 256)
		if reset {
			s.log.Error("redis stream: records went out of the feed before Redis took them", "after_event", cursor)
		}
		for _, ev := range evs {
			if ev.Type == records.EventCallEnded {
				s.waiting.Add(1)
			}
		}
		for _, ev := range evs {
			if ev.Type == records.EventCallEnded && !s.deliver(ev) {
				return // stopped
			}
			cursor = ev.ID
		}
		if len(evs) > 0 {
			continue
		}
		if closed {
			return
		}
		select {
		case <-more:
		case <-s.stop:
			return
		}
	}
}

// backlog is the records taken from the feed and not yet in Redis.
func (s *streamSink) backlog() supervisor.SinkBacklog {
	b := supervisor.SinkBacklog{Records: int(max(0, s.waiting.Load()))}
	if t := s.oldest.Load(); t != 0 {
		b.OldestSeconds = max(0, time.Since(time.Unix(0, t)).Seconds())
	}
	return b
}

// deliver XADDs one record until Redis takes it; false when stopped first.
func (s *streamSink) deliver(ev records.FeedEvent) bool {
	var e struct {
		Record json.RawMessage `json:"record"`
	}
	_ = json.Unmarshal(ev.JSON, &e)
	var end struct {
		EndReason string `json:"end_reason"`
	}
	_ = json.Unmarshal(e.Record, &end)
	var at struct {
		Time time.Time `json:"time"`
	}
	if json.Unmarshal(ev.JSON, &at) == nil {
		s.oldest.CompareAndSwap(0, at.Time.UnixNano())
	}
	args := &redis.XAddArgs{
		Stream: s.cfg.Key, MaxLen: int64(s.cfg.MaxLen), Approx: true,
		Values: []any{"call_id", ev.CallID, "event_id", strconv.FormatUint(ev.ID, 10), "end_reason", end.EndReason, "record", string(e.Record)},
	}
	backoff := 100 * time.Millisecond
	for failures := 0; ; failures++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := s.c.XAdd(ctx, args).Err()
		cancel()
		if err == nil {
			s.waiting.Add(-1)
			s.oldest.Store(0)
			s.metrics.RecordDelivered(streamSinkName, false)
			if failures > 0 {
				s.log.Info("redis stream: delivering again", "failed_attempts", failures)
			}
			return true
		}
		s.metrics.RecordDelivered(streamSinkName, true)
		if failures == 0 {
			s.log.Warn("redis stream: XADD failed; retrying", "key", s.cfg.Key, "error", err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-s.stop:
			t.Stop()
			return false
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}
