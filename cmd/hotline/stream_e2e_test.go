package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-cc/hotline/records"
	"github.com/hotline-cc/hotline/store/redistest"
)

// TestRecordsRedisStream: with records.redis_stream set, a ticket system's
// consumer group (XREADGROUP) reads each call's record; while Redis is
// down a call still ends and is recorded in the file, and once Redis is
// back (a fresh one) the sink delivers it; the failures are counted.
func TestRecordsRedisStream(t *testing.T) {
	t.Parallel()
	rds := redistest.Start(t)
	client := redis.NewClient(&redis.Options{Addr: rds.Addr})
	t.Cleanup(func() { client.Close() })
	ctx := context.Background()
	if err := client.XGroupCreateMkStream(ctx, "tickets", "workers", "0").Err(); err != nil {
		t.Fatal(err)
	}
	e := startEngine(t, centreOpts{Seats: 1, Extra: fmt.Sprintf("records:\n  redis_stream: {address: %q, key: tickets, max_len: 1000}\n", rds.Addr)})
	first, _ := e.caller(t, "12345", "0", time.Second)
	first.Wait()
	rec := e.waitRecords(1, 10*time.Second)[0]
	got, err := client.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: "workers", Consumer: "ticket-1", Streams: []string{"tickets", ">"}, Count: 10, Block: 10 * time.Second,
	}).Result()
	if err != nil || len(got) != 1 || len(got[0].Messages) != 1 {
		t.Fatalf("XREADGROUP: %v %+v", err, got)
	}
	msg := got[0].Messages[0]
	var r records.Record
	if err := json.Unmarshal([]byte(fmt.Sprint(msg.Values["record"])), &r); err != nil || r.CallID != rec.CallID ||
		msg.Values["call_id"] != rec.CallID || msg.Values["end_reason"] != rec.EndReason {
		t.Fatalf("stream entry %v: %v", msg.Values, err)
	}
	if err := client.XAck(ctx, "tickets", "workers", msg.ID).Err(); err != nil {
		t.Fatal(err)
	}
	rds.Stop()
	second, _ := e.caller(t, "12345", "0", time.Second)
	second.Wait()
	recs := e.waitRecords(2, 10*time.Second)
	waitUntil(t, "a failed delivery counted", 20*time.Second, func() bool {
		return metricValue(t, e, `hotline_records_delivery_failures_total{sink="redis_stream"}`) >= 1
	})
	rds.Restart()
	waitUntil(t, "the second record delivered", 20*time.Second, func() bool {
		return metricValue(t, e, `hotline_records_delivered_total{sink="redis_stream"}`) == 2
	})
	entries, err := client.XRange(ctx, "tickets", "-", "+").Result()
	if err != nil || len(entries) != 1 || entries[0].Values["call_id"] != recs[1].CallID {
		t.Fatalf("after the outage, the stream holds %+v (%v), want the second call %s", entries, err, recs[1].CallID)
	}
}
