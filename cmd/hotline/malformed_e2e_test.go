package main

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// TestMalformedCorpus: every file of testdata/sip (parseable-but-wrong
// requests of every method, Content-Length lies, 64 KiB messages, NUL
// bytes, duplicated headers, odd URIs, junk) is sent over UDP and over TCP
// to the real binary; each gets the answer its file expects (or none), and
// afterwards a carrier call is still bridged to a seat, the process is alive
// and hotline_panics_total is 0 or absent.
func TestMalformedCorpus(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1})
	seat := e.seat(t, 1001, testpeer.SeatOptions{})
	cases, err := testpeer.LoadSIPCorpus(repoDir(t) + "/testdata/sip")
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		for _, tr := range []string{"udp", "tcp"} {
			want := c.Expect
			if tr == "tcp" {
				want = c.ExpectTCP
			}
			got, probeOK, err := testpeer.CorpusReplyFrom(netip.MustParseAddr(carrierIP), tr, e.SIP, c, i, 5*time.Second)
			if err != nil {
				t.Fatalf("%s over %s: %v", c.Name, tr, err)
			}
			if !testpeer.Matches(want, got) {
				t.Errorf("%s over %s (%s): got %q, want %s", c.Name, tr, c.Why, got, want)
			}
			if tr == "udp" && !probeOK {
				t.Errorf("%s over udp: the OPTIONS probe after it got no 200", c.Name)
			}
		}
	}
	select {
	case <-e.done:
		t.Fatalf("engine exited during the corpus: %v\n%s", e.exit, e.log.tail(40))
	default:
	}
	p, _ := e.caller(t, "12345", "0", 8*time.Second)
	if _, err := seat.WaitEvent("CALL_ESTABLISHED", 30*time.Second); err != nil {
		t.Fatalf("seat never answered after the corpus: %v\n%s", err, e.log.tail(40))
	}
	if res := p.Wait(); res.ExitCode != 0 || res.Successful != 1 {
		t.Fatalf("sipp after the corpus: %s", res)
	}
	var answered bool
	for _, r := range e.waitRecords(1, 10*time.Second) {
		answered = answered || (r.Dialled == "12345" && r.Agent == "1001" && r.EndReason == "answered")
	}
	if !answered {
		t.Errorf("no answered record of the call after the corpus: %+v", e.records())
	}
	if n := panicsTotal(t, e); n != 0 {
		t.Errorf("hotline_panics_total = %d after the corpus\n%s", n, e.log.tail(40))
	}
}

var panicsRE = regexp.MustCompile(`(?m)^hotline_panics_total\{[^}]*\} (\d+)`)

// panicsTotal sums hotline_panics_total over components (0 when absent).
func panicsTotal(t *testing.T, e *engine) int {
	t.Helper()
	n := 0
	for _, m := range panicsRE.FindAllStringSubmatch(httpGet(t, "http://"+e.HTTP+"/metrics"), -1) {
		k, _ := strconv.Atoi(strings.TrimSpace(m[1]))
		n += k
	}
	return n
}
