package sip

import (
	"net/netip"
	"net/url"
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Seats behind a proxy (RFC 3327, Path). A proxy in front of the engine
// nodes (Kamailio with the path module) adds a Path header to each REGISTER
// it relays: the route back to the seat through the proxy. The registrar
// stores it with the binding and every INVITE to the seat is sent with that
// route set pre-loaded (Route headers, RFC 3327 section 5.3), so whichever
// node takes a call reaches the seat through the proxy, never by a source
// address that is the proxy's.
//
// The route set travels with the binding through the shared store inside
// the dial target (Registration.Target): the Contact URI with the route set
// as its Route URI header (RFC 3261 section 19.1.1), which Dial turns into
// Route headers. A seat cannot pre-load routes of its own: URI headers of a
// registered Contact are dropped, and the first Path hop must pass the same
// seat-network check as the Contact.

// routeHeader is the URI header of a dial target that carries its route set.
const routeHeader = "Route"

// pathOf returns the Path entries of a REGISTER (each "<uri;lr...>"), top
// first, from every Path header and every comma-separated value in them.
func pathOf(req *sipmsg.Request) []string {
	var out []string
	for _, h := range req.GetHeaders("Path") {
		for _, v := range splitHeaderList(h.Value()) {
			out = append(out, v)
		}
	}
	return out
}

// splitHeaderList splits a header value at the commas outside <...> and
// quotes, trimming each part and dropping empties.
func splitHeaderList(v string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"' && (i == 0 || v[i-1] != '\\'):
			quoted = !quoted
		case quoted:
		case c == '<':
			depth++
		case c == '>':
			depth = max(0, depth-1)
		case c == ',' && depth == 0:
			if s := strings.TrimSpace(v[start:i]); s != "" {
				out = append(out, s)
			}
			start = i + 1
		}
	}
	if s := strings.TrimSpace(v[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

// pathURI parses one Path (or Route) entry, "<sip:...>" or a bare URI.
func pathURI(entry string) (sipmsg.Uri, bool) {
	s := strings.TrimSpace(entry)
	if i := strings.IndexByte(s, '<'); i >= 0 {
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			return sipmsg.Uri{}, false
		}
		s = s[i+1 : i+j]
	}
	var u sipmsg.Uri
	if err := sipmsg.ParseUri(s, &u); err != nil || u.Host == "" {
		return sipmsg.Uri{}, false
	}
	return u, true
}

// checkPath refuses a Path whose entries are not SIP URIs.
func checkPath(path []string) error {
	for _, p := range path {
		u, ok := pathURI(p)
		if !ok {
			return badRegister("Path %q is not a SIP URI", p)
		}
		if s := strings.ToLower(u.Scheme); s != "sip" && s != "sips" {
			return badRegister("Path %q is not a SIP URI", p)
		}
	}
	return nil
}

// pathClient is the address of the seat as the first proxy saw it: the
// received parameter that Kamailio's add_path_received() puts on its Path
// URI (sip:IP:PORT); false when the REGISTER has no such Path.
func pathClient(req *sipmsg.Request) (netip.Addr, bool) {
	path := pathOf(req)
	if len(path) == 0 {
		return netip.Addr{}, false
	}
	u, ok := pathURI(path[len(path)-1]) // the hop nearest the seat
	if !ok {
		return netip.Addr{}, false
	}
	rcv, ok := u.UriParams.Get("received")
	if !ok {
		return netip.Addr{}, false
	}
	rcv, _ = url.PathUnescape(strings.Trim(rcv, `"`))
	var ru sipmsg.Uri
	if sipmsg.ParseUri(rcv, &ru) != nil {
		return netip.Addr{}, false
	}
	ip, err := netip.ParseAddr(strings.Trim(ru.Host, "[]"))
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}

// clientAddr is the IP a failed digest counts against: the seat's own
// address when a proxy named it in the Path (so one seat's wrong password
// does not lock every seat behind the proxy), else the request's source.
func clientAddr(req *sipmsg.Request) netip.Addr {
	if ip, ok := pathClient(req); ok {
		return ip
	}
	return requestSource(req).Addr()
}

// Target is where to send an INVITE for this binding: the Contact, with
// the Path as its pre-loaded route set when the seat registered through a
// proxy. Dial understands it; the store keeps it as the seat's contact.
func (r Registration) Target() string {
	if len(r.Path) == 0 {
		return r.Contact
	}
	return r.Contact + "?" + routeHeader + "=" + url.QueryEscape(r.Path)
}

// splitTarget separates a dial target into its URI and the route set
// carried in its Route URI header (see Target); other URI headers are
// dropped.
func splitTarget(target string) (uri string, route []string) {
	i := strings.IndexByte(target, '?')
	if i < 0 {
		return target, nil
	}
	uri = target[:i]
	for kv := range strings.SplitSeq(target[i+1:], "&") {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.EqualFold(k, routeHeader) {
			continue
		}
		v, err := url.QueryUnescape(v)
		if err != nil {
			continue
		}
		route = append(route, splitHeaderList(v)...)
	}
	return uri, route
}

// withRoute pre-loads route on req (Route headers, top first): the
// request goes to the first hop, over its transport (UDP when it names
// none). Only loose routers (lr) are supported, as RFC 3327 proxies are.
func withRoute(req *sipmsg.Request, route []string) {
	if len(route) == 0 {
		return
	}
	for _, r := range route {
		req.AppendHeader(sipmsg.NewHeader("Route", r))
	}
	tr := "UDP"
	if u, ok := pathURI(route[0]); ok {
		if t, ok := u.UriParams.Get("transport"); ok && t != "" {
			tr = strings.ToUpper(t)
		}
	}
	req.SetTransport(tr)
}
