package call

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/sip"
)

// outboundYAML: a trunk dialling out, one seat (never registered here),
// calls placed only in office hours.
const outboundYAML = centreHead + `trunks:
  - {name: carrier, acl: [127.0.0.1], outbound: "sip:127.0.0.1:5070"}
lines:
  - {number: "12345", mode: main, skill: general}
seats:
  - {extension: "1001", password: demo-1001, skills: [general]}
hours:
  office:
    mon-fri: ["09:00-17:00"]
calling_hours: office
`

// TestOutboundRules: what POST /api/v1/outbound refuses before a seat is
// taken (purpose, number rules, calling hours) and what the ACD refuses
// (unknown names, no seat ready); a draining engine and a centre without
// an outbound trunk place no call.
func TestOutboundRules(t *testing.T) {
	monday := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	follow := func(number, agent, queue string) OutboundRequest {
		return OutboundRequest{Number: number, Agent: agent, Queue: queue, Purpose: PurposeFollowUp}
	}
	for _, tc := range []struct {
		name string
		yaml string
		at   time.Time
		req  OutboundRequest
		want error
	}{
		{"no purpose", outboundYAML, monday, OutboundRequest{Number: "13800138000", Agent: "1001"}, ErrOutboundInvalid},
		{"unknown purpose", outboundYAML, monday, OutboundRequest{Number: "13800138000", Agent: "1001", Purpose: "survey"}, ErrOutboundInvalid},
		{"no number", outboundYAML, monday, follow("", "1001", ""), ErrOutboundInvalid},
		{"no seat named", outboundYAML, monday, follow("13800138000", "", ""), ErrOutboundInvalid},
		{"international number", outboundYAML, monday, follow("0012345678", "1001", ""), ErrOutboundRefused},
		{"service number", outboundYAML, monday, follow("95598", "1001", ""), ErrOutboundRefused},
		{"anonymous", outboundYAML, monday, follow("anonymous", "", "general"), ErrOutboundRefused},
		{"before office hours", outboundYAML, monday.Add(-2 * time.Hour), follow("13800138000", "1001", ""), ErrOutboundRefused},
		{"at closing time", outboundYAML, monday.Add(7 * time.Hour), follow("13800138000", "1001", ""), ErrOutboundRefused},
		{"on a Saturday", outboundYAML, monday.AddDate(0, 0, 5), follow("01012345678", "1001", ""), ErrOutboundRefused},
		{"unknown agent", outboundYAML, monday, follow("13800138000", "1999", ""), ErrOutboundUnknown},
		{"unknown queue", outboundYAML, monday, follow("13800138000", "", "tax"), ErrOutboundUnknown},
		{"agent logged out", outboundYAML, monday, follow("13800138000", "1001", ""), ErrOutboundNoSeat},
		{"no seat ready in the queue", outboundYAML, monday, follow("01012345678", "", "general"), ErrOutboundNoSeat},
		{"no calling hours: any time", outboundYAML[:len(outboundYAML)-len("calling_hours: office\n")], monday.AddDate(0, 0, 5),
			follow("13800138000", "1001", ""), ErrOutboundNoSeat},
		{"no outbound trunk", centreHead + "lines:\n  - {number: \"12345\", mode: main, skill: general}\n", monday,
			follow("13800138000", "", "general"), ErrOutboundNoTrunk},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := promptedEngine(t, tc.yaml, "welcome.wav", "hold.wav")
			e.opts.Now = func() time.Time { return tc.at }
			if err := e.configureACD(e.config()); err != nil {
				t.Fatal(err)
			}
			if _, err := e.Outbound(tc.req); !errors.Is(err, tc.want) {
				t.Fatalf("%v, want %v", err, tc.want)
			}
			if n := e.Active(); n != 0 {
				t.Fatalf("%d calls left in the table", n)
			}
		})
	}
	t.Run("draining", func(t *testing.T) {
		e, _ := promptedEngine(t, outboundYAML, "welcome.wav", "hold.wav")
		e.draining.Store(true)
		if _, err := e.Outbound(follow("13800138000", "1001", "")); !errors.Is(err, ErrDraining) {
			t.Fatalf("%v, want ErrDraining", err)
		}
	})
}

// TestCitizenMissed: how a citizen who did not answer ends the call.
func TestCitizenMissed(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{errNoAnswer, "no_answer"},
		{errUnreachable, "no_answer"},
		{&sip.RejectError{Code: 486, Reason: "Busy Here"}, "busy"},
		{&sip.RejectError{Code: 603, Reason: "Decline"}, "busy"},
		{&sip.RejectError{Code: 404, Reason: "Not Found"}, "failed"},
		{errDialPanic, "failed"},
		{errors.New("transport"), "failed"},
	} {
		if got := citizenMissed(tc.err).name; got != tc.want {
			t.Errorf("%v: %s, want %s", tc.err, got, tc.want)
		}
	}
}

// outboundEngine is a test engine on outboundYAML (no calling hours) with
// seat 1001 registered and ready and a fake dialer; the whisper is 20 ms
// (callback-whisper.wav: the prompt folder has no outbound-*.wav).
func outboundEngine(t *testing.T) (*Engine, *fakeDialer, *recorder) {
	t.Helper()
	yaml := outboundYAML[:len(outboundYAML)-len("calling_hours: office\n")] + "queues:\n  - {name: general, wrap_up: 1h}\n"
	e, rec := promptedEngine(t, yaml, "welcome.wav", "hold.wav", "callback-whisper.wav")
	if err := e.configureACD(e.config()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := e.acd.Register(ctx, "1001", "sip:1001@127.0.0.1:5070", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.acd.Command(ctx, "1001", acd.Command{Kind: acd.CmdLogin}); err != nil {
		t.Fatal(err)
	}
	dialer := newFakeDialer()
	e.Start(dialer)
	return e, dialer, rec
}

// seatState is seat 1001's ACD state.
func seatState(t *testing.T, e *Engine) acd.State {
	t.Helper()
	agents, err := e.acd.Agents(context.Background())
	if err != nil || len(agents) != 1 {
		t.Fatalf("agents %+v, %v", agents, err)
	}
	return agents[0].State
}

// TestOutboundEnds: how an outbound call that does not reach the citizen
// ends: its record's end_reason and the seat's state after it (released
// when it never answered; wrap-up when it did). The seat is always dialled
// before the citizen.
func TestOutboundEnds(t *testing.T) {
	for _, tc := range []struct {
		name   string
		run    func(t *testing.T, seat *fakeDialog, dialer *fakeDialer)
		reason string
		by     string
		after  acd.State
	}{
		{"the seat refuses", func(t *testing.T, seat *fakeDialog, _ *fakeDialer) {
			seat.refuse(486, "Busy Here")
		}, "seat_no_answer", "system", acd.Ready},
		{"the citizen is busy", func(t *testing.T, seat *fakeDialog, dialer *fakeDialer) {
			seat.answerWith(answerSDP())
			dialer.next(t).refuse(486, "Busy Here")
		}, "busy", "system", acd.WrapUp},
		{"the citizen does not answer", func(t *testing.T, seat *fakeDialog, dialer *fakeDialer) {
			seat.answerWith(answerSDP())
			dialer.next(t).outcome <- errNoAnswer
		}, "no_answer", "system", acd.WrapUp},
		{"the agent hangs up while the citizen rings", func(t *testing.T, seat *fakeDialog, dialer *fakeDialer) {
			seat.answerWith(answerSDP())
			citizen := dialer.next(t)
			citizen.ring(180)
			seat.emit(sip.EventBye{})
		}, "cancelled", "agent", acd.WrapUp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, dialer, rec := outboundEngine(t)
			id, err := e.Outbound(OutboundRequest{Number: "13800138000", Agent: "1001", Purpose: PurposeFollowUp})
			if err != nil {
				t.Fatal(err)
			}
			seat := dialer.next(t)
			if seat.target != "sip:1001@127.0.0.1:5070" {
				t.Fatalf("dialled %s first, not the seat", seat.target)
			}
			tc.run(t, seat, dialer)
			r := rec.wait(t)
			if r.CallID != id || r.EndReason != tc.reason || r.HangupBy != tc.by || r.AnsweredAt != nil ||
				r.LineMode != "outbound" || r.Purpose != PurposeFollowUp || r.Agent != "1001" || r.Queue != "general" {
				t.Fatalf("record %+v", r)
			}
			if s := seatState(t, e); s != tc.after {
				t.Fatalf("seat %s after the call, want %s", s, tc.after)
			}
		})
	}
}
