package sip

import (
	"log/slog"
	"strings"
	"testing"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/emiago/sipgo/siptest"
)

// TestRequireGuard: a request whose Require names tags we lack gets 420
// with exactly those tags in Unsupported, whatever its method; tags we
// implement, Proxy-Require (a proxy's business) and ACK pass on.
func TestRequireGuard(t *testing.T) {
	s := &Server{log: slog.New(slog.DiscardHandler)}
	for _, tc := range []struct {
		name, method, hdrs string
		unsupported        string // "" the handler runs
	}{
		{"invite 100rel", "INVITE", "Require: 100rel\n", "100rel"},
		{"register unknown tags, one repeated", "REGISTER", "Require: foo, Bar\nRequire: foo\n", "foo, bar"},
		{"options timer and 100rel", "OPTIONS", "Require: timer, 100rel\n", "100rel"},
		{"invite timer only", "INVITE", "Require: timer\nSupported: timer\n", ""},
		{"proxy-require ignored", "INVITE", "Proxy-Require: sec-agree\n", ""},
		{"ack never refused", "ACK", "Require: 100rel\n", ""},
		{"none", "INVITE", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := strings.ReplaceAll(guardReq, "%s", tc.method)
			raw = strings.Replace(raw, "Max-Forwards: 70\n", "Max-Forwards: 70\n"+tc.hdrs, 1)
			req := parseReq(t, raw)
			tx := siptest.NewServerTxRecorder(req)
			ran := false
			s.handle(func(*sipmsg.Request, sipmsg.ServerTransaction) { ran = true })(req, tx)
			if tc.unsupported == "" {
				if !ran || len(tx.Result()) != 0 {
					t.Fatalf("handler ran %v, responses %v", ran, tx.Result())
				}
				return
			}
			res := tx.Result()
			if ran || len(res) != 1 || res[0].StatusCode != 420 {
				t.Fatalf("handler ran %v, responses %v; want one 420", ran, res)
			}
			if got := res[0].GetHeader("Unsupported"); got == nil || got.Value() != tc.unsupported {
				t.Fatalf("Unsupported %v, want %q", got, tc.unsupported)
			}
		})
	}
}
