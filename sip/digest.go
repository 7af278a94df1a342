package sip

import (
	"crypto/hmac"
	"crypto/md5" //nolint:gosec // SIP digest (RFC 2617/7616) is defined over MD5.
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// AuthResult is the outcome of checking a request's digest credentials.
type AuthResult int

// The outcomes of Verify.
const (
	AuthOK          AuthResult = iota // credentials valid, nonce fresh
	AuthMissing                       // no credentials for our realm: challenge
	AuthStale                         // right password, old or foreign nonce: challenge with stale=true
	AuthBad                           // wrong password or malformed/unsupported credentials
	AuthUnknownUser                   // the username is not an extension we know
	AuthReplay                        // a nonce count not above one already used with this nonce
	AuthBadURI                        // the digest uri is not the Request-URI
)

func (a AuthResult) String() string {
	switch a {
	case AuthOK:
		return "ok"
	case AuthMissing:
		return "missing"
	case AuthStale:
		return "stale"
	case AuthBad:
		return "bad"
	case AuthUnknownUser:
		return "unknown-user"
	case AuthReplay:
		return "replay"
	case AuthBadURI:
		return "bad-uri"
	}
	return fmt.Sprintf("AuthResult(%d)", int(a))
}

// Errors from reading digest credentials.
var (
	ErrBadCredentials = errors.New("sip: malformed digest credentials")
	ErrUnsupportedQOP = errors.New("sip: unsupported digest qop or algorithm")
)

const (
	nonceTimeLen = 8  // big-endian UnixNano
	nonceRandLen = 8  // random: no two challenges share a nonce, even within one clock tick
	nonceMACLen  = 16 // truncated HMAC-SHA256 of time, random part and the source IP
	nonceLen     = nonceTimeLen + nonceRandLen + nonceMACLen
)

// digestAuth issues and checks RFC 2617/7616 MD5 digest credentials. A nonce
// is a timestamp plus an HMAC of it and of the IP address it was issued to,
// under a secret: any node that shares the secret can check it, and it is
// good only from that address. The nonce counts each nonce was used with are
// remembered (bounded) by this node only.
type digestAuth struct {
	realm     string
	ttl       time.Duration
	secret    []byte
	now       func() time.Time
	passwords func(ext string) (string, bool)
	counts    *nonceCounts
}

// newNonce returns a fresh nonce stamped with the current time, for ip.
func (d *digestAuth) newNonce(ip netip.Addr) string {
	var buf [nonceLen]byte
	binary.BigEndian.PutUint64(buf[:nonceTimeLen], uint64(d.now().UnixNano()))
	_, _ = rand.Read(buf[nonceTimeLen : nonceTimeLen+nonceRandLen]) // crypto/rand.Read never fails (Go ≥ 1.24)
	copy(buf[nonceTimeLen+nonceRandLen:], d.nonceMAC(buf[:nonceTimeLen+nonceRandLen], ip))
	return hex.EncodeToString(buf[:])
}

func (d *digestAuth) nonceMAC(head []byte, ip netip.Addr) []byte {
	mac := hmac.New(sha256.New, d.secret)
	mac.Write(head)
	a := ip.Unmap().As16()
	mac.Write(a[:])
	return mac.Sum(nil)[:nonceMACLen]
}

// nonceIssued returns when nonce was issued, if it was issued with our
// secret to ip within the TTL.
func (d *digestAuth) nonceIssued(nonce string, ip netip.Addr) (time.Time, bool) {
	raw, err := hex.DecodeString(nonce)
	if err != nil || len(raw) != nonceLen {
		return time.Time{}, false
	}
	head := raw[:nonceTimeLen+nonceRandLen]
	if subtle.ConstantTimeCompare(raw[len(head):], d.nonceMAC(head, ip)) != 1 {
		return time.Time{}, false
	}
	issued := time.Unix(0, int64(binary.BigEndian.Uint64(raw[:nonceTimeLen])))
	age := d.now().Sub(issued)
	return issued, age <= d.ttl && age >= -d.ttl
}

// challengeValue is the WWW-Authenticate / Proxy-Authenticate value, with a
// nonce for ip.
func (d *digestAuth) challengeValue(stale bool, ip netip.Addr) string {
	v := `Digest realm="` + d.realm + `", nonce="` + d.newNonce(ip) + `", algorithm=MD5, qop="auth"`
	if stale {
		v += ", stale=true"
	}
	return v
}

// verify checks the credentials in req (Authorization, or Proxy-Authorization
// when proxy is set) for our realm. It returns the username whenever
// credentials for our realm were present. With record set, a success
// records the nonce count, so the same count is a replay next time.
//
// The order tells an attacker nothing about the password: the uri, then the
// nonce (ours, for this source, in time), then the nonce count, and only
// then the password.
func (d *digestAuth) verify(req *sipmsg.Request, proxy, record bool) (string, AuthResult) {
	creds, found, err := d.findCredentials(req, proxy)
	if !found {
		return "", AuthMissing
	}
	user := creds["username"]
	if err != nil {
		return user, AuthBad
	}
	if !sameURI(creds["uri"], req.Recipient) {
		return user, AuthBadURI
	}
	issued, ok := d.nonceIssued(creds["nonce"], requestSource(req).Addr())
	if !ok {
		return user, AuthStale
	}
	nc, ok := nonceCount(creds)
	if !ok || !d.counts.fresh(creds["nonce"], issued, nc) {
		return user, AuthReplay
	}
	password, known := d.passwords(user)
	want := digestResponse(creds, string(req.Method), password)
	if !known {
		return user, AuthUnknownUser
	}
	got := strings.ToLower(creds["response"])
	if subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
		return user, AuthBad
	}
	if record {
		d.counts.use(creds["nonce"], issued, nc, d.now())
	}
	return user, AuthOK
}

// nonceCount is the credentials' nc (8 hex digits, RFC 2617 section 3.2.2);
// credentials without qop carry none and count as 1, so their nonce is
// good once.
func nonceCount(c map[string]string) (uint32, bool) {
	if c["qop"] == "" {
		return 1, true
	}
	v := c["nc"]
	if len(v) != 8 {
		return 0, false
	}
	n, err := strconv.ParseUint(v, 16, 32)
	return uint32(n), err == nil && n > 0
}

// sameURI reports whether the digest uri names the Request-URI (RFC 2617
// section 3.2.2.5): scheme, user, host and port, parameters aside.
func sameURI(digestURI string, ruri sipmsg.Uri) bool {
	if digestURI == ruri.String() {
		return true
	}
	var u sipmsg.Uri
	if err := sipmsg.ParseUri(digestURI, &u); err != nil {
		return false
	}
	return uriKey(u) == uriKey(ruri)
}

func uriKey(u sipmsg.Uri) string {
	scheme := strings.ToLower(u.Scheme)
	if scheme == "" {
		scheme = "sip"
	}
	return scheme + ":" + u.User + "@" + strings.ToLower(u.Host) + ":" + strconv.Itoa(u.Port)
}

// findCredentials returns the first Digest credentials for our realm; err is
// set when they are present but unusable.
func (d *digestAuth) findCredentials(req *sipmsg.Request, proxy bool) (map[string]string, bool, error) {
	name := "Authorization"
	if proxy {
		name = "Proxy-Authorization"
	}
	for _, h := range req.GetHeaders(name) {
		creds, err := parseDigestCredentials(h.Value())
		if err != nil && creds == nil {
			continue
		}
		if creds["realm"] != d.realm {
			continue
		}
		if err == nil {
			err = checkCredentialFields(creds)
		}
		return creds, true, err
	}
	return nil, false, nil
}

// checkCredentialFields refuses credentials we cannot evaluate.
func checkCredentialFields(c map[string]string) error {
	for _, k := range []string{"username", "nonce", "uri", "response"} {
		if c[k] == "" {
			return fmt.Errorf("%w: no %s", ErrBadCredentials, k)
		}
	}
	if alg := c["algorithm"]; alg != "" && !strings.EqualFold(alg, "MD5") {
		return fmt.Errorf("%w: algorithm %q", ErrUnsupportedQOP, alg)
	}
	switch c["qop"] {
	case "":
	case "auth":
		if c["nc"] == "" || c["cnonce"] == "" {
			return fmt.Errorf("%w: qop=auth without nc/cnonce", ErrBadCredentials)
		}
	default:
		return fmt.Errorf("%w: qop %q", ErrUnsupportedQOP, c["qop"])
	}
	return nil
}

// digestResponse computes the expected response per RFC 2617 section 3.2.2.1
// (qop=auth or no qop; algorithm MD5).
func digestResponse(c map[string]string, method, password string) string {
	ha1 := md5Hex(c["username"] + ":" + c["realm"] + ":" + password)
	ha2 := md5Hex(method + ":" + c["uri"])
	if c["qop"] == "auth" {
		return md5Hex(ha1 + ":" + c["nonce"] + ":" + c["nc"] + ":" + c["cnonce"] + ":auth:" + ha2)
	}
	return md5Hex(ha1 + ":" + c["nonce"] + ":" + ha2)
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s)) //nolint:gosec // required by the digest scheme
	return hex.EncodeToString(sum[:])
}

// parseDigestCredentials reads `Digest k=v, k="quoted", ...` into a map with
// lower-case keys. A map is returned with the error when the scheme is
// Digest but a later parameter is malformed, so the realm can still be seen.
func parseDigestCredentials(v string) (map[string]string, error) {
	v = strings.TrimSpace(v)
	scheme, rest, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Digest") {
		return nil, fmt.Errorf("%w: scheme %q", ErrBadCredentials, scheme)
	}
	out := make(map[string]string, 10)
	for rest = strings.TrimSpace(rest); rest != ""; {
		key, val, tail, err := nextDigestParam(rest)
		if err != nil {
			return out, err
		}
		out[strings.ToLower(key)] = val
		rest = tail
	}
	return out, nil
}

// nextDigestParam reads one `key=value` or `key="quoted"` and the separator.
func nextDigestParam(s string) (key, val, rest string, err error) {
	eq := strings.IndexByte(s, '=')
	if eq <= 0 {
		return "", "", "", fmt.Errorf("%w: %q", ErrBadCredentials, s)
	}
	key = strings.TrimSpace(s[:eq])
	s = strings.TrimLeft(s[eq+1:], " \t")
	if strings.HasPrefix(s, `"`) {
		val, s, err = readQuoted(s[1:])
		if err != nil {
			return "", "", "", err
		}
	} else {
		end := strings.IndexByte(s, ',')
		if end < 0 {
			end = len(s)
		}
		val, s = strings.TrimSpace(s[:end]), s[end:]
	}
	s = strings.TrimLeft(s, " \t")
	if s != "" && s[0] != ',' {
		return "", "", "", fmt.Errorf("%w: junk after %s", ErrBadCredentials, key)
	}
	return key, val, strings.TrimLeft(strings.TrimPrefix(s, ","), " \t"), nil
}

// readQuoted reads a quoted-string body (after the opening quote) with
// backslash escapes, returning the value and what follows the closing quote.
func readQuoted(s string) (string, string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 == len(s) {
				return "", "", fmt.Errorf("%w: dangling escape", ErrBadCredentials)
			}
			i++
			b.WriteByte(s[i])
		case '"':
			return b.String(), s[i+1:], nil
		default:
			b.WriteByte(c)
		}
	}
	return "", "", fmt.Errorf("%w: unterminated quote", ErrBadCredentials)
}

// sanitizeRealm keeps a configured realm from breaking the challenge header.
func sanitizeRealm(realm string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, realm)
}

// Verify checks req's digest credentials (Proxy-Authorization when proxy is
// set, else Authorization) against the configured passwords. It has no side
// effects; ext is the credentials' username whenever some were present.
func (r *Registrar) Verify(req *sipmsg.Request, proxy bool) (ext string, res AuthResult) {
	return r.auth.verify(req, proxy, false)
}

// Challenge answers req with 401 and WWW-Authenticate (or 407 and
// Proxy-Authenticate when proxy is set) carrying a fresh nonce for req's
// source; stale=true is added when req's nonce had expired, was issued to
// another address, or its count was used already.
func (r *Registrar) Challenge(req *sipmsg.Request, tx sipmsg.ServerTransaction, proxy bool) {
	_, res := r.auth.verify(req, proxy, false)
	r.challenge(req, tx, proxy, res == AuthStale || res == AuthReplay)
}

func (r *Registrar) challenge(req *sipmsg.Request, tx sipmsg.ServerTransaction, proxy, stale bool) {
	code, reason, name := sipmsg.StatusUnauthorized, "Unauthorized", "WWW-Authenticate"
	if proxy {
		code, reason, name = sipmsg.StatusProxyAuthRequired, "Proxy Authentication Required", "Proxy-Authenticate"
	}
	r.respond(req, tx, code, reason, sipmsg.NewHeader(name, r.auth.challengeValue(stale, requestSource(req).Addr())))
}

// Authenticate runs the whole digest exchange for req (REGISTER, or a seat's
// INVITE with proxy=true): it returns the authenticated extension, or answers
// req itself and returns false:
//   - no credentials: 401/407 challenge with a nonce bound to the source IP;
//   - a digest uri other than the Request-URI: 400 (RFC 2617 section
//     3.2.2.5), not counted as a failure;
//   - a nonce expired, not ours or issued to another address, or a nonce
//     count not above one already used (a replay): challenge with stale=true,
//     not counted (Kamailio's auth module does the same);
//   - while the extension or the source IP is locked: 403, right
//     credentials too;
//   - wrong password or unknown extension (answered alike): a failure for
//     the extension (across sources) and for the source IP (across
//     extensions); MaxAuthFailures of them in a row are challenged again,
//     the next one locks both for LockoutBase, doubling with each further
//     lockout up to LockoutMax, and gets 403.
func (r *Registrar) Authenticate(req *sipmsg.Request, tx sipmsg.ServerTransaction, proxy bool) (string, bool) {
	return r.authenticate(req, tx, proxy, "")
}

// authenticate is Authenticate; a non-empty wantUser must equal the
// credentials' username (the To user for REGISTER), else 403.
func (r *Registrar) authenticate(req *sipmsg.Request, tx sipmsg.ServerTransaction, proxy bool, wantUser string) (string, bool) {
	ext, res := r.auth.verify(req, proxy, true)
	src := clientAddr(req) // the seat's own address behind a proxy (path.go)
	log := r.log.With("method", req.Method, "ext", ext, "source", req.Source())
	switch {
	case res == AuthMissing:
		r.challenge(req, tx, proxy, false)
		return "", false
	case wantUser != "" && ext != wantUser:
		log.Warn("auth username differs from To user", "to", wantUser)
		r.respond(req, tx, sipmsg.StatusForbidden, "Forbidden")
		return "", false
	case res == AuthBadURI:
		log.Info("digest uri differs from the Request-URI", "request_uri", req.Recipient.String())
		r.respond(req, tx, sipmsg.StatusBadRequest, "Bad Request: digest uri")
		return "", false
	case res == AuthStale || res == AuthReplay:
		log.Debug("nonce refused", "result", res)
		r.challenge(req, tx, proxy, true)
		return "", false
	}
	if until := r.lockedUntil(ext, src); !until.IsZero() {
		log.Warn("auth refused while locked", "until", until)
		r.respond(req, tx, sipmsg.StatusForbidden, "Forbidden")
		return "", false
	}
	if res != AuthOK {
		// An unknown extension takes the same path as a wrong password, so
		// a scanner cannot tell the two apart.
		r.refuseBad(req, tx, proxy, ext, src, log)
		return "", false
	}
	r.clearFailures(ext, src)
	return ext, true
}

// refuseBad counts a failure and answers with a new challenge or, once
// that locks the extension or the source, 403.
func (r *Registrar) refuseBad(req *sipmsg.Request, tx sipmsg.ServerTransaction, proxy bool, ext string, src netip.Addr, log *slog.Logger) {
	n, locked := r.noteFailure(ext, src)
	if locked {
		log.Warn("auth failed too often: locked", "failures", n)
		r.respond(req, tx, sipmsg.StatusForbidden, "Forbidden")
		return
	}
	log.Info("auth failed", "failures", n)
	r.challenge(req, tx, proxy, false)
}
