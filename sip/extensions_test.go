package sip

import (
	"log/slog"
	"strings"
	"testing"
	"time"

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

// TestSessionInterval: an INVITE's Session-Expires runs a session timer
// only when the caller supports timer; below the minimum it gets 422 with
// Min-SE, malformed 400.
func TestSessionInterval(t *testing.T) {
	s := &Server{log: slog.New(slog.DiscardHandler), cfg: Config{MinSessionExpires: 90 * time.Second}}
	for _, tc := range []struct {
		name, hdrs string
		want       time.Duration
		code       int    // 0: the INVITE goes on
		minSE      string // Min-SE of the 422
	}{
		{"none asked", "Supported: timer\n", 0, 0, ""},
		{"asked, refresher uac", "Supported: timer\nSession-Expires: 1800;refresher=uac\n", 30 * time.Minute, 0, ""},
		{"compact forms, refresher uas", "k: timer\nx: 120;refresher=uas\n", 2 * time.Minute, 0, ""},
		{"required timer", "Require: timer\nSession-Expires: 90\n", 90 * time.Second, 0, ""},
		{"no timer support: ignored", "Session-Expires: 30\n", 0, 0, ""},
		{"too small", "Supported: timer\nSession-Expires: 30\nMin-SE: 30\n", 0, 422, "90"},
		{"malformed", "Supported: timer\nSession-Expires: soon\n", 0, 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := strings.Replace(strings.ReplaceAll(guardReq, "%s", "INVITE"), "Max-Forwards: 70\n", "Max-Forwards: 70\n"+tc.hdrs, 1)
			req := parseReq(t, raw)
			tx := siptest.NewServerTxRecorder(req)
			se, ok := s.sessionInterval(req, tx)
			res := tx.Result()
			if tc.code == 0 {
				if !ok || se != tc.want || len(res) != 0 {
					t.Fatalf("got %v ok=%v responses %v, want %v", se, ok, res, tc.want)
				}
				return
			}
			if ok || len(res) != 1 || res[0].StatusCode != tc.code {
				t.Fatalf("ok=%v responses %v, want one %d", ok, res, tc.code)
			}
			if tc.minSE != "" {
				if h := res[0].GetHeader("Min-SE"); h == nil || h.Value() != tc.minSE {
					t.Fatalf("Min-SE %v, want %s", h, tc.minSE)
				}
			}
		})
	}
}

// TestRefreshTx: on a leg running a session timer, a 2xx to a re-INVITE or
// UPDATE carries the session headers and tells the owner of the refresh; a
// failure does neither.
func TestRefreshTx(t *testing.T) {
	for _, code := range []int{200, 488} {
		req := parseReq(t, strings.ReplaceAll(guardReq, "%s", "UPDATE"))
		rec := siptest.NewServerTxRecorder(req)
		l := &InboundLeg{se: 30 * time.Second}
		refreshed := 0
		l.SetEvents(func(ev Event) {
			if _, ok := ev.(EventRefresh); ok {
				refreshed++
			}
		})
		tx := l.refreshTx(rec)
		if err := tx.Respond(sipmsg.NewResponseFromRequest(req, code, "", nil)); err != nil {
			t.Fatal(err)
		}
		res := rec.Result()[0]
		se, ok := res.GetHeader("Session-Expires"), code == 200
		if ok != (se != nil) || ok != (refreshed == 1) {
			t.Fatalf("%d: Session-Expires %v, refreshes %d", code, se, refreshed)
		}
		if ok && (se.Value() != "30;refresher=uac" || res.GetHeader("Require").Value() != "timer") {
			t.Fatalf("%d: Session-Expires %q Require %v", code, se.Value(), res.GetHeader("Require"))
		}
	}
}
