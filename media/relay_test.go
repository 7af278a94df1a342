package media

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// feed sends a PCMU packet from p to the session every 5 ms (payload: 160
// bytes of the low byte of its sequence number) until the test ends.
func feed(t *testing.T, p *peer, s *Session, pt uint8) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			h := rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: p.seq, Timestamp: p.ts, SSRC: p.ssrc}
			p.seq++
			p.ts += samplesPerFrame
			b, _ := (&rtp.Packet{Header: h, Payload: bytes.Repeat([]byte{byte(h.SequenceNumber)}, samplesPerFrame)}).Marshal()
			_, _ = p.conn.WriteToUDPAddrPort(b, s.LocalAddr())
		}
	}()
	t.Cleanup(func() { close(stop); wg.Wait() })
}

// isFeeder tells the feeder's packets (uniform payload, level near zero)
// from frames of prompts made by framePrompt with levels of -5000 and lower.
func isFeeder(pkt rtp.Packet) bool {
	return len(pkt.Payload) == samplesPerFrame && bytes.Count(pkt.Payload, pkt.Payload[:1]) == samplesPerFrame &&
		MulawDecode(pkt.Payload[0]) > -4000 // prompt frames below are at -5000 and lower
}

// checkNext asserts pkt continues the stream after prev: same SSRC, the next
// sequence number, a timestamp at least one frame on; marker as wanted.
func checkNext(t *testing.T, what string, prev, pkt rtp.Packet, marker bool) {
	t.Helper()
	if pkt.SSRC != prev.SSRC {
		t.Errorf("%s: SSRC changed %#x -> %#x", what, prev.SSRC, pkt.SSRC)
	}
	if pkt.SequenceNumber != prev.SequenceNumber+1 {
		t.Errorf("%s: seq %d after %d", what, pkt.SequenceNumber, prev.SequenceNumber)
	}
	if d := int32(pkt.Timestamp - prev.Timestamp); d < samplesPerFrame {
		t.Errorf("%s: timestamp advanced %d, want >= 160", what, d)
	}
	if pkt.Marker != marker {
		t.Errorf("%s: marker %v, want %v", what, pkt.Marker, marker)
	}
}

func TestRelayContinuityAcrossPromptSwitches(t *testing.T) {
	m := newTestManager(t)
	caller, agent := newPeer(t), newPeer(t)
	sa := newTestSession(t, m, SessionConfig{Params: Params{Remote: caller.addr()}})
	sb := newTestSession(t, m, SessionConfig{Params: Params{Remote: agent.addr()}})
	greeting := framePrompt(3, -20000)
	done := make(chan struct{})
	sb.Play(greeting, false, func() { close(done) })
	sa.RelayTo(sb)
	feed(t, caller, sa, PCMU.PayloadType)

	// prompt -> relay
	prev, _ := agent.recv()
	if !prev.Marker || !bytes.Equal(prev.Payload, greeting.frame(PCMU, 0)) {
		t.Fatal("the stream does not start with the prompt's first frame and the marker")
	}
	for i := 1; i < 3; i++ {
		pkt, _ := agent.recv()
		checkNext(t, "prompt frame", prev, pkt, false)
		prev = pkt
	}
	pkt, _ := agent.recv()
	if !isFeeder(pkt) {
		t.Fatal("after the prompt: not relayed audio")
	}
	checkNext(t, "prompt -> relay", prev, pkt, true)
	if pkt.SSRC == caller.ssrc {
		t.Error("relayed packet kept the caller's SSRC")
	}
	prev = pkt
	for range 5 {
		pkt, _ := agent.recv()
		checkNext(t, "relay", prev, pkt, false)
		if pkt.Timestamp-prev.Timestamp != uint32(pkt.SequenceNumber-prev.SequenceNumber)*samplesPerFrame {
			t.Errorf("relay: timestamp spacing %d for %d packets", pkt.Timestamp-prev.Timestamp, pkt.SequenceNumber-prev.SequenceNumber)
		}
		prev = pkt
	}
	waitChan(t, "greeting done", done)

	// relay -> prompt (music on hold): relayed audio stops, the prompt wins
	hold := framePrompt(2, -10000)
	sb.Play(hold, true, nil)
	for {
		pkt, _ := agent.recv()
		if isFeeder(pkt) {
			checkNext(t, "relay", prev, pkt, false)
			prev = pkt
			continue
		}
		if !bytes.Equal(pkt.Payload, hold.frame(PCMU, 0)) {
			t.Fatal("hold music does not start at frame 0")
		}
		checkNext(t, "relay -> prompt", prev, pkt, true)
		prev = pkt
		break
	}
	for i := 1; i < 6; i++ {
		pkt, _ := agent.recv()
		if !bytes.Equal(pkt.Payload, hold.frame(PCMU, i%2)) {
			t.Fatalf("hold packet %d is not hold music (relay leaked through)", i)
		}
		checkNext(t, "hold", prev, pkt, false)
		prev = pkt
	}

	// prompt stopped -> relay resumes
	sb.StopPlayback()
	for {
		pkt, _ := agent.recv()
		if !isFeeder(pkt) {
			checkNext(t, "hold", prev, pkt, false)
			prev = pkt
			continue
		}
		checkNext(t, "prompt stopped -> relay", prev, pkt, true)
		break
	}
	if st := m.Stats(); st.PacketsRelayed == 0 || st.PacketsIn == 0 || st.ActiveSessions != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestRelayNewInboundSSRCSetsMarker(t *testing.T) {
	m := newTestManager(t)
	caller, agent := newPeer(t), newPeer(t)
	sa := newTestSession(t, m, SessionConfig{Params: Params{Remote: caller.addr()}})
	sb := newTestSession(t, m, SessionConfig{Params: Params{Remote: agent.addr()}})
	sa.RelayTo(sb)
	payload := bytes.Repeat([]byte{0x42}, samplesPerFrame)
	caller.sendRTP(sa.LocalAddr(), PCMU.PayloadType, false, payload)
	first, _ := agent.recv()
	caller.sendRTP(sa.LocalAddr(), PCMU.PayloadType, false, payload)
	second, _ := agent.recv()
	checkNext(t, "same SSRC", first, second, false)
	caller.ssrc, caller.seq, caller.ts = 0x77, 9000, 123456789
	caller.sendRTP(sa.LocalAddr(), PCMU.PayloadType, false, payload)
	third, _ := agent.recv()
	checkNext(t, "new inbound SSRC", second, third, true)
	if !first.Marker {
		t.Error("first relayed packet has no marker")
	}
}

func TestRelayTranscodes(t *testing.T) {
	m := newTestManager(t)
	pu, pa := newPeer(t), newPeer(t)
	su := newTestSession(t, m, SessionConfig{Params: Params{Remote: pu.addr(), Codec: PCMU}})
	sa := newTestSession(t, m, SessionConfig{Params: Params{Remote: pa.addr(), Codec: PCMA}})
	Bridge(su, sa)
	codes := make([]byte, 256)
	for i := range codes {
		codes[i] = byte(i)
	}
	pu.sendRTP(su.LocalAddr(), PCMU.PayloadType, true, codes)
	got, _ := pa.recv()
	want := make([]byte, 256)
	MulawToAlaw(want, codes)
	if got.PayloadType != PCMA.PayloadType || !bytes.Equal(got.Payload, want) {
		t.Errorf("PCMU -> PCMA: pt %d, payload transcoded: %v", got.PayloadType, bytes.Equal(got.Payload, want))
	}
	pa.sendRTP(sa.LocalAddr(), PCMA.PayloadType, true, codes)
	got, _ = pu.recv()
	AlawToMulaw(want, codes)
	if got.PayloadType != PCMU.PayloadType || !bytes.Equal(got.Payload, want) {
		t.Errorf("PCMA -> PCMU: pt %d, payload transcoded: %v", got.PayloadType, bytes.Equal(got.Payload, want))
	}
	// Same codec both ways after a re-INVITE: bytes pass untouched.
	sa.Update(Params{Remote: pa.addr(), Codec: PCMU})
	pu.sendRTP(su.LocalAddr(), PCMU.PayloadType, false, codes)
	got, _ = pa.recv()
	if got.PayloadType != PCMU.PayloadType || !bytes.Equal(got.Payload, codes) {
		t.Errorf("PCMU -> PCMU: pt %d, payload untouched: %v", got.PayloadType, bytes.Equal(got.Payload, codes))
	}
}

func TestRelayWhileSendDisabled(t *testing.T) {
	m := newTestManager(t)
	caller, agent := newPeer(t), newPeer(t)
	sa := newTestSession(t, m, SessionConfig{Params: Params{Remote: caller.addr()}})
	sb := newTestSession(t, m, SessionConfig{Params: Params{Remote: agent.addr()}})
	sa.RelayTo(sb)
	payload := bytes.Repeat([]byte{0x42}, samplesPerFrame)
	caller.sendRTP(sa.LocalAddr(), PCMU.PayloadType, false, payload)
	first, _ := agent.recv()
	sb.SetDirection(false, true)
	dropped := m.Stats().PacketsDropped
	caller.sendRTP(sa.LocalAddr(), PCMU.PayloadType, false, payload)
	waitFor(t, "the relayed packet to be dropped", func() bool { return m.Stats().PacketsDropped > dropped })
	sb.SetDirection(true, true)
	caller.sendRTP(sa.LocalAddr(), PCMU.PayloadType, false, payload)
	resumed, _ := agent.recv()
	checkNext(t, "resume after send=false", first, resumed, true)
}
