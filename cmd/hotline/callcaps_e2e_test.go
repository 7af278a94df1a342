package main

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// sensitiveIVR asks every caller for a 6-digit ID number (a collect node
// marked sensitive), then queues them.
const sensitiveIVR = `default_ivr: front
ivr:
  front:
    start: ask
    nodes:
      ask: {type: collect, prompts: [please-hold.wav], var: id, min: 6, max: 6, sensitive: true, next: queue, default: queue}
      queue: {type: queue}
`

// TestSensitiveAndBoundedDigits: a caller types an ID number (RFC 4733) into
// a sensitive collect node, then keeps pressing 7 while waiting in the
// queue. The record masks the ID number (x per digit) and keeps 64 digits
// in all; no log line, even at debug level, carries the ID number's digits,
// and none logs a digit at info; the call still ends normally.
func TestSensitiveAndBoundedDigits(t *testing.T) {
	t.Parallel()
	const (
		id    = "110105"
		later = 66
	)
	e := startEngine(t, centreOpts{Seats: 1, RTPTimeout: "60s", Extra: sensitiveIVR})
	p, peer := e.caller(t, "12345", "0", 40*time.Second)
	if err := peer.WaitPackets(5, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, d := range id {
		peer.SendDTMF(netip.AddrPort{}, 101, d)
	}
	waitEvents(t, e, "call.ivr", 1, 20*time.Second)
	for range later {
		peer.SendDTMF(netip.AddrPort{}, 101, '7')
	}
	if err := peer.WaitSent(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := e.log.waitCount(`msg=dtmf `, len(id)+later, 10*time.Second); err != nil {
		t.Fatalf("digits not all seen: %v", err)
	}
	if res := p.Wait(); res.ExitCode != 0 {
		t.Fatalf("caller: %s", res)
	}
	r := e.waitRecords(1, 10*time.Second)[0]
	want := strings.Repeat("x", len(id)) + strings.Repeat("7", 64-len(id))
	if got := strings.Join(r.DTMF, ""); got != want || r.EndReason != "abandoned" {
		t.Errorf("record: dtmf %q end_reason %q, want %q, abandoned", got, r.EndReason, want)
	}
	for _, l := range strings.Split(e.log.text(), "\n") {
		if strings.Contains(l, id) || (strings.Contains(l, "msg=dtmf") && !strings.Contains(l, "digit=x") && !strings.Contains(l, "digit=7")) {
			t.Errorf("the ID number reached the log: %s", l)
		}
		if strings.Contains(l, "level=INFO msg=dtmf") {
			t.Errorf("a digit logged at info: %s", l)
		}
	}
	if n := e.log.count(`msg="digits not kept" .*beyond_record=8`); n != 1 {
		t.Errorf("the digits beyond the record were not counted at the end:\n%s", e.log.tail(10))
	}
}
