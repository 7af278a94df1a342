package sip

import (
	"strings"
	"testing"

	sipmsg "github.com/emiago/sipgo/sip"
)

func TestParseInfoDTMF(t *testing.T) {
	for _, tc := range []struct {
		name, ct, body string
		digit          rune
		ok, known      bool
	}{
		{"dtmf-relay", "application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5', true, true},
		{"dtmf-relay star as 10", "application/dtmf-relay", "Signal=10\r\nDuration=100", '*', true, true},
		{"dtmf-relay hash", "Application/DTMF-Relay; charset=x", "signal = #\nduration=160", '#', true, true},
		{"dtmf-relay no signal", "application/dtmf-relay", "Duration=160", 0, false, true},
		{"dtmf-relay bad digit", "application/dtmf-relay", "Signal=X", 0, false, true},
		{"dtmf", "application/dtmf", "7", '7', true, true},
		{"dtmf lower-case letter", "application/dtmf", "b", 'B', true, true},
		{"empty keep-alive", "", "", 0, false, true},
		{"other type", "application/xml", "<x/>", 0, false, false},
		{"body without type", "", "5", 0, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := sipmsg.NewRequest(sipmsg.INFO, sipmsg.Uri{Scheme: "sip", Host: "127.0.0.1"})
			if tc.ct != "" {
				req.AppendHeader(sipmsg.NewHeader("Content-Type", tc.ct))
			}
			req.SetBody([]byte(tc.body))
			d, ok, known := parseInfoDTMF(req)
			if d != tc.digit || ok != tc.ok || known != tc.known {
				t.Fatalf("got %q %v %v, want %q %v %v", d, ok, known, tc.digit, tc.ok, tc.known)
			}
		})
	}
}

func TestBadRequest(t *testing.T) {
	raw := "INVITE sip:1@x SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4:5;branch=z9hG4bK1\r\n" +
		"f: <sip:a@b>;tag=1\r\nTo: <sip:1@x>\r\nCall-ID: c1\r\nCSeq: x INVITE\r\nX-Other: y\r\n\r\n"
	res := string(rawResponse([]byte(raw), 400, "Bad Request", 0))
	for _, want := range []string{"SIP/2.0 400 Bad Request\r\n", "Via: SIP/2.0/UDP 1.2.3.4:5;branch=z9hG4bK1\r\n",
		"f: <sip:a@b>;tag=1\r\n", "Call-ID: c1\r\n", "CSeq: x INVITE\r\n", "Content-Length: 0\r\n\r\n"} {
		if !strings.Contains(res, want) {
			t.Errorf("400 lacks %q:\n%s", want, res)
		}
	}
	if strings.Contains(res, "X-Other") {
		t.Errorf("400 copies unrelated headers:\n%s", res)
	}
	for _, junk := range []string{"", "hello", "\x00\x01\x02", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"} {
		if rawResponse([]byte(junk), 400, "Bad Request", 0) != nil {
			t.Errorf("answered non-SIP %q", junk)
		}
	}
}

// FuzzInfoDTMF reads fuzzed INFO bodies under each content type: a digit
// is only ever one of the sixteen DTMF keys, and only from a known type.
func FuzzInfoDTMF(f *testing.F) {
	for _, s := range [][2]string{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"},
		{"application/dtmf-relay", "Signal=10\nDuration=1"},
		{"application/dtmf", "#"},
		{"application/dtmf", "11"},
		{"", ""},
		{"Application/DTMF-Relay;x=y", "signal = b\x00"},
		{"application/xml", "<x/>"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, ct, body string) {
		req := sipmsg.NewRequest(sipmsg.INFO, sipmsg.Uri{Scheme: "sip", Host: "127.0.0.1"})
		if ct != "" {
			req.AppendHeader(sipmsg.NewHeader("Content-Type", ct))
		}
		req.SetBody([]byte(body))
		d, ok, known := parseInfoDTMF(req)
		if ok && (!known || !strings.ContainsRune("0123456789*#ABCD", d)) {
			t.Fatalf("%q %q gave %q (known %v)", ct, body, d, known)
		}
		if !ok && d != 0 {
			t.Fatalf("%q %q gave %q without ok", ct, body, d)
		}
	})
}
