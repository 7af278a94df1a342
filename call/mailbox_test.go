package call

import (
	"testing"

	"github.com/hotline-cc/hotline/sip"
)

// TestFloodKeepsTerminalEvents: a peer floods the call with digits (RFC
// 4733 from the RTP reader, INFO from SIP) while its goroutine is busy; the
// events that end the call, posted after the flood through the same paths
// (the media layer's RTP timeout, the caller's BYE), still arrive and end
// it, and the digits beyond the bound are dropped and counted.
func TestFloodKeepsTerminalEvents(t *testing.T) {
	const flood = 5000
	for _, tc := range []struct {
		name   string
		last   func(c *Call) bool
		reason string
	}{
		{"rtp timeout from the media layer", func(c *Call) bool { return c.tryPost(evRTPTimeout{}) }, "rtp_timeout"},
		{"prompt end then bye", func(c *Call) bool {
			return c.tryPost(evPromptDone{gen: -1}) && c.post(evLeg{ev: sip.EventBye{}})
		}, "abandoned"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, rec := testEngine(t, nil)
			leg := &fakeLeg{caller: "13800000001", dialled: "12345"}
			c := newCall(e, leg)
			c.setState(stAnswering)
			onDTMF, _ := c.mediaCallbacks(false)
			for i := range flood {
				if i%2 == 0 {
					onDTMF('1')
				} else {
					c.post(evLeg{ev: sip.EventDTMF{Digit: '2'}})
				}
			}
			if !tc.last(c) {
				t.Fatal("terminal event refused after the flood")
			}
			done := make(chan struct{})
			go func() { c.loop(); c.mb.close(); close(done) }()
			r := rec.wait(t)
			<-done
			if r.EndReason != tc.reason || leg.code() == 0 {
				t.Errorf("end_reason %q (caller hung up with %d), want %s", r.EndReason, leg.code(), tc.reason)
			}
			if got := c.mb.dropCount(); got != flood-maxDroppable {
				t.Errorf("%d digits dropped, want %d", got, flood-maxDroppable)
			}
			if len(r.DTMF) > maxDroppable {
				t.Errorf("%d digits in the record, want at most %d", len(r.DTMF), maxDroppable)
			}
		})
	}
}
