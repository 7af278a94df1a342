package main

import (
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// TestLateOffer: an INVITE without SDP is answered with our offer (PCMA,
// PCMU, telephone-event: the scenario checks the 200) and the ACK's answer
// is used: the caller hears the greeting. A re-INVITE without SDP gets our
// offer again and its ACK's answer (PCMU now) switches the codec. An ACK
// without the answer ends the call with BYE and no_sdp_answer.
func TestLateOffer(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1})
	welcome := loadPCM(t, "welcome.wav")
	talk := time.Duration(len(welcome)/8)*time.Millisecond + time.Second

	t.Run("answer in the ACK", func(t *testing.T) {
		peer := testpeer.NewRTPPeer(t)
		p := testpeer.StartSipp(t, testpeer.SippOptions{
			LocalIP: carrierIP, Scenario: testpeer.ScenarioPath(t, "uac_late_offer.xml"),
			Target: e.target(), Service: "12345", Calls: 1, TraceMessages: true, Timeout: 2*talk + 30*time.Second,
			Vars: map[string]string{"media_port": strconv.Itoa(peer.Port()), "talk_ms": strconv.Itoa(int(talk.Milliseconds())),
				"codec": "8", "reanswer_codec": "0"},
		})
		// The caller's own audio keeps its RTP timeout away: A-law until
		// the re-INVITE, µ-law after.
		peer.SendTone(netip.AddrPort{}, 8, 1000, talk)
		peer.SendTone(netip.AddrPort{}, 0, 1000, talk+5*time.Second)
		if res := p.Wait(); res.ExitCode != 0 || res.Successful != 1 {
			t.Fatalf("sipp: %s\n%s", res, e.log.tail(30))
		}
		r := e.waitRecords(1, 10*time.Second)[0]
		if r.EndReason != "abandoned" || r.Codec != "PCMA" || r.HangupBy != "caller" {
			t.Errorf("record: %+v", r)
		}
		heard := peer.Received()
		if c := testpeer.BestCorrelation(heard[:min(len(heard), len(welcome)+8000)], welcome); c < 0.8 {
			t.Errorf("caller did not hear the welcome prompt: correlation %.2f", c)
		}
		if _, err := e.log.wait(`msg=re-INVITE .*leg=caller .*codec=PCMU`, 5*time.Second); err != nil {
			t.Errorf("the re-INVITE's answer was not applied: %v\n%s", err, e.log.tail(30))
		}
		pkts := peer.Packets()
		if last := pkts[len(pkts)-1]; last.PayloadType != 0 {
			t.Errorf("after the re-INVITE the engine sends PT %d, want 0 (PCMU)", last.PayloadType)
		}
	})
	t.Run("no answer in the ACK", func(t *testing.T) {
		res := testpeer.RunSipp(t, testpeer.SippOptions{
			LocalIP: carrierIP, Scenario: testpeer.ScenarioPath(t, "uac_late_offer.xml"),
			Target: e.target(), Service: "12345", Calls: 1, TraceMessages: true, Timeout: 30 * time.Second,
			Vars: map[string]string{"talk_ms": "20000", "ack_sdp": "0"},
		})
		if res.ExitCode != 0 || res.Successful != 1 {
			t.Fatalf("sipp (wants the engine's BYE): %s", res)
		}
		recs := e.waitRecords(2, 10*time.Second)
		if r := recs[len(recs)-1]; r.EndReason != "no_sdp_answer" {
			t.Errorf("record: %+v", r)
		}
	})
}
