package call

import (
	"testing"

	"github.com/hotline-cc/hotline/config"
)

// callbackYAML: 12345 goes straight to the general queue, which offers
// callbacks through the carrier's outbound address.
const callbackYAML = centreHead + `trunks:
  - {name: carrier, acl: [127.0.0.1], outbound: "sip:127.0.0.1:5070"}
lines:
  - {number: "12345", mode: main, skill: general, ivr: q}
ivr:
  q:
    start: queue
    nodes:
      queue: {type: queue}
queues:
  - {name: general, callback: true}
`

// queuedCall is a call from caller to 12345 waiting in the general queue
// of e (a fresh engine when nil). The test is the call's goroutine.
func queuedCall(t *testing.T, e *Engine, caller string) (*Call, *Engine, *recorder) {
	t.Helper()
	var rec *recorder
	if e == nil {
		e, rec = promptedEngine(t, callbackYAML, append([]string{"welcome.wav", "hold.wav"}, config.CallbackPrompts...)...)
	}
	c := startedCall(t, e, caller, "12345")
	if c.st != stWaiting {
		t.Fatalf("state %s, want waiting", c.st)
	}
	return c, e, rec
}

// TestCallbackOffer: only a caller whose number matches callback_numbers
// is offered a callback and keeps their place on the key; for anyone else
// the key does nothing. A second ask from a number with a kept place hears
// the confirmation and ends callback_duplicate.
func TestCallbackOffer(t *testing.T) {
	for _, tc := range []struct {
		caller  string
		offered bool
	}{
		{"13800138000", true},
		{"01012345678", true},
		{"00881234", false},
		{"anonymous", false},
		{"", false},
		{"+8613800138000", false},
	} {
		t.Run(tc.caller, func(t *testing.T) {
			c, _, _ := queuedCall(t, nil, tc.caller)
			if c.callbackOffered() != tc.offered {
				t.Fatalf("offered %v, want %v", !tc.offered, tc.offered)
			}
			if r := c.handle(evDTMF{digit: '1', via: "rfc4733"}); r != nil {
				t.Fatalf("ended on the key: %s", r.name)
			}
			if c.kept != tc.offered || c.inACD == tc.offered {
				t.Fatalf("kept %v, in the ACD %v after the key", c.kept, c.inACD)
			}
			if _, ok := c.e.acd.Kept(c.id); ok != tc.offered {
				t.Fatalf("the ACD keeps the place: %v", ok)
			}
			if !tc.offered {
				c.end(endAbandoned)
			}
		})
	}
	t.Run("twice from one number", func(t *testing.T) {
		first, e, rec := queuedCall(t, nil, "13800138000")
		first.handle(evDTMF{digit: '1', via: "rfc4733"})
		second, _, _ := queuedCall(t, e, "13800138000")
		if r := second.handle(evDTMF{digit: '1', via: "rfc4733"}); r != nil {
			t.Fatalf("ended on the key: %s", r.name)
		}
		if !second.kept || !second.keptAlready || second.inACD {
			t.Fatalf("second ask: kept %v, already %v, in the ACD %v", second.kept, second.keptAlready, second.inACD)
		}
		if r := second.onPromptDone(); r == nil || r.name != "callback_duplicate" {
			t.Fatalf("after the confirmation: %v", r)
		}
		second.end(endCallbackDuplicate)
		if r := rec.wait(t); r.EndReason != "callback_duplicate" || r.Queue != "general" {
			t.Fatalf("record %+v", r)
		}
		if _, ok := e.acd.Kept(first.id); !ok {
			t.Fatal("the first place was lost")
		}
	})
}

// TestOutboundTrunkPrefersUp: the caller's own trunk when it is up, else
// the first that is up, else the caller's own; none without an address.
func TestOutboundTrunkPrefersUp(t *testing.T) {
	cfg := &config.Config{Trunks: []config.Trunk{
		{Name: "in-only"}, {Name: "a", Outbound: "sip:10.0.0.1"}, {Name: "b", Outbound: "sip:10.0.0.2"},
	}}
	down := map[string]bool{}
	up := func(n string) bool { return !down[n] }
	for _, c := range []struct {
		name, want string
		down       []string
	}{
		{"b", "b", nil},
		{"in-only", "a", nil},
		{"b", "a", []string{"b"}},
		{"a", "b", []string{"a"}},
		{"a", "a", []string{"a", "b"}},
		{"in-only", "a", []string{"a", "b"}},
	} {
		clear(down)
		for _, d := range c.down {
			down[d] = true
		}
		if got, ok := outboundTrunk(cfg, c.name, up); !ok || got.Name != c.want {
			t.Errorf("caller's trunk %s, down %v: %s, want %s", c.name, c.down, got.Name, c.want)
		}
	}
	if _, ok := outboundTrunk(&config.Config{Trunks: []config.Trunk{{Name: "x"}}}, "x", nil); ok {
		t.Error("a trunk without an outbound address was chosen")
	}
}

// TestEntryURIFailsOver: an entry dialled through a trunk that is down
// goes through another trunk that is up; a SIP-URI entry never moves.
func TestEntryURIFailsOver(t *testing.T) {
	cfg := &config.Config{Trunks: []config.Trunk{{Name: "a", Outbound: "sip:10.0.0.1:5060"}, {Name: "b", Outbound: "sip:10.0.0.2:5060"}}}
	down := map[string]bool{}
	e := &Engine{opts: Options{TrunkUp: func(n string) bool { return !down[n] }}}
	viaA := config.Entry{Number: "95598", Trunk: "a", URI: "sip:95598@10.0.0.1:5060"}
	uri := config.Entry{Number: "12333", Target: "sip:12333@10.9.9.9", URI: "sip:12333@10.9.9.9"}
	if got := e.entryURI(cfg, viaA); got != viaA.URI {
		t.Errorf("trunk up: %s", got)
	}
	down["a"] = true
	if got := e.entryURI(cfg, viaA); got != "sip:95598@10.0.0.2:5060" {
		t.Errorf("trunk a down: %s, want through b", got)
	}
	if got := e.entryURI(cfg, uri); got != uri.URI {
		t.Errorf("a SIP URI entry moved: %s", got)
	}
	down["b"] = true
	if got := e.entryURI(cfg, viaA); got != viaA.URI {
		t.Errorf("all down: %s, want its own", got)
	}
}
