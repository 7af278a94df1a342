package sip

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/hotline-cc/hotline/internal/guard"
)

// EventRefer: the far side of a dialog we dialled (a seat's phone) asks,
// with REFER (RFC 3515), that the call be transferred to Target: the user
// part of a SIP Refer-To, a number or an extension ("" when the Refer-To is
// not a SIP URI). Replaces is the Refer-To's Replaces parameter
// (semi-attended transfer), unescaped, or "". The owner answers with Reply
// (202 to take it; 403 and so on to refuse) within a few seconds, then
// reports progress with Notify (RFC 5589: a NOTIFY carrying a
// message/sipfrag status line; a final code ends the subscription).
type EventRefer struct {
	Target   string
	Replaces string
	Reply    func(code int)
	Notify   func(code int, reason string)
}

func (EventRefer) legEvent() {}

// referReplyTimeout bounds how long a REFER waits for its owner's answer.
const referReplyTimeout = 4 * time.Second

// handleRefer serves a REFER on a leg we dialled: the owner decides, the
// answer goes back, and Notify sends the NOTIFYs in the dialog (notify).
func (s *Server) handleRefer(e *events, req *sipmsg.Request, tx sipmsg.ServerTransaction,
	notify func(code int, reason string)) {
	hs := req.GetHeaders("Refer-To")
	if len(hs) != 1 {
		s.respond(req, tx, sipmsg.StatusBadRequest, "Exactly One Refer-To")
		return
	}
	target, replaces := parseReferTo(hs[0].Value())
	ch := make(chan int, 1)
	var once atomic.Bool
	ok := e.emit(EventRefer{Target: target, Replaces: replaces, Notify: notify, Reply: func(code int) {
		if once.CompareAndSwap(false, true) {
			ch <- code
		}
	}})
	if !ok {
		s.respond(req, tx, sipmsg.StatusInternalServerError, "No Owner")
		return
	}
	timer := time.NewTimer(referReplyTimeout)
	defer timer.Stop()
	select {
	case code := <-ch:
		s.respond(req, tx, code, "")
	case <-timer.C:
		s.respond(req, tx, sipmsg.StatusInternalServerError, "Owner Timeout")
	case <-tx.Done():
	}
}

// parseReferTo reads the user part of a Refer-To's SIP URI and its
// Replaces header parameter ("sip:12333@host?Replaces=...").
func parseReferTo(v string) (user, replaces string) {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			v = v[i+1 : i+j]
		}
	}
	var uri sipmsg.Uri
	if err := sipmsg.ParseUri(v, &uri); err != nil || (uri.Scheme != "sip" && uri.Scheme != "sips") {
		return "", ""
	}
	if r, ok := uri.Headers.Get("Replaces"); ok {
		replaces = unescapeURI(r)
	}
	return uri.User, replaces
}

// unescapeURI undoes %XX escapes (a Replaces value in a URI header).
func unescapeURI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+3], "%02X", &c); err == nil {
				b.WriteByte(c)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// notifyRefer sends a NOTIFY for a REFER on our outbound leg: the sipfrag
// status line, and the subscription's state (terminated at a final code).
func (l *OutboundLeg) notifyRefer(code int, reason string) {
	if l.ended.Load() || l.d.InviteResponse == nil {
		return
	}
	target := l.d.InviteRequest.Recipient
	if c := l.d.InviteResponse.Contact(); c != nil {
		target = c.Address
	}
	req := sipmsg.NewRequest(sipmsg.NOTIFY, target)
	req.AppendHeader(sipmsg.NewHeader("Event", "refer"))
	state := "active;expires=60"
	if code >= 200 {
		state = "terminated;reason=noresource"
	}
	req.AppendHeader(sipmsg.NewHeader("Subscription-State", state))
	req.AppendHeader(sipmsg.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	req.SetBody([]byte(fmt.Sprintf("SIP/2.0 %d %s\r\n", code, reason)))
	l.s.fromListener(req)
	l.referOnce.Do(func() {
		l.notifies = make(chan *sipmsg.Request, 8)
		done := make(chan struct{})
		l.notified.Store(&done)
		go l.sendNotifies(done)
	})
	select {
	case l.notifies <- req:
	default:
		l.s.log.Warn("sip: REFER progress NOTIFY dropped: too many pending", "call_id", l.CallID())
	}
}

// sendNotifies sends a leg's REFER NOTIFYs one after the other, in order;
// it ends with the final one.
func (l *OutboundLeg) sendNotifies(done chan struct{}) {
	defer close(done)
	defer guard.Recover(l.s.log, "sip", nil)
	for req := range l.notifies {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _ = l.d.Do(ctx, req)
		cancel()
		if strings.HasPrefix(req.GetHeader("Subscription-State").Value(), "terminated") {
			return
		}
	}
}

// notifyGrace bounds how long a hang-up waits for the REFER's NOTIFYs to
// go out first (the referrer learns the outcome before the BYE).
const notifyGrace = 2 * time.Second

// awaitNotifies waits, bounded, for the leg's REFER NOTIFYs to be sent.
func (l *OutboundLeg) awaitNotifies() {
	if done := l.notified.Load(); done != nil {
		select {
		case <-*done:
		case <-time.After(notifyGrace):
		}
	}
}
