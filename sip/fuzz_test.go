package sip

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// rejecter is a Handler that turns every call away with 404, as the engine
// does for a number it does not serve.
type rejecter struct{}

func (rejecter) HandleInvite(leg *InboundLeg) { go func() { _ = leg.Reject(404, "Not Found") }() }

// startEdge runs a real Server on 127.0.0.1 (UDP and TCP on one free port)
// whose trunk ACL is 127.0.0.1, until the test ends; h nil is rejecter.
func startEdge(t testing.TB, lim Limits, h Handler) (*Server, netip.AddrPort) {
	t.Helper()
	if h == nil {
		h = rejecter{}
	}
	s, err := NewServer(Config{
		Address:    netip.MustParseAddrPort("127.0.0.1:0"),
		Transports: []string{"udp", "tcp"},
		Trunks: func(ip netip.Addr) (string, bool) {
			return "carrier", ip == netip.MustParseAddr("127.0.0.1")
		},
		Handler: h, Limits: lim,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = s.Serve(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return s, s.BoundAddr("udp")
}

func loadCorpus(t testing.TB) []testpeer.CorpusCase {
	t.Helper()
	cases, err := testpeer.LoadSIPCorpus(filepath.Join("..", "testdata", "sip"))
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

// TestCorpus sends every file of testdata/sip over UDP and over TCP to a
// real Server: each gets the answer its file expects, and an OPTIONS probe
// sent after it still gets 200.
func TestCorpus(t *testing.T) {
	_, addr := startEdge(t, Limits{}, nil)
	for i, c := range loadCorpus(t) {
		for _, tr := range []string{"udp", "tcp"} {
			want := c.Expect
			if tr == "tcp" {
				want = c.ExpectTCP
			}
			got, probeOK, err := testpeer.CorpusReply(tr, addr, c, i, 2*time.Second)
			if err != nil {
				t.Fatalf("%s over %s: %v", c.Name, tr, err)
			}
			if !testpeer.Matches(want, got) {
				t.Errorf("%s over %s (%s): got %q, want %s", c.Name, tr, c.Why, got, want)
			}
			if !probeOK && tr == "udp" {
				t.Errorf("%s over %s: the OPTIONS probe after it got no 200", c.Name, tr)
			}
		}
	}
}

// FuzzServer feeds arbitrary bytes to a real Server as UDP datagrams and
// asserts it survives them: an OPTIONS sent after each still gets 200. The
// probeWait is how long FuzzServer waits for the OPTIONS answer after each
// input: long, since a fuzz campaign shares a loaded machine (a stall of
// several seconds there is the machine, not the server); only a server
// that no longer answers at all takes this long.
const probeWait = 30 * time.Second

// seeds are the files of testdata/sip.
func FuzzServer(f *testing.F) {
	for _, c := range loadCorpus(f) {
		f.Add(c.Raw)
	}
	_, addr := startEdge(f, Limits{}, nil)
	conn, err := net.Dial("udp", addr.String())
	if err != nil {
		f.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 65535)
	n := 0
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 65000 {
			data = data[:65000]
		}
		if _, err := conn.Write(data); err != nil {
			t.Fatal(err)
		}
		n++
		id := fmt.Sprintf("fuzz-probe-%d", n)
		if _, err := conn.Write(testpeer.OptionsProbe("udp", addr, conn.LocalAddr().String(), id)); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(probeWait))
		for {
			k, err := conn.Read(buf)
			if err != nil {
				t.Fatalf("server no longer answers OPTIONS after %q: %v", data, err)
			}
			if r := string(buf[:k]); strings.Contains(r, "Call-ID: "+id) {
				if !strings.HasPrefix(r, "SIP/2.0 200 ") {
					t.Fatalf("OPTIONS after %q: %q", data, r)
				}
				return
			}
		}
	})
}
