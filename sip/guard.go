package sip

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/hotline-cc/hotline/internal/guard"
)

// Bounds of the header guard.
const (
	// maxUserLen bounds the user part of the Request-URI, From and To: a
	// phone number or an extension, never a paragraph.
	maxUserLen = 128
	// maxRequestURILen bounds the whole Request-URI (414 beyond it).
	maxRequestURILen = 512
	// statusUnsupportedURIScheme is RFC 3261 21.4.14 (sipgo names no constant).
	statusUnsupportedURIScheme = 416
)

// singleHeaders are the headers a request may carry once only (RFC 3261
// 7.3.1: only comma-list headers may repeat), by their full and compact names.
var singleHeaders = [][]string{
	{"call-id", "i"}, {"from", "f"}, {"to", "t"}, {"cseq"},
	{"max-forwards"}, {"content-length", "l"}, {"content-type", "c"},
}

// rejection is the guard's verdict on a request: the status code and reason
// phrase it is answered with (an ACK is never answered).
type rejection struct {
	code   int
	reason string
}

func (r *rejection) Error() string { return fmt.Sprintf("%d %s", r.code, r.reason) }

func reject(code int, format string, args ...any) *rejection {
	return &rejection{code: code, reason: fmt.Sprintf(format, args...)}
}

// checkRequest is the header guard every request passes before a handler
// sees it, whatever its method: the headers that identify a transaction and a
// dialog must be present, parse, appear once and agree with the request line
// (RFC 3261 8.1.1, 8.2.2, 16.3). It reads every header a handler reads, so a
// header that the lazy parser cannot read is refused here, not met as nil
// later. nil means the request may go on.
func checkRequest(req *sipmsg.Request) *rejection {
	for _, names := range singleHeaders {
		n := 0
		for _, name := range names {
			n += len(req.GetHeaders(name))
		}
		if n > 1 {
			return reject(sipmsg.StatusBadRequest, "Bad Request: duplicate %s header", names[0])
		}
	}
	switch {
	case req.Via() == nil:
		return reject(sipmsg.StatusBadRequest, "Bad Request: missing or malformed Via")
	case req.CallID() == nil || strings.TrimSpace(req.CallID().Value()) == "":
		return reject(sipmsg.StatusBadRequest, "Bad Request: missing Call-ID")
	case req.From() == nil:
		return reject(sipmsg.StatusBadRequest, "Bad Request: missing or malformed From")
	case req.To() == nil:
		return reject(sipmsg.StatusBadRequest, "Bad Request: missing or malformed To")
	case req.CSeq() == nil:
		return reject(sipmsg.StatusBadRequest, "Bad Request: missing or malformed CSeq")
	}
	if got := req.CSeq().MethodName; !strings.EqualFold(string(got), string(req.Method)) {
		return reject(sipmsg.StatusBadRequest, "Bad Request: CSeq method %s differs from %s", got, req.Method)
	}
	if len(req.GetHeaders("max-forwards")) == 1 {
		mf := req.MaxForwards()
		if mf == nil {
			return reject(sipmsg.StatusBadRequest, "Bad Request: malformed Max-Forwards")
		}
		if *mf == 0 && req.Method != sipmsg.ACK {
			// RFC 3261 16.3 step 3.
			return reject(sipmsg.StatusTooManyHops, "Too Many Hops")
		}
	}
	if h := req.GetHeader("content-length"); h != nil || len(req.GetHeaders("l")) > 0 {
		if req.ContentLength() == nil {
			return reject(sipmsg.StatusBadRequest, "Bad Request: malformed Content-Length")
		}
	}
	return checkURIs(req)
}

// checkURIs refuses Request-URIs we cannot serve and users no phone has.
func checkURIs(req *sipmsg.Request) *rejection {
	ruri := req.Recipient
	if len(ruri.String()) > maxRequestURILen {
		return reject(sipmsg.StatusRequestURITooLong, "Request-URI Too Long")
	}
	if s := strings.ToLower(ruri.Scheme); s != "sip" && req.Method != sipmsg.ACK && !sipsOverTLS(req) {
		// sips needs TLS (RFC 3261 §26.2: over any other transport it is
		// refused); tel and others we do not route.
		return &rejection{code: statusUnsupportedURIScheme, reason: "Unsupported URI Scheme"}
	}
	for _, u := range []struct {
		what string
		uri  sipmsg.Uri
	}{{"Request-URI", ruri}, {"From", req.From().Address}, {"To", req.To().Address}} {
		if len(u.uri.User) > maxUserLen {
			return reject(sipmsg.StatusBadRequest, "Bad Request: %s user too long", u.what)
		}
		if u.uri.Port < 0 || u.uri.Port > 65535 {
			return reject(sipmsg.StatusBadRequest, "Bad Request: %s port out of range", u.what)
		}
	}
	if c := req.Contact(); c != nil && (c.Address.Port < 0 || c.Address.Port > 65535) {
		return reject(sipmsg.StatusBadRequest, "Bad Request: Contact port out of range")
	}
	if v := req.Via(); v.Port < 0 || v.Port > 65535 {
		return reject(sipmsg.StatusBadRequest, "Bad Request: Via port out of range")
	}
	return nil
}

// handle wraps every request handler: it counts the request, runs the
// header guard (answering 400/483/414/416 with the reason, an ACK never),
// answers 420 naming the Require tags we do not implement, and
// recovers a panic in the handler, answering 500 when no final response was
// sent. A panic ends that request (and with it a leg whose INVITE handler it
// was) and nothing else.
func (s *Server) handle(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		answered := &finalWatch{ServerTransaction: tx}
		defer guard.Recover(s.log, "sip", func(any) {
			s.log.Error("sip: request handler panicked", "method", req.Method, "source", req.Source())
			if req.Method != sipmsg.ACK && !answered.final.Load() {
				res := sipmsg.NewResponseFromRequest(req, sipmsg.StatusInternalServerError, "Server Internal Error", nil)
				if err := tx.Respond(res); err == nil {
					s.observeResponse(req.Method.String(), sipmsg.StatusInternalServerError)
				}
			}
		})
		if s.cfg.Observer != nil {
			s.cfg.Observer.SIPRequest(req.Method.String())
		}
		if bad := checkRequest(req); bad != nil {
			s.log.Warn("sip: request refused by the header guard", "method", req.Method,
				"source", req.Source(), "code", bad.code, "reason", bad.reason)
			if req.Method != sipmsg.ACK {
				s.respond(req, tx, bad.code, bad.reason)
			}
			return
		}
		if tags := unsupportedRequired(req); len(tags) > 0 {
			s.log.Info("sip: request requires extensions we lack", "method", req.Method,
				"source", req.Source(), "unsupported", tags)
			s.respond(req, tx, statusBadExtension, "Bad Extension",
				sipmsg.NewHeader("Unsupported", strings.Join(tags, ", ")), supportedHeader())
			return
		}
		h(req, answered)
	}
}

// finalWatch notes whether a final response went out through the
// transaction, so a panicking handler is answered 500 only when nothing
// final was sent. Responses may come from
// any goroutine (a leg answers on its owner's).
type finalWatch struct {
	sipmsg.ServerTransaction
	final atomic.Bool
}

func (w *finalWatch) Respond(res *sipmsg.Response) error {
	err := w.ServerTransaction.Respond(res)
	if err == nil && res.StatusCode >= 200 {
		w.final.Store(true)
	}
	return err
}

// retryAfter is the Retry-After header of a 503 sent for a limit.
func retryAfter(seconds int) sipmsg.Header {
	return sipmsg.NewHeader("Retry-After", strconv.Itoa(max(seconds, 1)))
}
