package media

import (
	"encoding/binary"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// toneAmp is the amplitude every test leg talks at: three of them sum
// without clipping.
const toneAmp = 6000

// tonePeer is the far end of a leg that talks a sine of its own frequency
// (one G.711 frame every 20 ms, in the leg's codec) and keeps the audio it
// receives, decoded, for toneLevel. It also checks that what it receives
// is one stream: one SSRC, consecutive sequence numbers.
type tonePeer struct {
	*peer
	s     *Session
	freq  float64
	codec Codec
	quiet atomic.Bool // stop talking (packets stop)

	mu    sync.Mutex
	got   []int16
	ssrcs map[uint32]bool
	gaps  int // packets whose sequence number did not follow the previous one
	last  uint16
	any   bool
}

// newTonePeer makes a session for a peer talking freq in codec, and starts
// the peer's sender and receiver (stopped when the test ends).
func newTonePeer(t *testing.T, m *Manager, freq float64, codec Codec) *tonePeer {
	t.Helper()
	p := &tonePeer{peer: newPeer(t), freq: freq, codec: codec, ssrcs: map[uint32]bool{}}
	p.ssrc = uint32(freq)
	p.s = newTestSession(t, m, SessionConfig{Params: Params{Remote: p.addr(), Codec: codec}})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.talk(stop) }()
	go func() { defer wg.Done(); p.listen() }()
	t.Cleanup(func() {
		close(stop)
		_ = p.conn.SetReadDeadline(time.Now())
		wg.Wait()
	})
	return p
}

// talk sends the tone, phase-continuous, every 20 ms until stop.
func (p *tonePeer) talk(stop <-chan struct{}) {
	tick := time.NewTicker(frameInterval)
	defer tick.Stop()
	pcm := make([]int16, samplesPerFrame)
	buf := make([]byte, 12+samplesPerFrame)
	var n int
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		if p.quiet.Load() {
			continue
		}
		for i := range pcm {
			pcm[i] = int16(toneAmp * math.Sin(2*math.Pi*p.freq*float64(n)/8000))
			n++
		}
		h := rtp.Header{Version: 2, PayloadType: p.codec.PayloadType, SequenceNumber: p.seq, Timestamp: p.ts, SSRC: p.ssrc}
		p.seq++
		p.ts += samplesPerFrame
		if _, err := h.MarshalTo(buf); err != nil {
			panic(err)
		}
		encode(p.codec, buf[12:], pcm)
		_, _ = p.conn.WriteToUDPAddrPort(buf, p.s.LocalAddr())
	}
}

// listen decodes every packet received until the socket's deadline.
func (p *tonePeer) listen() {
	buf := make([]byte, maxPacket)
	pcm := make([]int16, maxPacket)
	if err := p.conn.SetReadDeadline(time.Time{}); err != nil {
		return
	}
	for {
		n, _, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return // the deadline set when the test ends
		}
		if n < 12 {
			continue
		}
		seq, ssrc, pt := binary.BigEndian.Uint16(buf[2:]), binary.BigEndian.Uint32(buf[8:]), buf[1]&0x7f
		payload := buf[12:n]
		if pt == PCMA.PayloadType {
			DecodeAlaw(pcm, payload)
		} else {
			DecodeMulaw(pcm, payload)
		}
		p.mu.Lock()
		p.ssrcs[ssrc] = true
		if p.any && seq != p.last+1 {
			p.gaps++
		}
		p.last, p.any = seq, true
		p.got = append(p.got, pcm[:len(payload)]...)
		if len(p.got) > 8*8000 {
			p.got = append(p.got[:0], p.got[len(p.got)-8000:]...)
		}
		p.mu.Unlock()
	}
}

func encode(c Codec, dst []byte, pcm []int16) {
	if c == PCMA {
		EncodeAlaw(dst, pcm)
		return
	}
	EncodeMulaw(dst, pcm)
}

// heard returns 400 ms of audio received from now on, after 200 ms more
// that may still carry what was mixed before the last change.
func (p *tonePeer) heard(t *testing.T) []int16 {
	t.Helper()
	p.reset()
	return p.collect(t, 10*samplesPerFrame, 20*samplesPerFrame)
}

// reset forgets the audio received so far.
func (p *tonePeer) reset() {
	p.mu.Lock()
	p.got = p.got[:0]
	p.mu.Unlock()
}

// collect waits for skip+n samples received since reset and returns the
// last n of them.
func (p *tonePeer) collect(t *testing.T, skip, n int) []int16 {
	t.Helper()
	var out []int16
	waitFor(t, "audio received", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.got) < skip+n {
			return false
		}
		out = append(out, p.got[skip:skip+n]...)
		return true
	})
	return out
}

// toneLevel estimates the amplitude of the f Hz component of x (Goertzel).
func toneLevel(x []int16, f float64) float64 {
	c := 2 * math.Cos(2*math.Pi*f/8000)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = float64(v)+c*s1-s2, s1
	}
	return 2 * math.Sqrt(s1*s1+s2*s2-c*s1*s2) / float64(len(x))
}

// checkHears asserts that listener hears exactly the talkers in want among
// all (itself included, which it must never hear).
func checkHears(t *testing.T, what string, listener *tonePeer, all []*tonePeer, want ...*tonePeer) {
	t.Helper()
	x := listener.heard(t)
	for _, talker := range all {
		level := toneLevel(x, talker.freq)
		should := false
		for _, w := range want {
			should = should || w == talker
		}
		switch {
		case should && level < toneAmp/4:
			t.Errorf("%s: %v Hz leg does not hear %v Hz (level %.0f)", what, listener.freq, talker.freq, level)
		case !should && level > toneAmp/20:
			t.Errorf("%s: %v Hz leg hears %v Hz (level %.0f)", what, listener.freq, talker.freq, level)
		}
	}
}

// checkStream asserts p received one stream: one SSRC, no sequence gap.
func (p *tonePeer) checkStream(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.ssrcs) != 1 || p.gaps != 0 {
		t.Errorf("%v Hz leg received %d SSRCs and %d sequence gaps, want one stream", p.freq, len(p.ssrcs), p.gaps)
	}
}

func TestToneLevel(t *testing.T) {
	x := make([]int16, 3200)
	for i := range x {
		x[i] = int16(toneAmp*math.Sin(2*math.Pi*400*float64(i)/8000) + 3000*math.Sin(2*math.Pi*1600*float64(i)/8000))
	}
	for f, want := range map[float64]float64{400: toneAmp, 1600: 3000, 800: 0} {
		if got := toneLevel(x, f); math.Abs(got-want) > 50 {
			t.Errorf("%v Hz: level %.0f, want %.0f", f, got, want)
		}
	}
}
