package main

import (
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// hookReceiver is a ticket system's webhook endpoint: it checks each
// delivery's signature, answers 503 while down (or for its first
// failFirst deliveries), and counts deliveries by webhook-id.
type hookReceiver struct {
	mu        sync.Mutex
	secret    string
	down      bool
	failFirst int
	got       map[string]int
	bad       []string
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id, ts, sig := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature")
	h.mu.Lock()
	defer h.mu.Unlock()
	want := "v1," + webhookSignature(h.secret, id, ts, body)
	var rec struct {
		CallID string `json:"call_id"`
	}
	if !hmac.Equal([]byte(sig), []byte(want)) || json.Unmarshal(body, &rec) != nil || !strings.HasPrefix(id, rec.CallID+".") {
		h.bad = append(h.bad, fmt.Sprintf("id %q sig %q body %.80s", id, sig, body))
	}
	if h.down || h.failFirst > 0 {
		h.failFirst--
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	h.got[id]++
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookReceiver) count(id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.got[id]
}

// TestRecordsWebhook: records reach a webhook receiver signed; its first
// two failures are retried; while it is down a call's record is spooled,
// the engine is killed with SIGKILL, and the restarted engine delivers
// that record once the receiver is back. Each record is taken once.
func TestRecordsWebhook(t *testing.T) {
	t.Parallel()
	hook := &hookReceiver{secret: "hook-secret-0123456789", failFirst: 2, got: map[string]int{}}
	srv := httptest.NewServer(hook)
	t.Cleanup(srv.Close)
	e := startEngine(t, centreOpts{Seats: 1, Extra: fmt.Sprintf("records:\n  webhook: {url: %q, secret: %q, timeout: 2s}\n", srv.URL, hook.secret)})
	first, _ := e.caller(t, "12345", "0", time.Second)
	first.Wait()
	r1 := e.waitRecords(1, 10*time.Second)[0]
	waitUntil(t, "the first record delivered", 20*time.Second, func() bool { return hook.count(r1.CallID+".1") == 1 })
	if n := metricValue(t, e, `hotline_records_delivery_failures_total{sink="webhook"}`); n != 2 {
		t.Errorf("%v failed deliveries counted, want 2", n)
	}
	hook.mu.Lock()
	hook.down = true
	hook.mu.Unlock()
	second, _ := e.caller(t, "12345", "0", time.Second)
	second.Wait()
	r2 := e.waitRecords(2, 10*time.Second)[1]
	waitUntil(t, "the second record tried", 20*time.Second, func() bool {
		return metricValue(t, e, `hotline_records_delivery_failures_total{sink="webhook"}`) >= 3
	})
	if n, b := metricValue(t, e, `hotline_records_backlog{sink="webhook"}`), metricValue(t, e, `hotline_records_spooled_bytes{sink="webhook"}`); n != 1 || b < 100 {
		t.Errorf("while the receiver is down: backlog %v records, %v bytes; want the one record", n, b)
	}
	e.kill()
	hook.mu.Lock()
	hook.down = false
	hook.mu.Unlock()
	e = launch(t, e.dir, e.cfg, "info")
	waitUntil(t, "the spooled record delivered after the restart", 20*time.Second, func() bool { return hook.count(r2.CallID+".1") == 1 })
	waitUntil(t, "an empty backlog", 10*time.Second, func() bool {
		return metricValue(t, e, `hotline_records_backlog{sink="webhook"}`) == 0 && metricValue(t, e, `hotline_records_oldest_undelivered_seconds{sink="webhook"}`) == 0
	})
	hook.mu.Lock()
	defer hook.mu.Unlock()
	if len(hook.bad) > 0 || hook.got[r1.CallID+".1"] != 1 {
		t.Errorf("deliveries %v; bad %v", hook.got, hook.bad)
	}
}
