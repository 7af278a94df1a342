package sip

import (
	"log/slog"
	"strings"
	"testing"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/emiago/sipgo/siptest"

	"github.com/hotline-cc/hotline/internal/guard"
)

func parseReq(t *testing.T, raw string) *sipmsg.Request {
	t.Helper()
	msg, err := sipmsg.NewParser().ParseSIP([]byte(strings.ReplaceAll(raw, "\n", "\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	return msg.(*sipmsg.Request)
}

const guardReq = `%s sip:99999@127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-g1
From: <sip:1@127.0.0.1>;tag=a
To: <sip:99999@127.0.0.1>
Call-ID: g1
CSeq: 1 %s
Max-Forwards: 70
Content-Length: 0

`

// TestHandleRecoversPanic: a handler that panics is answered 500 (once, and
// not when it had already answered), the panic is counted under "sip", and
// an ACK is never answered.
func TestHandleRecoversPanic(t *testing.T) {
	s := &Server{log: slog.New(slog.DiscardHandler)}
	count := func() uint64 {
		for _, e := range guard.Counts() {
			if e.Component == "sip" {
				return e.N
			}
		}
		return 0
	}
	for _, tc := range []struct {
		name, method string
		answerFirst  bool
		want         []int
	}{
		{"options panics", "OPTIONS", false, []int{500}},
		{"answered then panics", "OPTIONS", true, []int{200}},
		{"ack panics", "ACK", false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := parseReq(t, strings.ReplaceAll(guardReq, "%s", tc.method))
			tx := siptest.NewServerTxRecorder(req)
			before := count()
			s.handle(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
				if tc.answerFirst {
					_ = tx.Respond(sipmsg.NewResponseFromRequest(req, 200, "OK", nil))
				}
				var m map[string]int
				m["boom"]++ // a nil-map write: a real runtime panic
			})(req, tx)
			var got []int
			for _, r := range tx.Result() {
				got = append(got, r.StatusCode)
			}
			if len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) {
				t.Errorf("responses %v, want %v", got, tc.want)
			}
			if count() != before+1 {
				t.Errorf("panic not counted under sip")
			}
		})
	}
}

// TestCheckRequest: the header guard's verdict on requests that parse.
func TestCheckRequest(t *testing.T) {
	for _, tc := range []struct {
		name, method, edit string
		want               int // 0: passes
	}{
		{"good invite", "INVITE", "", 0},
		{"good ack", "ACK", "", 0},
		{"cseq mismatch", "BYE", "CSeq: 1 BYE=>CSeq: 1 INFO", 400},
		{"max-forwards zero", "CANCEL", "Max-Forwards: 70=>Max-Forwards: 0", 483},
		{"no max-forwards", "OPTIONS", "Max-Forwards: 70\n=>", 0},
		{"no call-id", "ACK", "Call-ID: g1\n=>", 400},
		{"no via", "REGISTER", "Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-g1\n=>", 400},
		{"two to", "INFO", "To: <sip:99999@127.0.0.1>=>To: <sip:99999@127.0.0.1>\nt: <sip:1@x>", 400},
		{"tel uri", "INVITE", "sip:99999@127.0.0.1 SIP=>tel:99999 SIP", 416},
		{"sips uri", "OPTIONS", "sip:99999@127.0.0.1 SIP=>sips:99999@127.0.0.1 SIP", 416},
		{"long user", "INVITE", "sip:99999@=>sip:" + strings.Repeat("9", 200) + "@", 400},
		{"bad port", "INVITE", "127.0.0.1 SIP=>127.0.0.1:70000 SIP", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := strings.ReplaceAll(guardReq, "%s", tc.method)
			if from, to, ok := strings.Cut(tc.edit, "=>"); ok {
				raw = strings.Replace(raw, from, to, 1)
			}
			got := 0
			if r := checkRequest(parseReq(t, raw)); r != nil {
				got = r.code
			}
			if got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}
