package main

import (
	"net/netip"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// seat starts a baresip seat registered to the engine, answering calls by
// itself, and waits for the registration to land in the engine.
func (e *engine) seat(t *testing.T, ext int, o testpeer.SeatOptions) *testpeer.Seat {
	t.Helper()
	o.AutoAnswer = true
	return e.phone(t, ext, o)
}

// phone is seat with o.AutoAnswer as given (false: calls ring until the
// test accepts them).
func (e *engine) phone(t *testing.T, ext int, o testpeer.SeatOptions) *testpeer.Seat {
	t.Helper()
	o.Extension = strconv.Itoa(ext)
	o.Password = "demo-" + o.Extension
	o.Registrar = e.target()
	s := testpeer.StartSeat(t, o)
	if err := s.WaitRegistered(10 * time.Second); err != nil {
		t.Fatalf("seat %d: %v\n%s", ext, err, s.Log())
	}
	if _, err := e.log.wait(`msg=registration seat=`+o.Extension+` registered=true`, 5*time.Second); err != nil {
		t.Fatalf("engine did not log seat %d's registration: %v", ext, err)
	}
	return s
}

// caller starts a SIPp carrier call to number whose media goes to (and comes
// from) a Go RTP endpoint; it hangs up after hold.
func (e *engine) caller(t *testing.T, number string, codecs string, hold time.Duration) (*testpeer.SippProc, *testpeer.RTPPeer) {
	t.Helper()
	return e.callerOver(t, "", number, codecs, hold)
}

// callerOver is caller over a given transport ("" or "udp", "tcp").
func (e *engine) callerOver(t *testing.T, transport, number string, codecs string, hold time.Duration) (*testpeer.SippProc, *testpeer.RTPPeer) {
	t.Helper()
	return e.callerFrom(t, transport, "", number, codecs, hold)
}

// callerFrom is callerOver from a given From user (the caller's number;
// "": the scenario's 13800138000).
func (e *engine) callerFrom(t *testing.T, transport, from, number string, codecs string, hold time.Duration) (*testpeer.SippProc, *testpeer.RTPPeer) {
	t.Helper()
	peer := testpeer.NewRTPPeer(t)
	tr := "u1"
	if transport == "tcp" {
		tr = "t1"
	}
	vars := map[string]string{
		"media_port": strconv.Itoa(peer.Port()),
		"hold_ms":    strconv.Itoa(int(hold.Milliseconds())),
		"codecs":     codecs,
	}
	if from != "" {
		vars["caller"] = from
	}
	p := testpeer.StartSipp(t, testpeer.SippOptions{
		LocalIP:   carrierIP,
		Transport: tr,
		Scenario:  testpeer.ScenarioPath(t, "uac_call.xml"),
		Target:    e.target(), Service: number, Calls: 1,
		Vars:          vars,
		TraceMessages: true,
		Timeout:       hold + 30*time.Second,
	})
	return p, peer
}

// seatRecording waits for the seat's call to close, stops the seat and
// returns what it recorded.
func seatRecording(t *testing.T, seat *testpeer.Seat) []int16 {
	t.Helper()
	if _, err := seat.WaitEvent("CALL_CLOSED", 5*time.Second); err != nil {
		t.Fatalf("seat call not closed: %v", err)
	}
	seat.Stop()
	rec, _, err := testpeer.ReadWAV(seat.Recording())
	if err != nil {
		t.Fatalf("seat recording: %v", err)
	}
	return rec
}

func loadPCM(t *testing.T, name string) []int16 {
	t.Helper()
	pcm, rate, err := testpeer.ReadWAV(filepath.Join(repoDir(t), "testdata", "prompts", name))
	if err != nil || rate != 8000 {
		t.Fatalf("prompt %s: rate %d, %v", name, rate, err)
	}
	return pcm
}

// TestCallReachesSeat is the call path end to end: a carrier caller dials
// 12345, is answered, hears the welcome prompt (decoded from the RTP it
// received), is bridged to a registered baresip seat, and audio flows both
// ways (the caller's tone reaches the seat's recording, the seat's tone the
// caller). The record says so.
func TestCallReachesSeat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		callerCodec string
		seatCodecs  []string
		pt          uint8
		transport   string // "" UDP, "tcp"
	}{
		{"pcmu both", "0", []string{"pcmu"}, 0, ""},
		{"caller pcma seat pcmu", "8", []string{"pcmu"}, 8, ""},
		{"tcp caller and seat", "0", []string{"pcmu"}, 0, "tcp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startEngine(t, centreOpts{Seats: 2})
			seat := e.seat(t, 1001, testpeer.SeatOptions{Codecs: tc.seatCodecs, SineHz: 440, Record: true, Transport: tc.transport})
			welcome := loadPCM(t, "welcome.wav")
			hold := time.Duration(len(welcome)/8)*time.Millisecond + 6*time.Second
			p, peer := e.callerOver(t, tc.transport, "12345", tc.callerCodec, hold)

			// The caller sends a 1 kHz tone for the whole call, to wherever the
			// engine's RTP comes from (symmetric RTP).
			peer.SendTone(netip.AddrPort{}, tc.pt, 1000, hold)
			if _, err := seat.WaitEvent("CALL_ESTABLISHED", hold); err != nil {
				t.Fatalf("seat never answered: %v\n%s", err, e.log.tail(40))
			}
			res := p.Wait()
			if res.ExitCode != 0 || res.Successful != 1 {
				t.Fatalf("sipp: %s", res)
			}
			recs := e.waitRecords(1, 10*time.Second)
			r := recs[0]
			if r.EndReason != "answered" || r.Agent != "1001" || r.Dialled != "12345" || r.LineMode != "main" || r.AnsweredAt == nil {
				t.Errorf("record: %+v", r)
			}
			heard := peer.Received()
			if c := testpeer.BestCorrelation(heard[:min(len(heard), len(welcome)+8000)], welcome); c < 0.8 {
				t.Errorf("caller did not hear the welcome prompt: correlation %.2f", c)
			}
			tail := heard[max(0, len(heard)-16000):]
			if !testpeer.HasTone(tail, 440) {
				t.Errorf("caller did not hear the seat's 440 Hz tone (level %.3f)", testpeer.ToneLevel(tail, 440))
			}
			if rec := seatRecording(t, seat); !testpeer.HasTone(rec, 1000) {
				t.Errorf("seat did not hear the caller's 1 kHz tone (level %.3f)", testpeer.ToneLevel(rec, 1000))
			}
		})
	}
}

// TestRejections: every INVITE the engine cannot serve gets its status code,
// and the engine stays up for the next one.
func TestRejections(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1})
	for _, tc := range []struct {
		name, scenario, number string
		want                   int
	}{
		{"unknown number", "uac_expect_reject.xml", "99999", 404},
		{"emergency number from the trunk", "uac_expect_reject.xml", "110", 403},
		{"no common codec", "uac_nocodec.xml", "12345", 488},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := testpeer.RunSipp(t, testpeer.SippOptions{
				LocalIP:  carrierIP,
				Scenario: testpeer.ScenarioPath(t, tc.scenario), Target: e.target(),
				Service: tc.number, Calls: 1, TraceMessages: true, Timeout: 15 * time.Second,
			})
			codes := res.FinalCodes()
			if len(codes) == 0 || codes[len(codes)-1] != tc.want {
				t.Fatalf("want %d, got %v\n%s", tc.want, codes, res)
			}
		})
	}
}
