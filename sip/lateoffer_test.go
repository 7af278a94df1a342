package sip

import (
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

func ackWith(cseq uint32, body string) *sipmsg.Request {
	req := sipmsg.NewRequest(sipmsg.ACK, sipmsg.Uri{User: "12345", Host: "127.0.0.1"})
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: cseq, MethodName: sipmsg.ACK})
	req.SetBody([]byte(body))
	return req
}

// TestLateOfferAck: the ACK of the 200 that carried our offer to a
// late-offer re-INVITE (and only that one, by CSeq) brings the answer to
// the owner as an EventReinvite with FromAck; an ACK without a usable
// answer, or an owner that cannot use it, is EventAckLost{NoAnswer}.
func TestLateOfferAck(t *testing.T) {
	answer := sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0", "m=audio 5000 RTP/AVP 0")
	for _, tc := range []struct {
		name, body string
		refuse     bool // the owner replies 488 to the answer
		want       string
	}{
		{"answer", answer, false, "answer"},
		{"no body", "", false, "lost"},
		{"unusable answer", answer, true, "lost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e events
			got := make(chan Event, 4)
			e.SetEvents(func(ev Event) { got <- ev })
			a := e.expectAck(2)
			done := make(chan struct{})
			go func() { defer close(done); awaitAnswer(&e, a) }()
			if e.takeLateAck(ackWith(1, answer)) {
				t.Fatal("the ACK of another CSeq was taken")
			}
			if !e.takeLateAck(ackWith(2, tc.body)) || e.takeLateAck(ackWith(2, tc.body)) {
				t.Fatal("the ACK was not taken exactly once")
			}
			<-done
			ev := <-got
			if re, ok := ev.(EventReinvite); ok && re.FromAck {
				if re.Offer.Addr != ap("127.0.0.1:5000") {
					t.Fatalf("answer %+v", re.Offer)
				}
				if !tc.refuse {
					re.Reply(nil, 200)
					ev = EventReinvite{}
				} else {
					re.Reply(nil, 488)
					select {
					case ev = <-got:
					case <-time.After(5 * time.Second):
						t.Fatal("no event after the owner refused the answer")
					}
				}
			}
			lost, isLost := ev.(EventAckLost)
			if (tc.want == "lost") != (isLost && lost.NoAnswer) {
				t.Fatalf("event %#v, want %s", ev, tc.want)
			}
		})
	}
}
