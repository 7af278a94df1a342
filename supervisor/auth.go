package supervisor

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// requireToken wraps a handler: the request needs "Authorization: Bearer
// TOKEN" (RFC 6750 section 2.1) with the admin token, or with the read token
// where readOnly, else 401 with a WWW-Authenticate challenge (section 3). An
// empty configured token matches nothing.
func (s *Server) requireToken(h http.Handler, readOnly bool) http.Handler {
	admin := sha256.Sum256([]byte(s.cfg.Token))
	read := sha256.Sum256([]byte(s.cfg.ReadToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		ok := s.cfg.Token != "" && tokenMatches(auth, admin)
		if !ok && readOnly && s.cfg.ReadToken != "" {
			ok = tokenMatches(auth, read)
		}
		if !ok {
			s.logger.Warn("supervisor: unauthorised request", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", `Bearer realm="hotline"`)
			writeJSONError(w, http.StatusUnauthorized, "bearer token required")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// tokenMatches compares the presented bearer token with the wanted one in
// constant time; hashing both first hides the token's length too.
func tokenMatches(header string, want [sha256.Size]byte) bool {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}
