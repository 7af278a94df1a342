package media

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// bridgedPair is two bridged PCMA sessions and their peers, each peer
// latched (it has sent one packet).
type bridgedPair struct {
	m      *Manager
	a, b   *Session
	pa, pb *peer
	kernel bool // the manager relays in the kernel
}

func newBridgedPair(t *testing.T, timeout time.Duration, onTimeout func()) *bridgedPair {
	m := newTestManager(t)
	bp := &bridgedPair{m: m, pa: newPeer(t), pb: newPeer(t), kernel: m.FastPath() == "kernel"}
	bp.pb.ssrc = 0x0b0b0b0b
	bp.a = newTestSession(t, m, SessionConfig{Params: Params{Remote: bp.pa.addr(), Codec: PCMA, DTMF: 101}, Timeout: timeout, OnTimeout: onTimeout})
	bp.b = newTestSession(t, m, SessionConfig{Params: Params{Remote: bp.pb.addr(), Codec: PCMA, DTMF: 101}, Timeout: timeout, OnTimeout: onTimeout})
	Bridge(bp.a, bp.b)
	return bp
}

// round sends one frame each way (payload: the sequence number's low
// byte) and returns what each peer received.
func (bp *bridgedPair) round(t *testing.T) (atB, atA rtp.Packet) {
	t.Helper()
	bp.pa.sendRTP(bp.a.LocalAddr(), PCMA.PayloadType, false, bytes.Repeat([]byte{byte(bp.pa.seq)}, samplesPerFrame))
	atB, _ = bp.pb.recv()
	bp.pb.sendRTP(bp.b.LocalAddr(), PCMA.PayloadType, false, bytes.Repeat([]byte{byte(bp.pb.seq)}, samplesPerFrame))
	atA, _ = bp.pa.recv()
	return atB, atA
}

// TestKernelRelayContinuity: a plain bridge moves to the kernel after its
// first packets; each peer sees one continuous stream (SSRC, sequence
// numbers, timestamps) across the move; the packets are counted; a
// stranger's packet to the leg's port goes nowhere. With the user-space
// path (HOTLINE_FAST_PATH=off, or no kernel support) the same holds.
func TestKernelRelayContinuity(t *testing.T) {
	bp := newBridgedPair(t, 0, nil)
	t.Logf("kernel path: %v", bp.kernel)
	prevB, prevA := bp.round(t)
	const rounds = 50
	for i := range rounds {
		atB, atA := bp.round(t)
		checkNext(t, "caller to seat", prevB, atB, false)
		checkNext(t, "seat to caller", prevA, atA, false)
		if atB.Payload[0] != byte(bp.pa.seq-1) {
			t.Fatalf("round %d: seat heard payload %d, want %d", i, atB.Payload[0], byte(bp.pa.seq-1))
		}
		prevB, prevA = atB, atA
	}
	if bp.kernel {
		waitFor(t, "both legs in the kernel", func() bool { return bp.a.InKernel() && bp.b.InKernel() && bp.m.KernelLegs() == 2 })
		c, ok := bp.m.kernel.p.Read(bp.a.k.leg.Local, bp.a.k.leg.Remote)
		if !ok || c.Packets < rounds-2 {
			t.Errorf("kernel relayed %d of the caller's packets, want >= %d", c.Packets, rounds-2)
		}
	}
	st := bp.m.Stats()
	if want := uint64(2 * (rounds + 1)); st.PacketsRelayed < want-1 || st.PacketsIn < want {
		t.Errorf("stats: %d in, %d relayed, want %d", st.PacketsIn, st.PacketsRelayed, want)
	}
	if s := bp.a.Stats(); s.PacketsIn != rounds+1 || time.Since(s.LastPacket) > time.Second {
		t.Errorf("caller leg stats %+v", s)
	}

	stranger := newPeer(t)
	stranger.ssrc = bp.pa.ssrc
	stranger.seq, stranger.ts = bp.pa.seq, bp.pa.ts
	stranger.sendRTP(bp.a.LocalAddr(), PCMA.PayloadType, false, bytes.Repeat([]byte{0xee}, samplesPerFrame))
	atB, _ := bp.round(t)
	if atB.Payload[0] == 0xee {
		t.Fatal("a stranger's packet reached the seat")
	}
	checkNext(t, "after the stranger", prevB, atB, false)
	waitFor(t, "the stranger's packet dropped", func() bool { return bp.m.Stats().Dropped[DropSource] == 1 })
}

// TestKernelLegLeavesForUserSpace: a prompt on one leg, a recording, a
// mixing room take the legs out of the kernel, and the stream stays
// continuous; the relay returns to the kernel once the prompt ends.
func TestKernelLegLeavesForUserSpace(t *testing.T) {
	bp := newBridgedPair(t, 0, nil)
	t.Logf("kernel path: %v", bp.kernel)
	prevB, _ := bp.round(t)
	for range 5 {
		prevB, _ = bp.round(t)
	}
	// A leg enters the kernel from its reader goroutine, just after the
	// packet that made it possible: wait for it. Leaving is synchronous.
	inKernel := func(want bool) {
		t.Helper()
		if bp.kernel {
			waitFor(t, fmt.Sprintf("both legs in the kernel: %v", want), func() bool {
				return bp.a.InKernel() == want && bp.b.InKernel() == want
			})
		}
	}
	inKernel(true)

	// A recording of the caller's leg: a leaves, b stays.
	rec := newRecorder(bp.m, filepath.Join(t.TempDir(), "r.wav"), nil)
	rec.Tap(bp.a, 0)
	if bp.kernel && bp.a.InKernel() {
		t.Fatal("the recorded leg stayed in the kernel")
	}
	for range 5 {
		atB, _ := bp.round(t)
		checkNext(t, "recorded", prevB, atB, false)
		prevB = atB
	}
	rec.Untap(bp.a)

	// A prompt on the seat's leg: the relay into it leaves the kernel; the
	// seat hears the prompt, then the caller again, one stream throughout.
	done := make(chan struct{})
	bp.b.Play(framePrompt(3, -6000), false, func() { close(done) })
	if bp.kernel && bp.a.InKernel() {
		t.Fatal("the relay into a playing leg stayed in the kernel")
	}
	for i := range 3 {
		pkt, _ := bp.pb.recv()
		checkNext(t, "prompt", prevB, pkt, i == 0)
		prevB = pkt
	}
	waitChan(t, "prompt end", done)
	atB, _ := bp.round(t)
	checkNext(t, "relay after the prompt", prevB, atB, true)
	prevB = atB
	for range 5 {
		atB, _ = bp.round(t)
		checkNext(t, "relay", prevB, atB, false)
		prevB = atB
	}
	inKernel(true)

	// The call in a room: relayed (in the kernel) at two legs, mixed (in
	// user space) once a monitor joins.
	room, err := bp.m.NewRoom(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = room.Close() })
	for _, s := range []*Session{bp.a, bp.b} {
		if err := room.Add(s, Talk, nil); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		bp.round(t)
	}
	inKernel(true)
	mon := newTestSession(t, bp.m, SessionConfig{Params: Params{Remote: newPeer(t).addr(), Codec: PCMA}})
	if err := room.Add(mon, Listen, nil); err != nil {
		t.Fatal(err)
	}
	inKernel(false)
}

// TestKernelLegTimeout: the RTP timeout counts packets the kernel relayed
// (it does not fire while the caller talks) and fires once it stops.
func TestKernelLegTimeout(t *testing.T) {
	fired := make(chan struct{}, 2)
	const timeout = 300 * time.Millisecond
	bp := newBridgedPair(t, timeout, func() { fired <- struct{}{} })
	t.Logf("kernel path: %v", bp.kernel)
	start := time.Now()
	for time.Since(start) < 3*timeout {
		bp.round(t)
		select {
		case <-fired:
			t.Fatalf("timeout fired after %v while both sides talk", time.Since(start))
		default:
		}
		time.Sleep(10 * time.Millisecond)
	}
	if bp.kernel {
		waitFor(t, "the caller's leg in the kernel", bp.a.InKernel)
	}
	silent := time.Now()
	waitChan(t, "RTP timeout", fired)
	if d := time.Since(silent); d < timeout-50*time.Millisecond {
		t.Errorf("timeout fired %v after the last packet", d)
	}
}

// TestKernelLegLeavesForSRTP: keys given to a leg in the kernel (a
// re-INVITE that brings a=crypto) take both its directions back to user
// space, where SRTP is authenticated, decrypted and sealed; the kernel
// would pass sealed packets on as they are.
func TestKernelLegLeavesForSRTP(t *testing.T) {
	bp := newBridgedPair(t, 0, nil)
	t.Logf("kernel path: %v", bp.kernel)
	if !bp.kernel {
		t.Skip("no kernel fast path here: nothing to leave")
	}
	for range 6 {
		bp.round(t)
	}
	waitFor(t, "both legs in the kernel", func() bool { return bp.a.InKernel() && bp.b.InKernel() })
	key := SRTPKey{Suite: "AES_CM_128_HMAC_SHA1_80", Key: make([]byte, 30)}
	if err := bp.a.SetSRTP(key, key); err != nil {
		t.Fatal(err)
	}
	if bp.a.InKernel() || bp.b.InKernel() {
		t.Fatalf("an SRTP leg's relay stayed in the kernel: a %v, b %v", bp.a.InKernel(), bp.b.InKernel())
	}
}
