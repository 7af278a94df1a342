package sip

import (
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"
)

// parseInfoDTMF reads a DTMF digit from a SIP INFO body.
// application/dtmf-relay carries "Signal=5\r\nDuration=160"; application/dtmf
// carries the digit alone. known is false for other content types; ok is false
// when the body holds no valid digit (answered 200 all the same, as the
// request itself was fine).
func parseInfoDTMF(req *sipmsg.Request) (digit rune, ok, known bool) {
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = strings.ToLower(strings.TrimSpace(h.Value()))
		if i := strings.IndexByte(ct, ';'); i >= 0 {
			ct = strings.TrimSpace(ct[:i])
		}
	}
	body := string(req.Body())
	switch ct {
	case "application/dtmf-relay":
		for _, line := range strings.Split(body, "\n") {
			k, v, found := strings.Cut(strings.TrimSpace(line), "=")
			if found && strings.EqualFold(strings.TrimSpace(k), "signal") {
				digit, ok = dtmfDigit(strings.TrimSpace(v))
				return digit, ok, true
			}
		}
		return 0, false, true
	case "application/dtmf":
		digit, ok = dtmfDigit(strings.TrimSpace(body))
		return digit, ok, true
	case "":
		// Some phones send keep-alive INFOs with no body.
		return 0, false, len(body) == 0
	}
	return 0, false, false
}

// dtmfDigit maps "0".."9", "*", "#", "A".."D" (and the RFC 4733 event numbers
// 10 and 11 some phones send for * and #) to the digit rune.
func dtmfDigit(s string) (rune, bool) {
	switch s {
	case "10":
		return '*', true
	case "11":
		return '#', true
	}
	if len(s) != 1 {
		return 0, false
	}
	c := rune(s[0])
	switch {
	case c >= '0' && c <= '9', c == '*', c == '#':
		return c, true
	case c >= 'A' && c <= 'D':
		return c, true
	case c >= 'a' && c <= 'd':
		return c - 'a' + 'A', true
	}
	return 0, false
}
