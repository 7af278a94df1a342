package testpeer

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSeatRegisters(t *testing.T) {
	t.Parallel()
	f := startFakeSIP(t, map[string]string{"1001": "demo-1001"}, nil)
	s := StartSeat(t, SeatOptions{Extension: "1001", Password: "demo-1001", Registrar: f.Addr})
	if err := s.WaitRegistered(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	c, ok := f.Binding("1001")
	if !ok || !strings.Contains(c, "127.0.0.1:"+strconv.Itoa(s.SIPPort)) {
		t.Fatalf("binding %q, seat SIP port %d", c, s.SIPPort)
	}
}

func TestSeatRegistersOverTCP(t *testing.T) {
	t.Parallel()
	f := startFakeSIP(t, map[string]string{"1001": "demo-1001"}, nil)
	s := StartSeat(t, SeatOptions{Extension: "1001", Password: "demo-1001", Registrar: f.Addr, Transport: "tcp"})
	if err := s.WaitRegistered(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if c, _ := f.Binding("1001"); !strings.Contains(strings.ToLower(c), "transport=tcp") {
		t.Fatalf("binding %q is not a TCP contact", c)
	}
}

func TestSeatWrongPassword(t *testing.T) {
	t.Parallel()
	f := startFakeSIP(t, map[string]string{"1001": "demo-1001"}, nil)
	s := StartSeat(t, SeatOptions{Extension: "1001", Password: "nope", Registrar: f.Addr})
	err := s.WaitRegistered(5 * time.Second)
	if !errors.Is(err, ErrSeatRegister) {
		t.Fatalf("want ErrSeatRegister, got %v", err)
	}
}

// A SIPp carrier call to an auto-answering seat: the Go RTPPeer is the
// caller's media. The seat's sine reaches the caller; the caller's tone is in
// the seat's recording.
func TestSeatAnswersSippCallAndRecords(t *testing.T) {
	t.Parallel()
	s := StartSeat(t, SeatOptions{Extension: "1001", AutoAnswer: true, Record: true, SineHz: 1000})
	peer := NewRTPPeer(t)
	peer.SendTone(netip.AddrPort{}, PTPCMU, 440, 1500*time.Millisecond)
	r := RunSipp(t, SippOptions{
		Scenario: ScenarioPath(t, "uac_call.xml"), Target: "127.0.0.1:" + strconv.Itoa(s.SIPPort),
		Service: "1001", Calls: 1, Timeout: 10 * time.Second,
		Vars: map[string]string{"media_port": strconv.Itoa(peer.Port()), "hold_ms": "2000", "codecs": "0"},
	})
	requireSuccess(t, r, 1)
	// baresip 1.0 raises no CALL_INCOMING for a call it answers by itself.
	for _, kind := range []string{"CALL_ESTABLISHED", "CALL_CLOSED"} {
		if _, err := s.WaitEvent(kind, 3*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if err := peer.WaitSent(3 * time.Second); err != nil {
		t.Fatal(err)
	}
	if heard := peer.Received(); !HasTone(heard, 1000) {
		t.Fatalf("caller did not hear the seat's 1 kHz sine: level %.2f rms %.0f, %d samples",
			ToneLevel(heard, 1000), RMS(heard), len(heard))
	}
	if got := peer.Source().Addr(); got != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("seat RTP came from %v, not loopback", got)
	}
	rec := s.Recording()
	pcm, rate, err := ReadWAV(rec)
	if err != nil || rate != 8000 {
		t.Fatalf("recording %q: rate %d, err %v", rec, rate, err)
	}
	if !HasTone(pcm, 440) {
		t.Fatalf("seat did not record the caller's 440 Hz: level %.2f, %d samples", ToneLevel(pcm, 440), len(pcm))
	}
}

// Seat A calls seat B directly: manual accept, DTMF, hang-up events.
func TestSeatToSeatAcceptDTMFHangup(t *testing.T) {
	t.Parallel()
	a := StartSeat(t, SeatOptions{Extension: "1001"})
	b := StartSeat(t, SeatOptions{Extension: "1002", Codecs: []string{"pcma"}})
	if err := a.Dial(b.URI); err != nil {
		t.Fatal(err)
	}
	in, err := b.WaitEvent("CALL_INCOMING", 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(in.Raw["peeruri"].(string), "1001") {
		t.Fatalf("incoming from %v", in.Raw["peeruri"])
	}
	if err := b.Accept(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Seat{a, b} {
		if _, err := s.WaitEvent("CALL_ESTABLISHED", 3*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.SendDTMF("12#"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 3 {
		ev, err := b.WaitEvent("CALL_DTMF_START", 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.Param)
	}
	if strings.Join(got, "") != "12#" {
		t.Fatalf("digits %v", got)
	}
	if err := a.Hangup(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitEvent("CALL_CLOSED", 3*time.Second); err != nil {
		t.Fatal(err)
	}
}
