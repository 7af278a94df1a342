package main

import (
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// offerCaller starts a SIPp caller with uac_offer.xml (video, audio with
// telephone-event at tePT and a=ptime, a second audio line) whose first
// audio line goes to a Go RTP endpoint.
func (e *engine) offerCaller(t *testing.T, number string, tePT uint8, ptime int, hold time.Duration) (*testpeer.SippProc, *testpeer.RTPPeer) {
	t.Helper()
	peer := testpeer.NewRTPPeer(t)
	p := testpeer.StartSipp(t, testpeer.SippOptions{
		LocalIP:  carrierIP,
		Scenario: testpeer.ScenarioPath(t, "uac_offer.xml"),
		Target:   e.target(), Service: number, Calls: 1,
		Vars: map[string]string{
			"media_port": strconv.Itoa(peer.Port()),
			"hold_ms":    strconv.Itoa(int(hold.Milliseconds())),
			"codecs":     "8 0",
			"te_pt":      strconv.Itoa(int(tePT)),
			"ptime":      strconv.Itoa(ptime),
		},
		TraceMessages: true,
		Timeout:       hold + 30*time.Second,
	})
	return p, peer
}

var answerSDPRE = regexp.MustCompile(`(?s)SIP/2\.0 200 OK\r?\n.*?CSeq: 1 INVITE.*?\r?\n\r?\n(v=0.*?)(?:\n-{10,}|\z)`)

// answerSDP is the SDP of the 200 OK to the initial INVITE in a SIPp
// message trace, one line per element ("" when there is none).
func answerSDP(messages string) []string {
	m := answerSDPRE.FindStringSubmatch(messages)
	if m == nil {
		return nil
	}
	var lines []string
	for _, l := range strings.Split(m[1], "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// mLines are the m= lines of an SDP, ports of accepted streams as "N".
func mLines(sdp []string) []string {
	var out []string
	for _, l := range sdp {
		if f := strings.Fields(l); strings.HasPrefix(l, "m=") && len(f) > 1 {
			if f[1] != "0" {
				f[1] = "N"
			}
			out = append(out, strings.Join(f, " "))
		}
	}
	return out
}

// TestOfferSeveralLines: a caller offering video, audio (PCMA, PCMU,
// telephone-event at 96, a=ptime:30 and a=maxptime) and a second audio
// line is answered with the same three m= lines in order, only the first
// audio accepted (PCMA and the caller's 96), with a=ptime:20 (we send 20 ms
// frames); bridged to a seat, audio flows both ways.
func TestOfferSeveralLines(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1})
	seat := e.seat(t, 1001, testpeer.SeatOptions{Codecs: []string{"pcmu"}, SineHz: 440, Record: true})
	hold := 12 * time.Second
	p, peer := e.offerCaller(t, "12345", 96, 30, hold)
	peer.SendTone(netip.AddrPort{}, 8, 1000, hold)
	if _, err := seat.WaitEvent("CALL_ESTABLISHED", hold); err != nil {
		t.Fatalf("seat never answered: %v\n%s", err, e.log.tail(40))
	}
	res := p.Wait()
	if res.ExitCode != 0 || res.Successful != 1 {
		t.Fatalf("sipp: %s", res)
	}
	sdp := answerSDP(res.Messages)
	want := []string{"m=video 0 RTP/AVP 96 97", "m=audio N RTP/AVP 8 96", "m=audio 0 RTP/AVP 0"}
	if got := mLines(sdp); !slices.Equal(got, want) {
		t.Fatalf("answer m= lines %q, want %q\n%s", got, want, strings.Join(sdp, "\n"))
	}
	for _, l := range []string{"a=rtpmap:96 telephone-event/8000", "a=ptime:20"} {
		if !slices.Contains(sdp, l) {
			t.Errorf("answer lacks %q:\n%s", l, strings.Join(sdp, "\n"))
		}
	}
	if r := e.waitRecords(1, 10*time.Second)[0]; r.EndReason != "answered" || r.Agent != "1001" || r.Codec != "PCMA" {
		t.Errorf("record: %+v", r)
	}
	heard := peer.Received()
	if s := toneShare(heard[max(0, len(heard)-16000):], 440); s < 0.5 {
		t.Errorf("caller did not hear the seat's 440 Hz tone (share %.2f)", s)
	}
	if rec := seatRecording(t, seat); toneShare(rec[max(0, len(rec)-16000):], 1000) < 0.3 {
		t.Errorf("seat did not hear the caller's 1 kHz tone (share %.2f)", toneShare(rec[max(0, len(rec)-16000):], 1000))
	}
}

// TestOfferDTMFPayloadType: telephone-event/8000 at a payload type other
// than 101 (96, 127) is answered with the caller's own payload type, and a
// key pressed with it during the greeting is the IVR's shortcut.
func TestOfferDTMFPayloadType(t *testing.T) {
	t.Parallel()
	e := startDemo(t, demoOpts{})
	for i, pt := range []uint8{96, 127} {
		p, peer := e.offerCaller(t, "12345", pt, 20, 6*time.Second)
		if _, err := e.log.waitCount(`msg=ivr .*path=\S*greeting `, i+1, 20*time.Second); err != nil {
			t.Fatalf("IVR never reached the greeting: %v\n%s", err, e.log.tail(30))
		}
		peer.SendDTMF(netip.AddrPort{}, pt, '2')
		res := p.Wait()
		if res.ExitCode != 0 {
			t.Fatalf("sipp: %s", res)
		}
		sdp := answerSDP(res.Messages)
		ptText := strconv.Itoa(int(pt))
		if ml := mLines(sdp); len(ml) != 3 || ml[1] != "m=audio N RTP/AVP 8 "+ptText || !slices.Contains(sdp, "a=rtpmap:"+ptText+" telephone-event/8000") {
			t.Errorf("PT %d: answer\n%s", pt, strings.Join(sdp, "\n"))
		}
		r := e.waitRecords(i+1, 10*time.Second)[i]
		if !slices.Contains(r.DTMF, "2") || !slices.Contains(r.IVRPath, "complaint") {
			t.Errorf("PT %d: key 2 not taken: dtmf %v path %v", pt, r.DTMF, r.IVRPath)
		}
	}
}

// TestOfferIPv6Media: an offer whose media is on IPv6 (c=IN IP6) to an
// engine whose RTP address is IPv4 is refused 488 before any answer, with
// end_reason media_address_family in the record; the engine takes the
// next call.
func TestOfferIPv6Media(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1})
	res := testpeer.RunSipp(t, testpeer.SippOptions{
		LocalIP: carrierIP, Scenario: testpeer.ScenarioPath(t, "uac_offer_ip6.xml"), Target: e.target(),
		Service: "12345", Calls: 1, TraceMessages: true, Timeout: 15 * time.Second,
	})
	if codes := res.FinalCodes(); len(codes) != 1 || codes[0] != 488 {
		t.Fatalf("want 488, got %v\n%s", codes, res)
	}
	if r := e.waitRecords(1, 10*time.Second)[0]; r.EndReason != "media_address_family" {
		t.Errorf("record: %+v", r)
	}
	p, peer := e.offerCaller(t, "12345", 101, 20, 3*time.Second)
	if err := peer.WaitPackets(25, 10*time.Second); err != nil {
		t.Errorf("the next caller got no RTP: %v", err)
	}
	if res := p.Wait(); res.ExitCode != 0 {
		t.Fatalf("sipp: %s", res)
	}
}
