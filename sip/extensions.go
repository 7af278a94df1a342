package sip

import (
	"slices"
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"
)

// supportedTags are the option tags (RFC 3261 19.2) the engine implements:
// session timers (RFC 4028) and, for REGISTER, path (RFC 3327). 100rel
// (PRACK, RFC 3262) is not among them, so an INVITE that requires reliable
// provisionals is refused with 420.
var supportedTags = []string{"timer", "path"}

// statusBadExtension is RFC 3261 21.4.15; statusIntervalTooSmall is
// RFC 4028 6 (sipgo names neither).
const (
	statusBadExtension     = 420
	statusIntervalTooSmall = 422
)

// supportedHeader is the Supported header of our INVITE responses.
func supportedHeader() sipmsg.Header {
	return sipmsg.NewHeader("Supported", strings.Join(supportedTags, ", "))
}

// optionTags are the comma-separated option tags of every header named
// name (and its compact form, if any), lowercased, empties dropped.
func optionTags(req *sipmsg.Request, names ...string) []string {
	var tags []string
	for _, name := range names {
		for _, h := range req.GetHeaders(name) {
			for t := range strings.SplitSeq(h.Value(), ",") {
				if t = strings.ToLower(strings.TrimSpace(t)); t != "" {
					tags = append(tags, t)
				}
			}
		}
	}
	return tags
}

// unsupportedRequired are the Require option tags of req the engine does
// not implement, each once, in the order given (RFC 3261 8.2.2.3). Only
// Require is read: Proxy-Require is for proxies, and a UAS ignores it
// (RFC 3261 20.29); ACK and CANCEL never carry Require for a UAS to check.
func unsupportedRequired(req *sipmsg.Request) []string {
	if req.Method == sipmsg.ACK || req.Method == sipmsg.CANCEL {
		return nil
	}
	var out []string
	for _, t := range optionTags(req, "require") {
		if !slices.Contains(supportedTags, t) && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// supports reports whether req lists tag in Supported (compact k) or
// Require.
func supports(req *sipmsg.Request, tag string) bool {
	return slices.Contains(optionTags(req, "supported", "k", "require"), tag)
}
