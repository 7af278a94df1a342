package main

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// TestFastPathBridge: a caller (SIPp + a Go RTP phone, 1 kHz) bridged to
// seat 1001 (SIPp + a Go RTP phone, 600 Hz). With the kernel fast path
// (rtp.fast_path auto, where the kernel allows it; HOTLINE_FAST_PATH=off
// runs the same test in user space) both legs go to the kernel once the
// bridge carries audio, and: each side hears the other; each phone
// receives one continuous stream (one SSRC, consecutive sequence numbers,
// timestamps one frame apart but at a marked switch) from the greeting
// through the move to the kernel and back; a stranger's packets to the
// caller leg's port reach nobody; a supervisor's monitoring takes the legs
// out of the kernel, and they return when it ends; the seat going silent
// ends the call on the RTP timeout.
func TestFastPathBridge(t *testing.T) {
	t.Parallel()
	const hold = 60 * time.Second
	agent, agentSIP := rtpParty(t, 1)
	sup, supSIP := rtpParty(t, 1)
	e := startEngine(t, centreOpts{Seats: 1, RTPTimeout: "3s",
		Extra: `  - {extension: "1002", password: demo-1002, skills: [general], role: supervisor}
`})
	_, peer := callerTalking(t, e, hold, agent, agentSIP)
	agent.SendTone(netip.AddrPort{}, 0, 600, hold)
	kernel := metricValue(t, e, "hotline_rtp_kernel_path") == 1
	t.Logf("relay path: kernel=%v", kernel)
	legsIn := func(what string, n float64) {
		t.Helper()
		if kernel {
			waitUntil(t, what, 10*time.Second, func() bool { return metricValue(t, e, "hotline_rtp_kernel_legs") == n })
		}
	}
	legsIn("both legs in the kernel", 2)
	hears(t, "seat", agent, []float64{1000}, nil)
	hears(t, "caller", peer, []float64{600}, nil)
	if k := metricValue(t, e, "hotline_rtp_packets_relayed_kernel_total"); kernel && k < 50 {
		t.Errorf("the kernel relayed %v packets", k)
	}

	// A stranger at the caller's IP sends 3 kHz to the caller leg's port.
	stranger := testpeer.NewRTPPeer(t)
	stranger.SendTone(peer.Source(), 0, 3000, 2*time.Second)
	hears(t, "seat (stranger sending)", agent, []float64{1000}, []float64{3000})
	if err := stranger.WaitSent(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if n := metricValue(t, e, `hotline_rtp_packets_dropped_total{reason="source"}`); n < 50 {
		t.Errorf("%v packets dropped for their source, want the stranger's 100", n)
	}

	// Monitoring: mixing is user space's; back to the kernel after it.
	registerSeatRange(t, e, 1002, 1, supSIP.Addr, 200, 50)
	var calls []struct{ ID string }
	apiGet(t, e, "calls", &calls)
	path := "/api/v1/calls/" + calls[0].ID + "/monitor"
	if code := apiStatus(t, e, "POST", path, `{"supervisor": "1002", "mode": "listen"}`, testToken); code != 200 {
		t.Fatalf("monitor: %d", code)
	}
	legsIn("the legs out of the kernel while monitored", 0)
	if err := sup.WaitPackets(5, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	sup.SendTone(netip.AddrPort{}, 0, 2000, hold)
	hears(t, "supervisor", sup, []float64{1000, 600}, nil)
	if code := apiStatus(t, e, "DELETE", path, "", testToken); code != 200 {
		t.Fatalf("stop monitoring: %d", code)
	}
	legsIn("the legs back in the kernel", 2)
	hears(t, "seat (after monitoring)", agent, []float64{1000}, []float64{2000})
	hears(t, "caller (after monitoring)", peer, []float64{600}, []float64{2000})

	continuous(t, "seat", agent.Packets())
	continuous(t, "caller", peer.Packets())

	// The seat's phone goes silent: the RTP timeout (3 s) ends the call,
	// counted from the kernel's last packet.
	silent := time.Now()
	agent.Close()
	r := e.waitRecords(1, 15*time.Second)[0]
	if r.EndReason != "rtp_timeout" {
		t.Errorf("end_reason %q, want rtp_timeout", r.EndReason)
	}
	if d := time.Since(silent); d < 2500*time.Millisecond {
		t.Errorf("the call ended %v after the seat went silent, before the 3 s timeout", d)
	}
	if kernel {
		legsIn("no leg left in the kernel", 0)
	}
}

// continuous checks that hs is one RTP stream: one SSRC, each sequence
// number the last plus one, each timestamp at least a frame on (exactly
// one frame, unless the packet is marked: a switch of source).
func continuous(t *testing.T, who string, hs []rtp.Header) {
	t.Helper()
	if len(hs) < 100 {
		t.Fatalf("%s received %d packets", who, len(hs))
	}
	bad := 0
	for i := 1; i < len(hs); i++ {
		p, h := hs[i-1], hs[i]
		d := h.Timestamp - p.Timestamp
		if h.SSRC != p.SSRC || h.SequenceNumber != p.SequenceNumber+1 || int32(d) < 160 || (!h.Marker && d != 160) {
			if bad++; bad <= 5 {
				t.Errorf("%s packet %d of %d: ssrc %#x seq %d ts %d marker %v after ssrc %#x seq %d ts %d",
					who, i, len(hs), h.SSRC, h.SequenceNumber, h.Timestamp, h.Marker, p.SSRC, p.SequenceNumber, p.Timestamp)
			}
		}
	}
	t.Logf("%s: %d packets, %d breaks in the stream", who, len(hs), bad)
}
