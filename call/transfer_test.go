package call

import (
	"errors"
	"testing"

	"github.com/hotline-cc/hotline/media"
	"github.com/hotline-cc/hotline/sip"
)

// transferYAML: one directory entry, social-security (12333), consult by
// default.
const transferYAML = centreHead + `lines:
  - {number: "12345", mode: main, skill: general}
directory:
  - {name: social-security, number: "12333", kind: department, target: "sip:12333@127.0.0.1:5092", key: "*51"}
  - {name: market, number: "12315", kind: department, target: "sip:12315@127.0.0.1:5092", fallback: ticket}
`

// bridgedCall is a caller bridged to seat 1001 through fakes; the test is
// the call's goroutine and answers its dials through the returned dialer.
func bridgedCall(t *testing.T) (*Call, *fakeDialer) {
	t.Helper()
	e, _ := promptedEngine(t, transferYAML, "welcome.wav", "hold.wav")
	dialer := newFakeDialer()
	e.Start(dialer)
	c := newCall(e, &fakeLeg{caller: "13800138000", dialled: "12345"})
	session := func() *media.Session {
		m, err := e.opts.Media.NewSession(media.SessionConfig{})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	c.in.m, c.in.sdp = session(), newLegSDP()
	c.in.sdp.codec = sip.Format{Name: sip.CodecPCMU}
	c.b = &leg{kind: legSeat, ext: "1001", m: session(), d: newFakeDialog("seat"), sdp: newLegSDP()}
	c.seat, c.answeredSeat = "1001", "1001"
	media.Bridge(c.in.m, c.b.m)
	c.setState(stBridged)
	t.Cleanup(func() { c.end(endAnswered) })
	return c, dialer
}

// op runs one transfer op on the call and returns its answer.
func op(c *Call, name, target, mode string) error {
	req := evXferReq{op: name, target: target, mode: mode, reply: make(chan error, 1)}
	c.handle(req)
	return <-req.reply
}

// xferSetup brings a bridged call to one of the transfer states the table
// starts from.
var xferSetups = map[string]func(t *testing.T, c *Call, d *fakeDialer){
	"bridged": func(*testing.T, *Call, *fakeDialer) {},
	"consult ringing": func(t *testing.T, c *Call, d *fakeDialer) {
		mustOp(t, c, "start", "12333", ModeConsult)
		d.next(t)
	},
	"consult answered": func(t *testing.T, c *Call, d *fakeDialer) {
		mustOp(t, c, "start", "12333", ModeConsult)
		d.next(t).answerWith(answerSDP())
		c.handle(nextEvent(t, c))
	},
	"three-way": func(t *testing.T, c *Call, d *fakeDialer) {
		mustOp(t, c, "start", "social-security", ModeConference)
		d.next(t).answerWith(answerSDP())
		c.handle(nextEvent(t, c))
	},
	"blind ringing": func(t *testing.T, c *Call, d *fakeDialer) {
		mustOp(t, c, "start", "12333", ModeBlind)
		d.next(t)
	},
}

func mustOp(t *testing.T, c *Call, name, target, mode string) {
	t.Helper()
	if err := op(c, name, target, mode); err != nil {
		t.Fatalf("%s %s %s: %v", name, target, mode, err)
	}
}

// TestTransferOps: every op in every state of the transfer machine, its
// answer (nil, or which refusal) and the call's state after it.
func TestTransferOps(t *testing.T) {
	refused, wrongState := ErrTransferRefused, ErrTransferState
	for _, tc := range []struct {
		from, op, target, mode string
		err                    error
		state                  state
	}{
		{"bridged", "start", "12333", "", nil, stConsult},
		{"bridged", "start", "*none", "", refused, stBridged},
		{"bridged", "start", "1001", "", refused, stBridged},
		{"bridged", "start", "12333", "sideways", wrongState, stBridged},
		{"bridged", "start", "12333", ModeBlind, nil, stTransferring},
		{"bridged", "start", "12333", ModeConference, nil, stConsult},
		{"bridged", OpComplete, "", "", wrongState, stBridged},
		{"bridged", OpCancel, "", "", wrongState, stBridged},
		{"bridged", OpThreeway, "", "", wrongState, stBridged},
		{"bridged", OpSwap, "", "", wrongState, stBridged},
		{"bridged", OpLeave, "", "", wrongState, stBridged},
		{"bridged", "dance", "", "", wrongState, stBridged},

		{"consult ringing", "start", "12333", "", wrongState, stConsult},
		{"consult ringing", OpComplete, "", "", wrongState, stConsult},
		{"consult ringing", OpCancel, "", "", nil, stBridged},
		{"consult ringing", OpThreeway, "", "", wrongState, stConsult},
		{"consult ringing", OpSwap, "", "", wrongState, stConsult},
		{"consult ringing", OpLeave, "", "", wrongState, stConsult},

		{"consult answered", "start", "12333", "", wrongState, stConsult},
		{"consult answered", OpComplete, "", "", nil, stBridged},
		{"consult answered", OpCancel, "", "", nil, stBridged},
		{"consult answered", OpThreeway, "", "", nil, stConference},
		{"consult answered", OpSwap, "", "", nil, stConsult},
		{"consult answered", OpLeave, "", "", wrongState, stConsult},

		{"three-way", "start", "12333", "", wrongState, stConference},
		{"three-way", OpComplete, "", "", wrongState, stConference},
		{"three-way", OpCancel, "", "", nil, stBridged},
		{"three-way", OpThreeway, "", "", wrongState, stConference},
		{"three-way", OpSwap, "", "", wrongState, stConference},
		{"three-way", OpLeave, "", "", nil, stBridged},

		{"blind ringing", "start", "12333", "", wrongState, stTransferring},
		{"blind ringing", OpComplete, "", "", wrongState, stTransferring},
		{"blind ringing", OpCancel, "", "", wrongState, stTransferring},
		{"blind ringing", OpThreeway, "", "", wrongState, stTransferring},
		{"blind ringing", OpSwap, "", "", wrongState, stTransferring},
		{"blind ringing", OpLeave, "", "", wrongState, stTransferring},
	} {
		t.Run(tc.from+"/"+tc.op+tc.target+tc.mode, func(t *testing.T) {
			c, d := bridgedCall(t)
			xferSetups[tc.from](t, c, d)
			err := op(c, tc.op, tc.target, tc.mode)
			if (tc.err == nil) != (err == nil) || (tc.err != nil && !errors.Is(err, tc.err)) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if c.st != tc.state {
				t.Fatalf("state %s, want %s", c.st, tc.state)
			}
		})
	}
}

// TestTransferOutcomes: what the entry does decides where the caller goes:
// a consult that rings out or is refused busy brings the caller back to
// the agent, a blind one that rings out puts the caller back in the queue;
// an entry hanging up during a three-way call leaves caller and agent
// together; the record has every attempt's result.
func TestTransferOutcomes(t *testing.T) {
	t.Run("consult busy", func(t *testing.T) {
		c, d := bridgedCall(t)
		mustOp(t, c, "start", "12333", ModeConsult)
		d.next(t).refuse(486, "Busy Here")
		c.handle(nextEvent(t, c))
		if c.st != stBridged || c.xfer != nil || c.rec.Transfers[0].Result != "busy" {
			t.Fatalf("state %s, transfers %+v", c.st, c.rec.Transfers)
		}
	})
	t.Run("consult no answer, fallback ticket", func(t *testing.T) {
		c, d := bridgedCall(t)
		mustOp(t, c, "start", "12315", ModeConsult)
		d.next(t).refuse(480, "Temporarily Unavailable")
		c.handle(nextEvent(t, c))
		if c.st != stBridged || c.rec.Dispatch != "ticket" || c.rec.Transfers[0].Fallback != "ticket" {
			t.Fatalf("state %s, dispatch %q, transfers %+v", c.st, c.rec.Dispatch, c.rec.Transfers)
		}
	})
	t.Run("three-way, the entry hangs up", func(t *testing.T) {
		c, d := bridgedCall(t)
		mustOp(t, c, "start", "12333", ModeConference)
		x := d.next(t)
		x.answerWith(answerSDP())
		c.handle(nextEvent(t, c))
		if c.room == nil || c.room.Len() != 3 {
			t.Fatalf("no three-way room: %+v", c.room)
		}
		x.emit(sip.EventBye{})
		c.handle(nextEvent(t, c))
		if c.st != stBridged || c.room != nil || c.b.kind != legSeat || c.rec.Transfers[0].Result != "entry_hung_up" {
			t.Fatalf("state %s, room %v, transfers %+v", c.st, c.room, c.rec.Transfers)
		}
	})
	t.Run("consult, the agent hangs up after the answer", func(t *testing.T) {
		c, d := bridgedCall(t)
		mustOp(t, c, "start", "12333", ModeConsult)
		d.next(t).answerWith(answerSDP())
		c.handle(nextEvent(t, c))
		c.handle(evLeg{b: true, ev: sip.EventBye{}})
		if c.st != stBridged || c.b.kind != legDepartment || c.answeredSeat != "" || c.rec.Transfers[0].Result != "completed" {
			t.Fatalf("state %s, leg %v, transfers %+v", c.st, c.b.kind, c.rec.Transfers)
		}
	})
}

// keys sends the agent's digits to the call.
func keys(c *Call, digits string) {
	for _, d := range digits {
		c.handle(evDTMF{digit: d, via: "rfc4733", seat: true})
	}
}

// TestSeatKeys: the agent's keys start and drive transfers: *2<number>#
// consults, ##<number># is blind, a one-key code uses its entry's mode,
// *1..*4 act on the transfer in progress; anything else does nothing, and
// a number outside the directory is refused.
func TestSeatKeys(t *testing.T) {
	for _, tc := range []struct {
		name, digits string
		state        state
		dialled      bool
	}{
		{"consult", "*212333#", stConsult, true},
		{"blind", "##12333#", stTransferring, true},
		{"one key", "*51", stConsult, true},
		{"not in the directory", "*295598#", stBridged, false},
		{"noise", "*9*8#123", stBridged, false},
		{"a stray *1 with no transfer", "*1", stBridged, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, d := bridgedCall(t)
			keys(c, tc.digits)
			if c.st != tc.state || (c.xfer != nil) != tc.dialled {
				t.Fatalf("after %q: state %s, transfer %v", tc.digits, c.st, c.xfer != nil)
			}
			if tc.dialled {
				d.next(t)
			}
		})
	}
	t.Run("consult, answer, *3 three-way, *1 back", func(t *testing.T) {
		c, d := bridgedCall(t)
		keys(c, "*212333#")
		d.next(t).answerWith(answerSDP())
		c.handle(nextEvent(t, c))
		keys(c, "*4")
		if !c.xfer.swapped {
			t.Fatal("*4 did not swap")
		}
		keys(c, "*4*3")
		if c.st != stConference {
			t.Fatalf("*3: state %s", c.st)
		}
		keys(c, "*1")
		if c.st != stBridged || c.xfer != nil {
			t.Fatalf("*1: state %s", c.st)
		}
	})
}

func TestParseReplaces(t *testing.T) {
	for _, tc := range []struct {
		in, id, to, from string
		ok               bool
	}{
		{"abc@h;to-tag=T;from-tag=F", "abc@h", "T", "F", true},
		{"d2///x; from-tag=F ;early-only;To-Tag=T", "d2///x", "T", "F", true},
		{"abc@h;to-tag=T", "abc@h", "T", "", false}, // no from-tag
		{";from-tag=F", "", "", "F", false},
		{"", "", "", "", false},
	} {
		id, to, from, ok := parseReplaces(tc.in)
		if id != tc.id || to != tc.to || from != tc.from || ok != tc.ok {
			t.Errorf("parseReplaces(%q) = %q %q %q %v", tc.in, id, to, from, ok)
		}
	}
}
