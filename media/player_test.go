package media

import (
	"bytes"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
)

func TestPlayerPacingSeqTsMarker(t *testing.T) {
	m := newTestManager(t)
	p := newPeer(t)
	s := newTestSession(t, m, SessionConfig{Params: Params{Remote: p.addr(), Codec: PCMA}})
	prompt := framePrompt(10, 1000)
	done := make(chan struct{})
	var calls atomic.Int32
	s.Play(prompt, false, func() { calls.Add(1); close(done) })

	var first, prev time.Time
	var seq0 uint16
	var ts0, ssrc uint32
	for i := range 10 {
		pkt, from := p.recv()
		now := time.Now()
		if from != s.LocalAddr() {
			t.Fatalf("packet from %s, session is %s", from, s.LocalAddr())
		}
		if i == 0 {
			first, seq0, ts0, ssrc = now, pkt.SequenceNumber, pkt.Timestamp, pkt.SSRC
			if !pkt.Marker {
				t.Error("first packet of the prompt has no marker")
			}
		} else {
			if pkt.Marker {
				t.Errorf("packet %d has the marker", i)
			}
			if d := now.Sub(prev); d > time.Second {
				t.Errorf("packet %d came %v after the previous one", i, d)
			}
		}
		prev = now
		if pkt.PayloadType != PCMA.PayloadType || pkt.SSRC != ssrc || pkt.Version != 2 {
			t.Fatalf("packet %d: pt %d ssrc %#x", i, pkt.PayloadType, pkt.SSRC)
		}
		if pkt.SequenceNumber != seq0+uint16(i) || pkt.Timestamp != ts0+uint32(i*samplesPerFrame) {
			t.Fatalf("packet %d: seq %d ts %d, want %d %d", i, pkt.SequenceNumber, pkt.Timestamp, seq0+uint16(i), ts0+uint32(i*160))
		}
		if !bytes.Equal(pkt.Payload, prompt.frame(PCMA, i)) {
			t.Fatalf("packet %d carries the wrong frame", i)
		}
	}
	// Ten frames take nine ticks of 20 ms at least: the pacer does not burst.
	if span := prev.Sub(first); span < 9*frameInterval-20*time.Millisecond {
		t.Errorf("10 frames in %v: faster than real time", span)
	}
	waitChan(t, "onDone", done)
	s.StopPlayback()
	if calls.Load() != 1 {
		t.Errorf("onDone called %d times", calls.Load())
	}
	if st := s.Stats(); st.PacketsOut != 10 {
		t.Errorf("PacketsOut %d", st.PacketsOut)
	}
}

func TestPlayLoopReplaceStop(t *testing.T) {
	m := newTestManager(t)
	p := newPeer(t)
	s := newTestSession(t, m, SessionConfig{Params: Params{Remote: p.addr()}})
	loop := framePrompt(2, 1000)
	replaced := make(chan struct{})
	s.Play(loop, true, func() { close(replaced) })
	var last uint16
	for i := range 5 {
		pkt, _ := p.recv()
		if !bytes.Equal(pkt.Payload, loop.frame(PCMU, i%2)) {
			t.Fatalf("packet %d: not frame %d of the loop", i, i%2)
		}
		last = pkt.SequenceNumber
	}
	other := framePrompt(3, -8000)
	stopped := make(chan struct{})
	s.Play(other, true, func() { close(stopped) })
	waitChan(t, "onDone of the replaced prompt", replaced)
	pkt := p.recvUntil(func(pkt rtp.Packet) bool {
		return bytes.Equal(pkt.Payload, loop.frame(PCMU, 0)) || bytes.Equal(pkt.Payload, loop.frame(PCMU, 1))
	})
	if !pkt.Marker || !bytes.Equal(pkt.Payload, other.frame(PCMU, 0)) {
		t.Errorf("replacement starts with marker %v and frame 0: %v", pkt.Marker, bytes.Equal(pkt.Payload, other.frame(PCMU, 0)))
	}
	if int16(pkt.SequenceNumber-last) <= 0 {
		t.Errorf("sequence went back from %d to %d", last, pkt.SequenceNumber)
	}
	s.StopPlayback()
	waitChan(t, "onDone of the stopped prompt", stopped)
	called := make(chan struct{})
	s.Play(nil, false, func() { close(called) })
	waitChan(t, "onDone of a nil prompt", called)
}

func TestPlayerFollowsCodecUpdate(t *testing.T) {
	m := newTestManager(t)
	p := newPeer(t)
	s := newTestSession(t, m, SessionConfig{Params: Params{Remote: p.addr(), Codec: PCMU}})
	s.Play(framePrompt(2, 1000), true, nil)
	if pkt, _ := p.recv(); pkt.PayloadType != PCMU.PayloadType {
		t.Fatalf("pt %d", pkt.PayloadType)
	}
	s.Update(Params{Remote: p.addr(), Codec: PCMA})
	p.recvUntil(func(pkt rtp.Packet) bool { return pkt.PayloadType == PCMU.PayloadType })
	s.Update(Params{Remote: p.addr(), Codec: Codec{Name: "G729", PayloadType: 18, ClockRate: 8000}})
	if got := s.params.Load().Codec; got != PCMA {
		t.Errorf("unsupported codec accepted: %v", got)
	}
}
