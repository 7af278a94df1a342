package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/internal/guard"
	"github.com/hotline-cc/hotline/records"
	"github.com/hotline-cc/hotline/supervisor"
)

// webhookSink POSTs every call record to records.webhook.url, signed as
// the Standard Webhooks convention does: headers webhook-id (call_id.version:
// the idempotency key), webhook-timestamp (Unix seconds) and
// webhook-signature ("v1," + base64 of HMAC-SHA256 over
// "id.timestamp.body" keyed with the secret's bytes). Each record is first
// spooled to DATA/spool/webhook/ (one file per record, named by its event
// id), then sent in order by a goroutine of its own and deleted once the
// receiver answered 2xx; anything else is retried with back-off, so a
// receiver that is down gets every record once it is back, after a
// restart too. At least once: a receiver de-duplicates by webhook-id.
type webhookSink struct {
	cfg     config.Webhook
	dir     string
	feed    *records.Feed
	client  *http.Client
	log     *slog.Logger
	metrics *supervisor.Metrics
	wake    chan struct{}
	stop    chan struct{}
	spooled chan struct{} // closed when the spooler is done (the feed closed)
	sent    chan struct{} // closed when the sender is done
}

const webhookSinkName = "webhook"

// startWebhookSink starts the sink when records.webhook is set; its stop
// (nil when not set) spools what is left and gives the sender wait to
// deliver it (what is not delivered waits in the spool for the next start).
func startWebhookSink(cfg config.Webhook, dataDir string, feed *records.Feed, log *slog.Logger, m *supervisor.Metrics) (func(wait time.Duration), error) {
	if cfg.URL == "" {
		return nil, nil
	}
	dir := filepath.Join(dataDir, "spool", "webhook")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("webhook spool: %w", err)
	}
	s := &webhookSink{
		cfg: cfg, dir: dir, feed: feed, client: &http.Client{Timeout: cfg.Timeout}, log: log, metrics: m,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), spooled: make(chan struct{}), sent: make(chan struct{}),
	}
	m.RegisterSinkBacklog(webhookSinkName, s.backlog)
	go s.spool()
	go s.send()
	return func(wait time.Duration) {
		<-s.spooled
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-s.sent:
		case <-t.C:
		}
		close(s.stop)
		<-s.sent
	}, nil
}

// spool writes each call.ended record of the feed to the spool.
func (s *webhookSink) spool() {
	defer close(s.spooled)
	defer guard.Recover(s.log, "records", nil)
	var cursor uint64
	for {
		evs, reset, more, closed := s.feed.Since(cursor, 256)
		if reset {
			s.log.Error("webhook: records went out of the feed before they were spooled", "after_event", cursor)
		}
		for _, ev := range evs {
			cursor = ev.ID
			if ev.Type != records.EventCallEnded {
				continue
			}
			if err := s.write(ev); err != nil {
				s.log.Error("webhook: a record not spooled (the records file has it)", "call_id", ev.CallID, "error", err)
				continue
			}
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
		if len(evs) > 0 {
			continue
		}
		if closed {
			return
		}
		<-more
	}
}

// write spools one record: a temporary file renamed into place.
func (s *webhookSink) write(ev records.FeedEvent) error {
	var e struct {
		Record json.RawMessage `json:"record"`
	}
	if err := json.Unmarshal(ev.JSON, &e); err != nil {
		return err
	}
	name := filepath.Join(s.dir, fmt.Sprintf("%020d.json", ev.ID))
	if err := os.WriteFile(name+".tmp", e.Record, 0o600); err != nil {
		return err
	}
	return os.Rename(name+".tmp", name)
}

// backlog is the spool as it stands: the records waiting, their bytes,
// the age of the oldest (its file's time).
func (s *webhookSink) backlog() supervisor.SinkBacklog {
	var b supervisor.SinkBacklog
	names, _ := s.pending()
	for i, name := range names {
		fi, err := os.Stat(name)
		if err != nil {
			continue // delivered meanwhile
		}
		b.Records++
		b.SpooledBytes += fi.Size()
		if i == 0 {
			b.OldestSeconds = max(0, time.Since(fi.ModTime()).Seconds())
		}
	}
	return b
}

// send delivers the spool's records in order until stopped.
func (s *webhookSink) send() {
	defer close(s.sent)
	defer guard.Recover(s.log, "records", nil)
	backoff := 100 * time.Millisecond
	for {
		names, err := s.pending()
		if err != nil {
			s.log.Error("webhook: the spool cannot be read", "error", err)
		}
		for _, name := range names {
			for !s.post(name) {
				t := time.NewTimer(backoff)
				select {
				case <-t.C:
				case <-s.stop:
					t.Stop()
					return
				}
				backoff = min(2*backoff, 5*time.Second)
			}
			backoff = 100 * time.Millisecond
		}
		if len(names) > 0 {
			continue
		}
		select {
		case <-s.spooled: // nothing more will come
			select {
			case <-s.wake:
				continue
			default:
			}
			if names, _ := s.pending(); len(names) == 0 {
				return
			}
		case <-s.wake:
		case <-s.stop:
			return
		}
	}
}

// pending lists the spooled records, oldest first.
func (s *webhookSink) pending() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			names = append(names, filepath.Join(s.dir, e.Name()))
		}
	}
	slices.Sort(names)
	return names, err
}

// post sends one spooled record; true when it is done with (delivered, or
// not a record at all).
func (s *webhookSink) post(name string) bool {
	body, err := os.ReadFile(name)
	if err != nil {
		return true // gone meanwhile
	}
	var id struct {
		CallID  string `json:"call_id"`
		Version int    `json:"version"`
	}
	if json.Unmarshal(body, &id) != nil || id.CallID == "" {
		s.log.Error("webhook: a spool file that is not a record, set aside", "file", name)
		_ = os.Rename(name, name+".bad")
		return true
	}
	msgID := id.CallID + "." + strconv.Itoa(id.Version)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", msgID)
	req.Header.Set("webhook-timestamp", ts)
	req.Header.Set("webhook-signature", "v1,"+webhookSignature(s.cfg.Secret, msgID, ts, body))
	res, err := s.client.Do(req)
	if err == nil {
		_ = res.Body.Close()
		if res.StatusCode >= 200 && res.StatusCode < 300 {
			_ = os.Remove(name)
			s.metrics.RecordDelivered(webhookSinkName, false)
			return true
		}
		err = fmt.Errorf("the receiver answered %s", res.Status)
	}
	s.metrics.RecordDelivered(webhookSinkName, true)
	s.log.Debug("webhook: delivery failed; retrying", "call_id", id.CallID, "error", err)
	return false
}

// webhookSignature is base64(HMAC-SHA256(secret, id.timestamp.body)).
func webhookSignature(secret, id, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
