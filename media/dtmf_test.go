package media

import (
	"errors"
	"testing"
	"time"

	"github.com/pion/rtp"
)

const testDTMFPT = 101

func eventPayload(ev uint8, end bool, duration uint16) []byte {
	b := make([]byte, telephoneEventSize)
	telephoneEvent{Event: ev, End: end, Volume: 10, Duration: duration}.marshalTo(b)
	return b
}

func mustEvent(t *testing.T, pkt rtp.Packet) telephoneEvent {
	t.Helper()
	ev, err := parseTelephoneEvent(pkt.Payload)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestSendDTMF(t *testing.T) {
	m := newTestManager(t)
	p := newPeer(t)
	s := newTestSession(t, m, SessionConfig{Params: Params{Remote: p.addr(), DTMF: testDTMFPT}})
	if err := s.SendDTMF('5', 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := s.SendDTMF('#', 0); err != nil {
		t.Fatal(err)
	}
	var first rtp.Packet
	for i := range 5 + dtmfEndCopies {
		pkt, _ := p.recv()
		ev := mustEvent(t, pkt)
		if i == 0 {
			first = pkt
		} else if pkt.SequenceNumber != first.SequenceNumber+uint16(i) || pkt.Timestamp != first.Timestamp || pkt.Marker {
			t.Fatalf("packet %d: seq %d ts %d marker %v", i, pkt.SequenceNumber, pkt.Timestamp, pkt.Marker)
		}
		wantDur, wantEnd := uint16(min(i+1, 5)*samplesPerFrame), i >= 5
		if pkt.PayloadType != testDTMFPT || ev.Event != 5 || ev.End != wantEnd || ev.Duration != wantDur || ev.Volume != dtmfVolume {
			t.Fatalf("packet %d: pt %d %+v, want event 5 end %v duration %d", i, pkt.PayloadType, ev, wantEnd, wantDur)
		}
	}
	if !first.Marker {
		t.Error("first event packet has no marker (RFC 4733 §2.5.1.3)")
	}
	pkt, _ := p.recv()
	ev := mustEvent(t, pkt)
	if ev.Event != 11 || !pkt.Marker || ev.End || int32(pkt.Timestamp-first.Timestamp) < 5*samplesPerFrame {
		t.Errorf("second digit: %+v marker %v ts +%d", ev, pkt.Marker, pkt.Timestamp-first.Timestamp)
	}
	if err := s.SendDTMF('x', time.Second); !errors.Is(err, ErrBadDigit) {
		t.Errorf("bad digit: %v", err)
	}
	none := newTestSession(t, m, SessionConfig{Params: Params{Remote: p.addr()}})
	if err := none.SendDTMF('1', time.Second); !errors.Is(err, ErrNoDTMF) {
		t.Errorf("no telephone-event: %v", err)
	}
}

func TestReceiveDTMFOncePerEvent(t *testing.T) {
	m := newTestManager(t)
	p := newPeer(t)
	digits := make(chan rune, 16)
	s := newTestSession(t, m, SessionConfig{
		Params: Params{Remote: p.addr(), DTMF: testDTMFPT},
		OnDTMF: func(d rune) { digits <- d },
	})
	send := func(ev uint8, ts uint32, end bool, dur uint16, marker bool) {
		p.ts = ts
		p.sendRTP(s.LocalAddr(), testDTMFPT, marker, eventPayload(ev, end, dur))
	}
	// '5': start, refreshes, three end packets, all at timestamp 8000.
	send(5, 8000, false, 160, true)
	send(5, 8000, false, 320, false)
	send(5, 8000, false, 480, false)
	for range 3 {
		send(5, 8000, true, 480, false)
	}
	// '*' whose start packets were lost: only its end packets arrive.
	for range 3 {
		send(10, 9000, true, 800, false)
	}
	// an event code that is no digit (flash, 16) reports nothing
	send(16, 9500, false, 160, true)
	// a telephone-event packet with a payload type not negotiated is ignored
	p.ts = 9700
	p.sendRTP(s.LocalAddr(), testDTMFPT-1, true, eventPayload(1, false, 160))
	// 'D' as the sentinel: everything before it was handled.
	send(15, 10000, false, 160, true)
	var got []rune
	for len(got) == 0 || got[len(got)-1] != 'D' {
		got = append(got, waitChan(t, "DTMF digit", digits))
	}
	if string(got) != "5*D" {
		t.Errorf("digits %q, want \"5*D\"", string(got))
	}
	if n := m.Stats().DTMFEvents; n != 3 {
		t.Errorf("DTMFEvents %d, want 3 (5, *, D)", n)
	}
}

// TestDTMFBetweenSessions sends digits from one session to another: the
// sender's packets, as the receiver's detector sees them.
func TestDTMFBetweenSessions(t *testing.T) {
	m := newTestManager(t)
	digits := make(chan rune, 16)
	rx := newTestSession(t, m, SessionConfig{Params: Params{DTMF: 96}, OnDTMF: func(d rune) { digits <- d }})
	tx := newTestSession(t, m, SessionConfig{Params: Params{Remote: rx.LocalAddr(), DTMF: 96}})
	rx.Update(Params{Remote: tx.LocalAddr(), DTMF: 96})
	for _, d := range "1#9" {
		if err := tx.SendDTMF(d, 40*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	var got []rune
	for len(got) < 3 {
		got = append(got, waitChan(t, "DTMF digit", digits))
	}
	if string(got) != "1#9" {
		t.Errorf("digits %q", string(got))
	}
}

func TestRelayDTMFRemapsPayloadType(t *testing.T) {
	m := newTestManager(t)
	caller, agent := newPeer(t), newPeer(t)
	sa := newTestSession(t, m, SessionConfig{Params: Params{Remote: caller.addr(), DTMF: 101}})
	sb := newTestSession(t, m, SessionConfig{Params: Params{Remote: agent.addr(), DTMF: 100}})
	sa.RelayTo(sb)
	caller.sendRTP(sa.LocalAddr(), 101, true, eventPayload(7, false, 160))
	pkt, _ := agent.recv()
	if ev := mustEvent(t, pkt); pkt.PayloadType != 100 || ev.Event != 7 || !pkt.Marker {
		t.Errorf("relayed event: pt %d %+v", pkt.PayloadType, ev)
	}
	// A destination without telephone-event gets no events, audio still.
	sb.Update(Params{Remote: agent.addr()})
	caller.sendRTP(sa.LocalAddr(), 101, false, eventPayload(7, true, 320))
	caller.sendRTP(sa.LocalAddr(), PCMU.PayloadType, false, make([]byte, 160))
	if pkt, _ := agent.recv(); pkt.PayloadType != PCMU.PayloadType {
		t.Errorf("pt %d reached a leg without telephone-event", pkt.PayloadType)
	}
}

func TestDTMFCodes(t *testing.T) {
	for i, d := range dtmfDigits {
		ev, ok := digitEvent(d)
		back, ok2 := eventDigit(ev)
		if !ok || !ok2 || int(ev) != i || back != d {
			t.Errorf("%q: event %d %v, back %q %v", d, ev, ok, back, ok2)
		}
	}
	if ev, ok := digitEvent('b'); !ok || ev != 13 {
		t.Errorf("'b': %d %v", ev, ok)
	}
	if _, ok := eventDigit(16); ok {
		t.Error("event 16 is a digit")
	}
}

func FuzzRTP4733(f *testing.F) {
	for _, seed := range []struct {
		ssrc, ts uint32
		payload  []byte
	}{
		{1, 8000, eventPayload(5, false, 160)},
		{1, 8000, eventPayload(11, true, 800)},
		{2, 0, eventPayload(255, true, 65535)},
		{3, 1, []byte{1, 2}},
	} {
		b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: testDTMFPT, SSRC: seed.ssrc, Timestamp: seed.ts}, Payload: seed.payload}).Marshal()
		f.Add(b)
	}
	f.Add([]byte{0x90, 101, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0}) // extension bit, no extension
	f.Fuzz(func(t *testing.T, data []byte) {
		var pkt rtp.Packet
		if err := pkt.Unmarshal(data); err != nil {
			return
		}
		var rx dtmfReceiver
		d, ok, _ := rx.observe(pkt.SSRC, pkt.Timestamp, pkt.Payload, 0)
		ev, err := parseTelephoneEvent(pkt.Payload)
		if (err == nil) != (len(pkt.Payload) >= telephoneEventSize) {
			t.Fatalf("payload of %d bytes: %v", len(pkt.Payload), err)
		}
		if err != nil {
			if ok {
				t.Fatal("a digit from a short payload")
			}
			return
		}
		if ok != (ev.Event < 16) || ok && rune(dtmfDigits[ev.Event]) != d {
			t.Fatalf("event %d gave %q %v", ev.Event, d, ok)
		}
		if _, again, _ := rx.observe(pkt.SSRC, pkt.Timestamp, pkt.Payload, 0); again {
			t.Fatal("the same event reported twice")
		}
		var b [telephoneEventSize]byte
		ev.marshalTo(b[:])
		if back, _ := parseTelephoneEvent(b[:]); back != ev {
			t.Fatalf("round trip %+v -> %+v", ev, back)
		}
	})
}

// TestDTMFInterruptsPrompt checks the output stays one stream when an
// event interrupts a prompt: the event starts past the last frame, the
// prompt resumes past the event, each switch with the marker.
func TestDTMFInterruptsPrompt(t *testing.T) {
	m := newTestManager(t)
	p := newPeer(t)
	s := newTestSession(t, m, SessionConfig{Params: Params{Remote: p.addr(), DTMF: testDTMFPT}})
	s.Play(framePrompt(2, 1000), true, nil)
	prev, _ := p.recv()
	if err := s.SendDTMF('9', 40*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ev := p.recvUntil(func(pkt rtp.Packet) bool {
		if pkt.PayloadType == testDTMFPT {
			return false
		}
		prev = pkt
		return true
	})
	checkNext(t, "prompt -> event", prev, ev, true)
	prev = ev
	for range 2 + dtmfEndCopies - 1 {
		pkt, _ := p.recv()
		if pkt.PayloadType != testDTMFPT || pkt.Timestamp != ev.Timestamp || pkt.SequenceNumber != prev.SequenceNumber+1 {
			t.Fatalf("event packet: pt %d ts %d seq %d", pkt.PayloadType, pkt.Timestamp, pkt.SequenceNumber)
		}
		prev = pkt
	}
	resumed, _ := p.recv()
	if resumed.PayloadType != PCMU.PayloadType || !resumed.Marker || resumed.SequenceNumber != prev.SequenceNumber+1 ||
		int32(resumed.Timestamp-ev.Timestamp) < 2*samplesPerFrame {
		t.Errorf("prompt resumed: pt %d marker %v seq +%d ts +%d", resumed.PayloadType, resumed.Marker,
			resumed.SequenceNumber-prev.SequenceNumber, resumed.Timestamp-ev.Timestamp)
	}
	if resumed.SSRC != ev.SSRC {
		t.Error("SSRC changed")
	}
}
