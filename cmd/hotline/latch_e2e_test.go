package main

import (
	"net"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/hotline-cc/hotline/internal/testpeer"
)

// rtpRange reads the engine's RTP port range from its config.
func (e *engine) rtpRange(t *testing.T) (lo, hi int) {
	t.Helper()
	b, err := os.ReadFile(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^  ports: (\d+)-(\d+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no rtp ports in %s", e.cfg)
	}
	lo, _ = strconv.Atoi(string(m[1]))
	hi, _ = strconv.Atoi(string(m[2]))
	return lo, hi
}

// sprayer is a stranger on another loopback address that sends a 3 kHz
// tone and RFC 4733 digits, a few consecutive packets with one SSRC to each
// even port of a range, over and over, and counts what comes back.
type sprayer struct {
	conn *net.UDPConn
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	got  int // packets received
	sent int // packets sent
}

func startSprayer(t *testing.T, lo, hi int) *sprayer {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 66)})
	if err != nil {
		t.Fatal(err)
	}
	s := &sprayer{conn: conn, stop: make(chan struct{})}
	s.wg.Add(2)
	go s.read()
	go s.spray(lo, hi)
	t.Cleanup(s.close)
	return s
}

func (s *sprayer) read() {
	defer s.wg.Done()
	buf := make([]byte, 2048)
	for {
		if _, _, err := s.conn.ReadFromUDPAddrPort(buf); err != nil {
			return
		}
		s.mu.Lock()
		s.got++
		s.mu.Unlock()
	}
}

// spray sends rounds until stopped: per even port, 6 audio packets of a
// 3 kHz tone and 2 packets of the digit 9 (payload type 101).
func (s *sprayer) spray(lo, hi int) {
	defer s.wg.Done()
	tone := testpeer.EncodeG711(nil, 0, testpeer.Tone(3000, 20*time.Millisecond, 12000))
	event := []byte{9, 0x8a, 0, 160}
	var seq uint16
	var ts uint32
	for round := 0; ; round++ {
		for port := lo &^ 1; port <= hi; port += 2 {
			select {
			case <-s.stop:
				return
			default:
			}
			to := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(port))
			for k := range 8 {
				h := rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: ts, SSRC: 0x5eed}
				payload := tone
				if k >= 6 {
					h.PayloadType, payload = 101, event
				}
				seq++
				ts += 160
				b, _ := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
				if _, err := s.conn.WriteToUDPAddrPort(b, to); err == nil {
					s.mu.Lock()
					s.sent++
					s.mu.Unlock()
				}
			}
		}
		// One round every 100 ms at most: bounded load.
		select {
		case <-s.stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *sprayer) counts() (sent, got int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent, s.got
}

func (s *sprayer) close() {
	select {
	case <-s.stop:
		return
	default:
	}
	close(s.stop)
	_ = s.conn.Close()
	s.wg.Wait()
}

// TestStrangerSprayingRTP: a stranger sprays RTP (a 3 kHz tone and digits)
// at every port of the engine's range from before the call until it ends,
// so that it reaches each leg's port in its first seconds too, before the
// caller's late media starts. It receives nothing, the caller and
// the seat hear only each other, no digit reaches the call, and the engine
// counts the stranger's packets as dropped for their source.
func TestStrangerSprayingRTP(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1})
	seat := e.seat(t, 1001, testpeer.SeatOptions{Codecs: []string{"pcmu"}, SineHz: 440, Record: true})
	lo, hi := e.rtpRange(t)
	st := startSprayer(t, lo, hi)
	hold := 14 * time.Second
	p, caller := e.caller(t, "12345", "0", hold)
	// The caller's gateway starts its media late: for the first second of
	// the greeting the stranger's packets are the only ones reaching the
	// caller leg's port, and must not make it the peer.
	if err := caller.WaitPackets(50, 10*time.Second); err != nil {
		t.Fatalf("the caller did not hear a second of the greeting (did the stranger take its port?): %v", err)
	}
	caller.SendTone(netip.AddrPort{}, 0, 1000, hold-2*time.Second)
	if _, err := seat.WaitEvent("CALL_ESTABLISHED", hold); err != nil {
		t.Fatalf("seat never answered: %v\n%s", err, e.log.tail(40))
	}
	// Both legs have their peers once the caller hears the seat.
	waitUntil(t, "the caller hears the seat", 10*time.Second, func() bool {
		heard := caller.Received()
		return testpeer.HasTone(heard[max(0, len(heard)-4000):], 440)
	})
	start := len(caller.Received())
	waitUntil(t, "the stranger's packets dropped", 10*time.Second, func() bool {
		return metricValue(t, e, `hotline_rtp_packets_dropped_total{reason="source"}`) >= 100
	})
	res := p.Wait()
	st.close()
	if res.ExitCode != 0 || res.Successful != 1 {
		t.Fatalf("sipp: %s", res)
	}
	if sent, got := st.counts(); got != 0 || sent == 0 {
		t.Errorf("stranger sent %d packets and received %d, want 0 back", sent, got)
	}
	heard := caller.Received()[start:]
	if testpeer.HasTone(heard, 3000) || !testpeer.HasTone(heard, 440) {
		t.Errorf("caller: 3 kHz level %.3f, 440 Hz level %.3f; want only the seat", testpeer.ToneLevel(heard, 3000), testpeer.ToneLevel(heard, 440))
	}
	if d := caller.Digits(); d != "" {
		t.Errorf("caller received digits %q", d)
	}
	r := e.waitRecords(1, 10*time.Second)[0]
	if r.EndReason != "answered" || r.Agent != "1001" || len(r.DTMF) != 0 {
		t.Errorf("record: %+v", r)
	}
	rec := seatRecording(t, seat)
	if testpeer.HasTone(rec, 3000) || !testpeer.HasTone(rec, 1000) {
		t.Errorf("seat: 3 kHz level %.3f, 1 kHz level %.3f; want only the caller", testpeer.ToneLevel(rec, 3000), testpeer.ToneLevel(rec, 1000))
	}
}

// TestCallerBehindNAT: the caller's SDP names one port, its RTP comes from
// another from the first packet (a NAT rewrote it). The engine sends to
// the SDP address first, learns the real source within its window, and the
// call works both ways.
func TestCallerBehindNAT(t *testing.T) {
	t.Parallel()
	e := startEngine(t, centreOpts{Seats: 1})
	seat := e.seat(t, 1001, testpeer.SeatOptions{Codecs: []string{"pcmu"}, SineHz: 440, Record: true})
	hold := 12 * time.Second
	sdp := testpeer.NewRTPPeer(t) // the address in the SDP: only the first prompt packets reach it
	nat := testpeer.NewRTPPeer(t) // where the phone's packets really come from
	p := testpeer.StartSipp(t, testpeer.SippOptions{
		LocalIP:   carrierIP,
		Transport: "u1",
		Scenario:  testpeer.ScenarioPath(t, "uac_call.xml"),
		Target:    e.target(), Service: "12345", Calls: 1,
		Vars: map[string]string{
			"media_port": strconv.Itoa(sdp.Port()),
			"hold_ms":    strconv.Itoa(int(hold.Milliseconds())),
			"codecs":     "0",
		},
		TraceMessages: true,
		Timeout:       hold + 30*time.Second,
	})
	if err := sdp.WaitPackets(1, 10*time.Second); err != nil {
		t.Fatalf("nothing sent to the SDP address: %v\n%s", err, e.log.tail(40))
	}
	nat.SendTone(sdp.Source(), 0, 1000, hold)
	if _, err := seat.WaitEvent("CALL_ESTABLISHED", hold); err != nil {
		t.Fatalf("seat never answered: %v\n%s", err, e.log.tail(40))
	}
	waitUntil(t, "the caller behind NAT hears the seat", hold, func() bool {
		heard := nat.Received()
		return testpeer.HasTone(heard[max(0, len(heard)-4000):], 440)
	})
	res := p.Wait()
	if res.ExitCode != 0 || res.Successful != 1 {
		t.Fatalf("sipp: %s", res)
	}
	if r := e.waitRecords(1, 10*time.Second)[0]; r.EndReason != "answered" {
		t.Errorf("record: %+v", r)
	}
	rec := seatRecording(t, seat)
	if !testpeer.HasTone(rec, 1000) {
		t.Errorf("seat did not hear the caller behind NAT (1 kHz level %.3f)", testpeer.ToneLevel(rec, 1000))
	}
}
