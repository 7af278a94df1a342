package main

import (
	"fmt"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// TestSeatToSeat: a seat calls another seat by extension through the B2BUA;
// the callee's ringing reaches the caller (180), audio flows both ways with
// each leg on its own codec (transcoded), and the caller's BYE ends both legs.
func TestSeatToSeat(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 3})
	a := e.seat(t, 1001, testpeer.SeatOptions{Codecs: []string{"pcma"}, SineHz: 440, Record: true})
	b := e.seat(t, 1002, testpeer.SeatOptions{Codecs: []string{"pcmu"}, SineHz: 880, Record: true})
	if err := a.Dial(fmt.Sprintf("sip:1002@%s", e.target())); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*testpeer.Seat{a, b} {
		if _, err := s.WaitEvent("CALL_ESTABLISHED", 10*time.Second); err != nil {
			t.Fatalf("seat %s: %v\n%s", s.Extension, err, e.log.tail(40))
		}
	}
	// Let audio flow, measured by the engine's relay counter rather than time.
	waitRelayed(t, e, 200)
	if err := a.Hangup(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitEvent("CALL_CLOSED", 10*time.Second); err != nil {
		t.Fatalf("callee not hung up: %v", err)
	}
	r := e.waitRecords(1, 10*time.Second)[0]
	if r.LineMode != "internal" || r.EndReason != "answered" || r.Agent != "1002" || r.HangupBy != "caller" {
		t.Errorf("record: %+v", r)
	}
	a.Stop()
	b.Stop()
	for _, c := range []struct {
		s  *testpeer.Seat
		hz float64
	}{{a, 880}, {b, 440}} {
		pcm, _, err := testpeer.ReadWAV(c.s.Recording())
		if err != nil {
			t.Fatal(err)
		}
		if !testpeer.HasTone(pcm, c.hz) {
			t.Errorf("seat %s did not hear %v Hz (level %.3f)", c.s.Extension, c.hz, testpeer.ToneLevel(pcm, c.hz))
		}
	}
}

// TestSeatCallCancelled: the caller hangs up while the callee's phone rings:
// CANCEL on the caller's leg becomes CANCEL on the callee's leg (487 on both),
// and the call is recorded as abandoned.
func TestSeatCallCancelled(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 2})
	a := e.seat(t, 1001, testpeer.SeatOptions{})
	b := testpeer.StartSeat(t, testpeer.SeatOptions{Extension: "1002", Password: "demo-1002", Registrar: e.target()})
	if err := b.WaitRegistered(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := e.log.wait(`msg=registration seat=1002 registered=true`, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := a.Dial(fmt.Sprintf("sip:1002@%s", e.target())); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitEvent("CALL_INCOMING", 10*time.Second); err != nil {
		t.Fatalf("callee never rang: %v\n%s", err, e.log.tail(30))
	}
	if _, err := a.WaitEvent("CALL_RINGING", 5*time.Second); err != nil {
		t.Fatalf("caller never heard ringing (180 not relayed): %v", err)
	}
	if err := a.Hangup(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitEvent("CALL_CLOSED", 10*time.Second); err != nil {
		t.Fatalf("callee still ringing after CANCEL: %v", err)
	}
	r := e.waitRecords(1, 10*time.Second)[0]
	if r.EndReason != "abandoned" || r.AnsweredAt != nil {
		t.Errorf("record: end_reason %q answered_at %v", r.EndReason, r.AnsweredAt)
	}
}

// waitRelayed waits until the engine has relayed n RTP packets (read from
// /metrics), which proves media flowed without sleeping for it.
func waitRelayed(t *testing.T, e *engine, n int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		v := metricValue(t, e, "hotline_rtp_packets_relayed_total")
		if v >= float64(n) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %v RTP packets relayed", v)
		}
		// The log is the engine's event stream; a metric has no event to wait
		// on, so poll it at the packet interval.
		time.Sleep(20 * time.Millisecond)
	}
}

// metricValue reads one unlabelled sample from /metrics.
func metricValue(t *testing.T, e *engine, name string) float64 {
	t.Helper()
	body := httpGet(t, "http://"+e.HTTP+"/metrics")
	for _, line := range splitLines(body) {
		var v float64
		if len(line) > len(name)+1 && line[:len(name)+1] == name+" " {
			v, _ = strconv.ParseFloat(line[len(name)+1:], 64)
			return v
		}
	}
	return 0
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// TestHold: the caller puts the agent on hold with a re-INVITE (sendonly),
// which is answered recvonly, and the agent hears the music on hold; the
// caller resumes (sendrecv) and the call goes on to a normal end.
func TestHold(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1})
	seat := e.seat(t, 1001, testpeer.SeatOptions{Codecs: []string{"pcmu"}, Record: true})
	peer := testpeer.NewRTPPeer(t)
	talk := time.Duration(len(loadPCM(t, "welcome.wav"))/8)*time.Millisecond + 3*time.Second
	p := testpeer.StartSipp(t, testpeer.SippOptions{
		LocalIP:  carrierIP,
		Scenario: testpeer.ScenarioPath(t, "uac_hold.xml"), Target: e.target(), Service: "12345", Calls: 1,
		Vars: map[string]string{
			"media_port": strconv.Itoa(peer.Port()),
			"talk_ms":    strconv.Itoa(int(talk.Milliseconds())),
			"hold_ms":    "5000",
		},
		Timeout: 2*talk + 30*time.Second,
	})
	peer.SendTone(netip.AddrPort{}, 0, 1000, 2*talk+5*time.Second)
	if res := p.Wait(); res.ExitCode != 0 || res.Successful != 1 {
		t.Fatalf("sipp: %s\n%s", res, e.log.tail(30))
	}
	if _, err := e.log.wait(`msg=re-INVITE .*hold=true`, time.Second); err != nil {
		t.Errorf("engine did not log the hold: %v", err)
	}
	r := e.waitRecords(1, 10*time.Second)[0]
	if r.EndReason != "answered" || r.Agent != "1001" {
		t.Errorf("record: %+v", r)
	}
	if _, err := seat.WaitEvent("CALL_CLOSED", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	seat.Stop()
	heard, _, err := testpeer.ReadWAV(seat.Recording())
	if err != nil {
		t.Fatal(err)
	}
	music := loadPCM(t, "hold.wav")[:3*8000]
	if c := testpeer.BestCorrelation(heard, music); c < 0.6 {
		t.Errorf("seat did not hear the music on hold: correlation %.2f", c)
	}
	if !testpeer.HasTone(heard[len(heard)-8000:], 1000) {
		t.Errorf("seat did not hear the caller again after the resume")
	}
}

// TestInternalCallKeepsSeatsBusy: two seats on a call with each other are
// not offered a queue call (the caller waits, hearing music); when they hang
// up, the waiting caller is offered to one of them at once. A seat on a
// queue call is busy to an internal caller (486).
func TestInternalCallKeepsSeatsBusy(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 3, RTPTimeout: "60s"})
	a := e.seat(t, 1001, testpeer.SeatOptions{})
	b := e.seat(t, 1002, testpeer.SeatOptions{})
	if err := a.Dial(fmt.Sprintf("sip:1002@%s", e.target())); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*testpeer.Seat{a, b} {
		if _, err := s.WaitEvent("CALL_ESTABLISHED", 10*time.Second); err != nil {
			t.Fatalf("seat %s: %v\n%s", s.Extension, err, e.log.tail(40))
		}
	}
	caller, peer := e.caller(t, "12345", "0", 60*time.Second)
	waitEvents(t, e, "call.ivr", 1, 15*time.Second)
	// The caller waits a second (50 packets of music) before the seats
	// hang up: a seat offered meanwhile would have cut the wait short.
	if err := peer.WaitPackets(len(peer.Packets())+50, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := a.Hangup(); err != nil {
		t.Fatal(err)
	}
	m, err := e.log.wait(`msg="ringing seat" .*dialled=12345 seat=(100[12])`, 15*time.Second)
	if err != nil {
		t.Fatalf("the waiting caller was not offered a freed seat: %v\n%s", err, e.log.tail(30))
	}
	agent := map[string]*testpeer.Seat{"1001": a, "1002": b}[m[1]]
	if _, err := agent.WaitEvent("CALL_ESTABLISHED", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	// The other seat calls the one on the queue call: busy.
	other := map[string]*testpeer.Seat{"1001": b, "1002": a}[m[1]]
	if err := other.Dial(fmt.Sprintf("sip:%s@%s", m[1], e.target())); err != nil {
		t.Fatal(err)
	}
	if _, err := other.WaitEvent("CALL_CLOSED", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := agent.Hangup(); err != nil {
		t.Fatal(err)
	}
	if res := caller.Wait(); res.ExitCode != 0 {
		t.Fatalf("caller: %s", res)
	}
	var queued, busy int
	for _, r := range e.waitRecords(3, 10*time.Second) {
		switch {
		case r.Dialled == "12345":
			queued++
			if r.Agent != m[1] || r.EndReason != "answered" || r.OfferedAt == nil || r.QueuedAt == nil ||
				r.OfferedAt.Std().Sub(r.QueuedAt.Std()) < time.Second {
				t.Errorf("queued call offered before the internal call ended: %+v", r)
			}
		case r.EndReason == "busy":
			busy++
		}
	}
	if queued != 1 || busy != 1 {
		t.Errorf("records: %d queued calls, %d busy internal calls", queued, busy)
	}
}
