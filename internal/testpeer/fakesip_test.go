package testpeer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// fakeSIP is a tiny sipgo server (UDP and TCP on one port) standing in for the engine in self-tests: a
// digest registrar (401, then 200; wrong passwords get 401 twice, then 403)
// and an INVITE handler chosen by the test.
type fakeSIP struct {
	Port int
	Addr string

	users map[string]string

	mu       sync.Mutex
	bindings map[string]string // extension -> Contact URI (removed on Expires: 0)
	fails    map[string]int
	notify   chan struct{}
}

const fakeRealm = "hotline"

func startFakeSIP(t *testing.T, users map[string]string, onInvite sipgo.RequestHandler) *fakeSIP {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("fake-engine"),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(quiet)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(quiet)))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	conn, ln := listenUDPAndTCP(t)
	f := &fakeSIP{
		Port: conn.LocalAddr().(*net.UDPAddr).Port, users: users,
		bindings: map[string]string{}, fails: map[string]int{}, notify: make(chan struct{}),
	}
	f.Addr = fmt.Sprintf("127.0.0.1:%d", f.Port)
	srv.OnRegister(f.onRegister)
	if onInvite != nil {
		srv.OnInvite(onInvite)
	}
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) {})
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	})
	var served sync.WaitGroup
	served.Add(2)
	go func() {
		defer served.Done()
		_ = srv.ServeUDP(conn)
	}()
	go func() {
		defer served.Done()
		_ = srv.ServeTCP(ln)
	}()
	t.Cleanup(func() {
		_ = ua.Close()
		_ = conn.Close()
		_ = ln.Close()
		served.Wait()
	})
	return f
}

func (f *fakeSIP) changedLocked() {
	close(f.notify)
	f.notify = make(chan struct{})
}

// Binding returns the Contact registered for ext.
func (f *fakeSIP) Binding(ext string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.bindings[ext]
	return c, ok
}

func (f *fakeSIP) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	ext := req.From().Address.User
	h := req.GetHeader("Authorization")
	if h == nil {
		_ = tx.Respond(f.challenge(req))
		return
	}
	if !f.verify(req, h.Value(), ext) {
		f.mu.Lock()
		f.fails[ext]++
		n := f.fails[ext]
		f.mu.Unlock()
		if n >= 3 {
			_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil))
			return
		}
		_ = tx.Respond(f.challenge(req))
		return
	}
	f.bind(req, ext)
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	if c := req.Contact(); c != nil {
		res.AppendHeader(c.Clone())
	}
	_ = tx.Respond(res)
}

func (f *fakeSIP) bind(req *sip.Request, ext string) {
	expires := ""
	if h := req.GetHeader("Expires"); h != nil {
		expires = strings.TrimSpace(h.Value())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if expires == "0" {
		delete(f.bindings, ext)
	} else if c := req.Contact(); c != nil {
		f.bindings[ext] = c.Address.String()
	}
	f.changedLocked()
}

func (f *fakeSIP) challenge(req *sip.Request) *sip.Response {
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	chal := digest.Challenge{Realm: fakeRealm, Nonce: hex.EncodeToString(nonce), Algorithm: "MD5"}
	res := sip.NewResponseFromRequest(req, sip.StatusUnauthorized, "Unauthorized", nil)
	res.AppendHeader(sip.NewHeader("WWW-Authenticate", chal.String()))
	return res
}

func (f *fakeSIP) verify(req *sip.Request, auth, ext string) bool {
	cred, err := digest.ParseCredentials(auth)
	if err != nil || cred.Username != ext {
		return false
	}
	pw, ok := f.users[ext]
	if !ok {
		return false
	}
	chal := &digest.Challenge{Realm: cred.Realm, Nonce: cred.Nonce, Algorithm: cred.Algorithm, Opaque: cred.Opaque}
	if cred.QOP != "" {
		chal.QOP = []string{cred.QOP}
	}
	want, err := digest.Digest(chal, digest.Options{
		Method: req.Method.String(), URI: cred.URI, Username: ext, Password: pw,
		Cnonce: cred.Cnonce, Count: cred.Nc,
	})
	return err == nil && want.Response == cred.Response
}

// rejectWith answers every INVITE with 100 and then code.
func rejectWith(code int) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusTrying, "Trying", nil))
		_ = tx.Respond(sip.NewResponseFromRequest(req, code, "Test Reject", nil))
	}
}

// rejectNoCodec answers 488 unless the offer has PCMU or PCMA, else 486.
func rejectNoCodec(req *sip.Request, tx sip.ServerTransaction) {
	code, reason := sip.StatusBusyHere, "Busy Here"
	for _, line := range strings.Split(string(req.Body()), "\n") {
		if f, ok := strings.CutPrefix(strings.TrimSpace(line), "m=audio "); ok {
			pts := strings.Fields(f)[2:]
			if !containsAny(pts, "0", "8") {
				code, reason = 488, "Not Acceptable Here"
			}
		}
	}
	_ = tx.Respond(sip.NewResponseFromRequest(req, code, reason, nil))
}

func containsAny(list []string, want ...string) bool {
	for _, l := range list {
		for _, w := range want {
			if l == w {
				return true
			}
		}
	}
	return false
}

// ringForever answers 180 and waits until the transaction ends (a CANCEL
// makes sipgo's transaction layer answer 200 and 487 itself).
func ringForever(req *sip.Request, tx sip.ServerTransaction) {
	_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusRinging, "Ringing", nil))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	select {
	case <-tx.Done():
	case <-ctx.Done():
	}
}

// listenUDPAndTCP binds one loopback port for both UDP and TCP. The kernel's
// free UDP port may be taken for TCP by another test running in parallel:
// then it tries another.
func listenUDPAndTCP(t *testing.T) (net.PacketConn, net.Listener) {
	t.Helper()
	var lastErr error
	for range 20 {
		conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp4", conn.LocalAddr().String())
		if err == nil {
			return conn, ln
		}
		conn.Close()
		lastErr = err
	}
	t.Fatalf("no loopback port free for both UDP and TCP: %v", lastErr)
	return nil, nil
}
