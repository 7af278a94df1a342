package call

import (
	"errors"
	"strings"
	"time"
)

// An agent's keys during a queue call (issue 10): never relayed to the
// caller or a department (media.Session.KeepDTMF), they drive transfers.
//
//	*2<number>#   consult the directory entry <number>
//	##<number>#   blind transfer to it
//	<key>         one-key transfer to the entry with that key, in its mode
//	*1 *2 *3 *4   during a transfer: cancel, complete, three-way, swap
//	*7 *9         pause and resume the call's recording
//
// The directory refuses keys that begin, or are the beginning of, these
// codes, so the first complete match is the only one. Keys more than
// keyGap apart start over; anything that cannot become a code is dropped.
const (
	keyGap    = 5 * time.Second
	maxKeyBuf = 24 // "*2" or "##", a number of up to 20 digits, "#"
)

// onSeatKey takes one digit from the agent's phone (RFC 4733 or INFO).
func (c *Call) onSeatKey(d rune) {
	if c.answeredSeat == "" {
		return
	}
	now := c.e.opts.Now()
	if now.Sub(c.keyAt) > keyGap {
		c.keys = ""
	}
	c.keyAt = now
	c.keys += string(d)
	target, mode, op, done := c.seatCode(c.keys)
	if !done {
		if len(c.keys) >= maxKeyBuf || !c.codePrefix(c.keys) {
			c.keys = ""
		}
		return
	}
	c.keys = ""
	var err error
	if op == RecPause || op == RecResume {
		err = c.pauseRecording(op, "agent")
	} else if op != "" {
		err = c.xferOp(evXferReq{op: op})
	} else {
		err = c.startTransfer(target, mode)
	}
	if err != nil {
		c.log.Info("agent's transfer keys refused", "error", err, "refused", errors.Is(err, ErrTransferRefused))
	}
}

// seatCode reads a complete code from keys: a transfer to start (target,
// mode) or an op on the one in progress.
func (c *Call) seatCode(keys string) (target, mode, op string, done bool) {
	switch keys {
	case "*7":
		return "", "", RecPause, true
	case "*9":
		return "", "", RecResume, true
	}
	if c.xfer != nil && len(keys) == 2 && keys[0] == '*' {
		switch keys[1] {
		case '1':
			return "", "", OpCancel, true
		case '2':
			return "", "", OpComplete, true
		case '3':
			return "", "", OpThreeway, true
		case '4':
			return "", "", OpSwap, true
		}
	}
	for _, p := range []struct{ prefix, mode string }{{"*2", ModeConsult}, {"##", ModeBlind}} {
		if rest, ok := strings.CutPrefix(keys, p.prefix); ok && strings.HasSuffix(rest, "#") && len(rest) > 1 {
			return strings.TrimSuffix(rest, "#"), p.mode, "", true
		}
	}
	for _, e := range c.cfg.Directory.Entries {
		if e.Key != "" && e.Key == keys {
			return e.Key, "", "", true
		}
	}
	return "", "", "", false
}

// codePrefix reports whether keys may still become a code.
func (c *Call) codePrefix(keys string) bool {
	digits := func(s string) bool { return strings.Trim(s, "0123456789") == "" }
	for _, p := range []string{"*2", "##"} {
		if strings.HasPrefix(p, keys) || (strings.HasPrefix(keys, p) && digits(keys[len(p):])) {
			return true
		}
	}
	if keys == "*" {
		return true
	}
	for _, e := range c.cfg.Directory.Entries {
		if e.Key != "" && strings.HasPrefix(e.Key, keys) {
			return true
		}
	}
	return false
}
