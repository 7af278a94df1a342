package sip

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Errors describing a REGISTER we refuse with 400.
var (
	ErrBadRegister = errors.New("sip: malformed REGISTER")
)

// Registration is one seat's current binding.
type Registration struct {
	Extension string
	Contact   string         // the Contact URI as registered, e.g. "sip:1001@127.0.0.1:5070;transport=udp"
	Source    netip.AddrPort // where the REGISTER came from (seat INVITEs are recognised by it)
	Transport string         // "udp" | "tcp"
	NAT       bool           // the REGISTER's top Via named another address than Source (nat.go)
	Expires   time.Time
	UserAgent string
	// Path is the route back to the seat when it registered through a
	// proxy (RFC 3327): its entries, top first, joined by ", "; Target puts
	// it on the seat's INVITEs.
	Path string
}

// RegistrarConfig configures a Registrar. Zero durations and counts take the
// defaults named on each field.
type RegistrarConfig struct {
	Realm           string
	NonceTTL        time.Duration // default 5 min
	MinExpires      time.Duration // default 60 s
	MaxExpires      time.Duration // default 1 h
	DefaultExpires  time.Duration // default 1 h (clamped to [MinExpires, MaxExpires])
	MaxAuthFailures int           // wrong credentials get 401 this many times in a row, then 403; default 5
	AuthFailureTTL  time.Duration // a failure streak is forgotten after this long without failures; default LockoutBase
	LockoutBase     time.Duration // the first lockout; each further one doubles; default 15 min
	LockoutMax      time.Duration // the longest lockout; default 24 h
	// NonceSecret keys the nonce HMAC. Nodes sharing it accept each other's
	// nonces; nil means a random secret per Registrar.
	NonceSecret []byte
	Passwords   func(ext string) (string, bool)
	Logger      *slog.Logger
	Now         func() time.Time // nil = time.Now
	// Admit, when set, is asked about every REGISTER with a Contact before
	// its digest is checked: a non-nil error refuses it with 403 and nothing
	// is stored (seat networks, trunk addresses). src is where the REGISTER
	// came from; contactPort is 0 when the Contact names none. Called on the
	// handler's goroutine; must not block.
	Admit func(ext string, src netip.AddrPort, contactHost string, contactPort int) error
	// OnChange is called (not under the registrar's state lock, but
	// serialised) when a binding appears, changes contact/source/transport,
	// is removed or expires; not on a plain refresh. It must not block and
	// must not call HandleRegister.
	OnChange func(r Registration, registered bool)
}

func (c RegistrarConfig) withDefaults() RegistrarConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.NonceTTL, 5*time.Minute)
	def(&c.MinExpires, time.Minute)
	def(&c.MaxExpires, time.Hour)
	def(&c.DefaultExpires, time.Hour)
	def(&c.LockoutBase, 15*time.Minute)
	def(&c.AuthFailureTTL, c.LockoutBase)
	def(&c.LockoutMax, 24*time.Hour)
	c.MaxExpires = max(c.MaxExpires, c.MinExpires)
	c.DefaultExpires = min(max(c.DefaultExpires, c.MinExpires), c.MaxExpires)
	if c.MaxAuthFailures <= 0 {
		c.MaxAuthFailures = 5
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Passwords == nil {
		c.Passwords = func(string) (string, bool) { return "", false }
	}
	if len(c.NonceSecret) == 0 {
		c.NonceSecret = make([]byte, 32)
		_, _ = rand.Read(c.NonceSecret) // crypto/rand.Read never fails (Go ≥ 1.24)
	}
	c.Realm = sanitizeRealm(c.Realm)
	return c
}

// Registrar is the seats' registrar: it authenticates REGISTERs with digest,
// keeps one binding per extension and expires bindings on time. Several
// extensions may be bound from one source (the lines of one desk phone);
// a request from that source is told apart by the user it authenticates as.
//
// Lock order: notifyMu, then mu. notifyMu is held from a binding change until
// its OnChange returns, so observers see changes in the order they happened.
type Registrar struct {
	cfg  RegistrarConfig
	log  *slog.Logger
	auth digestAuth
	wake chan struct{}

	notifyMu sync.Mutex

	mu    sync.Mutex
	byExt map[string]Registration
	bySrc map[netip.AddrPort]int // how many bindings each source holds
	lock  *lockout
}

// NewRegistrar returns a Registrar; call Run to expire bindings on time.
func NewRegistrar(cfg RegistrarConfig) *Registrar {
	cfg = cfg.withDefaults()
	return &Registrar{
		cfg: cfg,
		log: cfg.Logger,
		auth: digestAuth{
			realm:     cfg.Realm,
			ttl:       cfg.NonceTTL,
			secret:    cfg.NonceSecret,
			now:       cfg.Now,
			passwords: cfg.Passwords,
			counts:    newNonceCounts(cfg.NonceTTL),
		},
		wake:  make(chan struct{}, 1),
		byExt: make(map[string]Registration),
		bySrc: make(map[netip.AddrPort]int),
		lock:  newLockout(cfg.MaxAuthFailures, cfg.AuthFailureTTL, cfg.LockoutBase, cfg.LockoutMax),
	}
}

// Lookup returns the live binding of ext.
func (r *Registrar) Lookup(ext string) (Registration, bool) {
	now := r.cfg.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	reg, ok := r.byExt[ext]
	if !ok || !now.Before(reg.Expires) {
		return Registration{}, false
	}
	return reg, true
}

// HasSource reports whether any live binding was registered from src
// (IPv4-mapped addresses are unmapped first). Several extensions may share
// a source: which one a request is from is for digest to say.
func (r *Registrar) HasSource(src netip.AddrPort) bool {
	src = unmapAddrPort(src)
	now := r.cfg.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bySrc[src] == 0 {
		return false
	}
	for _, reg := range r.byExt {
		if reg.Source == src && now.Before(reg.Expires) {
			return true
		}
	}
	return false
}

// List returns the live bindings sorted by extension.
func (r *Registrar) List() []Registration {
	now := r.cfg.Now()
	r.mu.Lock()
	out := make([]Registration, 0, len(r.byExt))
	for _, reg := range r.byExt {
		if now.Before(reg.Expires) {
			out = append(out, reg)
		}
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b Registration) int { return strings.Compare(a.Extension, b.Extension) })
	return out
}

// Count returns the number of live bindings.
func (r *Registrar) Count() int {
	now := r.cfg.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, reg := range r.byExt {
		if now.Before(reg.Expires) {
			n++
		}
	}
	return n
}

// Run expires bindings when they fall due, with one timer re-armed for the
// earliest expiry, until ctx is done.
func (r *Registrar) Run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		timer.Reset(r.sweep())
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-r.wake:
		}
	}
}

// poke makes Run recompute its deadline (a new binding may expire earlier).
func (r *Registrar) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// sweep removes due bindings and stale failure streaks, notifies, and
// returns how long Run may sleep.
func (r *Registrar) sweep() time.Duration {
	r.notifyMu.Lock()
	defer r.notifyMu.Unlock()
	now := r.cfg.Now()
	wait := r.cfg.AuthFailureTTL
	var gone []Registration
	r.mu.Lock()
	for ext, reg := range r.byExt {
		if left := reg.Expires.Sub(now); left > 0 {
			wait = min(wait, left)
			continue
		}
		gone = append(gone, reg)
		r.removeLocked(ext)
	}
	r.lock.sweep(now)
	r.mu.Unlock()
	r.auth.counts.sweep(now)
	for _, reg := range gone {
		r.log.Info("registration expired", "ext", reg.Extension, "contact", reg.Contact)
		r.notify(reg, false)
	}
	return wait
}

func (r *Registrar) notify(reg Registration, registered bool) {
	if r.cfg.OnChange != nil {
		r.cfg.OnChange(reg, registered)
	}
}

// removeLocked drops ext's binding and its source index entry.
func (r *Registrar) removeLocked(ext string) {
	reg, ok := r.byExt[ext]
	if !ok {
		return
	}
	delete(r.byExt, ext)
	if r.bySrc[reg.Source]--; r.bySrc[reg.Source] <= 0 {
		delete(r.bySrc, reg.Source)
	}
}

// store saves reg as ext's only binding and notifies unless it is a refresh.
func (r *Registrar) store(reg Registration) {
	r.notifyMu.Lock()
	defer r.notifyMu.Unlock()
	now := r.cfg.Now()
	r.mu.Lock()
	old, had := r.byExt[reg.Extension]
	refresh := had && now.Before(old.Expires) && sameBinding(old, reg)
	r.removeLocked(reg.Extension)
	r.byExt[reg.Extension] = reg
	r.bySrc[reg.Source]++
	r.mu.Unlock()
	r.poke()
	if refresh {
		r.log.Debug("registration refreshed", "ext", reg.Extension, "expires", reg.Expires)
		return
	}
	r.log.Info("registered", "ext", reg.Extension, "contact", reg.Contact, "source", reg.Source, "transport", reg.Transport, "path", reg.Path)
	r.notify(reg, true)
}

func sameBinding(a, b Registration) bool {
	return a.Contact == b.Contact && a.Source == b.Source && a.Transport == b.Transport && a.Path == b.Path
}

// unregister removes ext's binding if match accepts it; it returns the
// binding that remains, if any.
func (r *Registrar) unregister(ext string, match func(Registration) bool) (Registration, bool) {
	r.notifyMu.Lock()
	defer r.notifyMu.Unlock()
	now := r.cfg.Now()
	r.mu.Lock()
	reg, ok := r.byExt[ext]
	live := ok && now.Before(reg.Expires)
	if ok && (!live || match(reg)) {
		r.removeLocked(ext)
	}
	r.mu.Unlock()
	if !ok {
		return Registration{}, false
	}
	if live && !match(reg) {
		return reg, true
	}
	r.log.Info("unregistered", "ext", ext, "contact", reg.Contact)
	r.notify(reg, false)
	return Registration{}, false
}

// noteFailure counts one more bad attempt for ext from ip and returns the
// longer of the two streaks (the extension's across sources, the source
// IP's across extensions) and whether either is now locked.
func (r *Registrar) noteFailure(ext string, ip netip.Addr) (int, bool) {
	now := r.cfg.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lock.fail(now, failureKeys(ext, ip)...)
}

// lockedUntil returns when the lock on ext or ip ends; zero when neither
// is locked.
func (r *Registrar) lockedUntil(ext string, ip netip.Addr) time.Time {
	now := r.cfg.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lock.lockedUntil(now, failureKeys(ext, ip)...)
}

func (r *Registrar) clearFailures(ext string, ip netip.Addr) {
	r.mu.Lock()
	r.lock.clear(failureKeys(ext, ip)...)
	r.mu.Unlock()
}

func unmapAddrPort(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// requestSource is where req came from (the connection's remote address for
// requests read from the network); zero when it cannot be parsed.
func requestSource(req *sipmsg.Request) netip.AddrPort {
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return netip.AddrPort{}
	}
	return unmapAddrPort(ap)
}

func seconds(d time.Duration) string {
	return strconv.FormatInt(int64(d/time.Second), 10)
}

func badRegister(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadRegister}, args...)...)
}

// registerRequest is what a REGISTER asks for.
type registerRequest struct {
	ext     string
	contact *sipmsg.ContactHeader // nil for "Contact: *"
	expires int64                 // seconds asked for; -1 when not given
	ua      string
	path    []string // Path entries, top first (RFC 3327)
}

// parseRegister reads and checks a REGISTER's To, Contact and Expires.
func parseRegister(req *sipmsg.Request) (registerRequest, error) {
	to := req.To()
	if to == nil || to.Address.User == "" {
		return registerRequest{}, badRegister("no To user")
	}
	rr := registerRequest{ext: to.Address.User, expires: -1}
	if h := req.GetHeader("User-Agent"); h != nil {
		rr.ua = h.Value()
	}
	hdrExp, err := expiresHeader(req)
	if err != nil {
		return registerRequest{}, err
	}
	contacts, wildcard, err := registerContacts(req)
	if err != nil {
		return registerRequest{}, err
	}
	if wildcard {
		if len(contacts) != 1 || hdrExp != 0 {
			return registerRequest{}, badRegister("Contact: * needs Expires: 0 and no other contact")
		}
		rr.expires = 0
		return rr, nil
	}
	rr.contact = contacts[0]
	rr.expires = hdrExp
	rr.path = pathOf(req)
	if err := checkPath(rr.path); err != nil {
		return registerRequest{}, err
	}
	if v, ok := rr.contact.Params.Get("expires"); ok {
		if rr.expires, err = parseExpires(v); err != nil {
			return registerRequest{}, err
		}
	}
	return rr, nil
}

// registerContacts returns the Contact headers, refusing none and non-SIP URIs.
func registerContacts(req *sipmsg.Request) ([]*sipmsg.ContactHeader, bool, error) {
	hdrs := req.GetHeaders("Contact")
	if len(hdrs) == 0 {
		return nil, false, badRegister("no Contact")
	}
	out := make([]*sipmsg.ContactHeader, 0, len(hdrs))
	wildcard := false
	for _, h := range hdrs {
		c, ok := h.(*sipmsg.ContactHeader)
		if !ok {
			return nil, false, badRegister("unparsed Contact %q", h.Value())
		}
		if c.Address.Wildcard {
			wildcard = true
		} else if s := strings.ToLower(c.Address.Scheme); (s != "sip" && s != "sips" && s != "") || c.Address.Host == "" {
			return nil, false, badRegister("Contact %q is not a SIP URI", c.Value())
		}
		out = append(out, c)
	}
	return out, wildcard, nil
}

// expiresHeader returns the Expires header's seconds, or -1 when absent.
func expiresHeader(req *sipmsg.Request) (int64, error) {
	h := req.GetHeader("Expires")
	if h == nil {
		return -1, nil
	}
	return parseExpires(h.Value())
}

func parseExpires(v string) (int64, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
	if err != nil {
		return 0, badRegister("expires %q", v)
	}
	return int64(n), nil
}

// HandleRegister is the OnRegister handler: 400 for a malformed REGISTER,
// the digest challenge/403 flow, then register, refresh or unregister.
func (r *Registrar) HandleRegister(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	rr, err := parseRegister(req)
	if err != nil {
		r.log.Debug("bad REGISTER", "source", req.Source(), "err", err)
		r.respond(req, tx, sipmsg.StatusBadRequest, "Bad Request")
		return
	}
	if !r.admit(req, tx, rr) {
		return
	}
	if _, ok := r.authenticate(req, tx, false, rr.ext); !ok {
		return
	}
	if rr.expires == 0 {
		r.handleUnregister(req, tx, rr)
		return
	}
	exp := r.cfg.DefaultExpires
	if rr.expires > 0 {
		exp = time.Duration(rr.expires) * time.Second
	}
	if exp < r.cfg.MinExpires {
		r.respond(req, tx, sipmsg.StatusIntervalToBrief, "Interval Too Brief",
			sipmsg.NewHeader("Min-Expires", seconds(r.cfg.MinExpires)))
		return
	}
	exp = min(exp, r.cfg.MaxExpires)
	src := requestSource(req)
	contact := *rr.contact.Address.Clone()
	contact.Headers = nil // a seat pre-loads no route of its own (path.go)
	reg := Registration{
		Extension: rr.ext,
		Contact:   contact.String(),
		Source:    src,
		Transport: strings.ToLower(req.Transport()),
		NAT:       viaBehindNAT(req, src),
		Expires:   r.cfg.Now().Add(exp),
		UserAgent: rr.ua,
		Path:      strings.Join(rr.path, ", "),
	}
	r.store(reg)
	r.respondBinding(req, tx, rr.contact.Address, exp, rr.path...)
}

// admit asks Admit about the REGISTER's source and Contact before any
// digest exchange: the policy is configuration, not a secret, and a REGISTER
// from a carrier's address or pointing at one gets no nonce to work with.
func (r *Registrar) admit(req *sipmsg.Request, tx sipmsg.ServerTransaction, rr registerRequest) bool {
	if r.cfg.Admit == nil || rr.contact == nil {
		return true
	}
	src := requestSource(req)
	err := r.cfg.Admit(rr.ext, src, rr.contact.Address.Host, rr.contact.Address.Port)
	if err == nil && len(rr.path) > 0 {
		// the seat's calls go to the first Path hop: it is held to the
		// same seat networks as a Contact
		hop, _ := pathURI(rr.path[0])
		err = r.cfg.Admit(rr.ext, src, hop.Host, hop.Port)
	}
	if err != nil {
		r.log.Warn("REGISTER refused", "ext", rr.ext, "source", src, "contact", rr.contact.Address.String(), "path", rr.path, "err", err)
		r.respond(req, tx, sipmsg.StatusForbidden, "Forbidden")
		return false
	}
	return true
}

// handleUnregister removes the binding (all of it for "Contact: *", else
// only if the Contact names it) and answers 200 with what remains.
func (r *Registrar) handleUnregister(req *sipmsg.Request, tx sipmsg.ServerTransaction, rr registerRequest) {
	match := func(Registration) bool { return true }
	if rr.contact != nil {
		match = func(reg Registration) bool { return sameContact(reg.Contact, rr.contact.Address) }
	}
	left, ok := r.unregister(rr.ext, match)
	if !ok {
		r.respond(req, tx, sipmsg.StatusOK, "OK", r.dateHeader())
		return
	}
	var uri sipmsg.Uri
	if err := sipmsg.ParseUri(left.Contact, &uri); err != nil {
		r.respond(req, tx, sipmsg.StatusOK, "OK", r.dateHeader())
		return
	}
	r.respondBinding(req, tx, uri, left.Expires.Sub(r.cfg.Now()))
}

// sameContact compares a stored Contact URI with one from a request by
// scheme, user, host and port (RFC 3261 section 10.3 step 7, simplified).
func sameContact(stored string, u sipmsg.Uri) bool {
	var s sipmsg.Uri
	if err := sipmsg.ParseUri(stored, &s); err != nil {
		return false
	}
	return uriKey(s) == uriKey(u)
}

// respondBinding answers 200 with the binding's Contact;expires, Expires,
// Date and the Path stored with it (RFC 3327 section 5.3).
func (r *Registrar) respondBinding(req *sipmsg.Request, tx sipmsg.ServerTransaction, uri sipmsg.Uri, exp time.Duration, path ...string) {
	exp = max(exp, 0).Round(time.Second)
	contact := &sipmsg.ContactHeader{Address: *uri.Clone(), Params: sipmsg.NewParams()}
	contact.Params.Add("expires", seconds(exp))
	hdrs := []sipmsg.Header{contact, sipmsg.NewHeader("Expires", seconds(exp)), r.dateHeader()}
	if len(path) > 0 {
		hdrs = append(hdrs, sipmsg.NewHeader("Path", strings.Join(path, ", ")))
	}
	r.respond(req, tx, sipmsg.StatusOK, "OK", hdrs...)
}

func (r *Registrar) dateHeader() sipmsg.Header {
	return sipmsg.NewHeader("Date", r.cfg.Now().UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT"))
}

// respond sends a response built from req with extra headers.
func (r *Registrar) respond(req *sipmsg.Request, tx sipmsg.ServerTransaction, code int, reason string, hdrs ...sipmsg.Header) {
	res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		r.log.Debug("respond failed", "code", code, "method", req.Method, "err", err)
	}
}
