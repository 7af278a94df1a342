package media

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// mixRig is a room that the test ticks itself (the pacer does not know
// it), its legs' sessions sending to loopback peers (or nowhere), and one
// frame per leg to queue before each tick, as the legs' readers would.
type mixRig struct {
	m     *Manager
	r     *Room
	legs  []*Session
	frame []byte
	now   time.Duration // the rig's clock: one frame interval a tick
}

// newMixRig makes a room of len(modes) legs, leg i in modes[i] (a Whisper
// leg whispers to leg 1, the agent), alternately PCMU and PCMA. With send
// false the sessions have no remote address: the tick stops short of the
// socket write, which leaves the mixing alone.
func newMixRig(tb testing.TB, send bool, modes ...Mode) *mixRig {
	m := newTestManager(tb)
	x := &mixRig{m: m, r: newRoom(m, nil), frame: make([]byte, samplesPerFrame)}
	for i := range x.frame {
		x.frame[i] = byte(i)
	}
	for i, mode := range modes {
		var remote netip.AddrPort
		if send {
			remote = newPeer(tb).addr()
		}
		codec := PCMU
		if i%2 == 1 {
			codec = PCMA
		}
		s := newTestSession(tb, m, SessionConfig{Params: Params{Remote: remote, Codec: codec}})
		x.legs = append(x.legs, s)
		var to *Session
		if mode == Whisper {
			to = x.legs[1]
		}
		if err := x.r.Add(s, mode, to); err != nil {
			tb.Fatal(err)
		}
	}
	for range 10 { // warm up: the first frames switch each output's source
		x.tick()
	}
	return x
}

// tick queues one frame on each leg and mixes.
func (x *mixRig) tick() {
	for _, s := range x.legs {
		s.mixIn.Load().put(x.frame, s.params.Load().Codec)
	}
	x.now += frameInterval
	x.r.tick(x.now, nil)
}

// TestMixAllocatesNothing proves a mixing tick (queue each leg's frame,
// decode, sum, encode, send on every listener's stream) allocates nothing.
func TestMixAllocatesNothing(t *testing.T) {
	for name, modes := range map[string][]Mode{
		"three-way": {Talk, Talk, Talk},
		"whisper":   {Talk, Talk, Whisper},
	} {
		x := newMixRig(t, true, modes...)
		if n := testing.AllocsPerRun(500, x.tick); n != 0 {
			t.Errorf("%s: %v allocations per tick", name, n)
		}
		if st := x.legs[0].Stats(); st.PacketsOut < 500 {
			t.Errorf("%s: %d frames sent to leg 0, want one a tick", name, st.PacketsOut)
		}
	}
}

// BenchmarkMix3 measures a three-way call's mixing, per mixed frame (one
// per leg per 20 ms tick): decoding each leg's frame, the N-1 sum with
// saturation, encoding per listener's codec, and (udp) the socket write;
// nosend stops before the socket, which shows the mixing's own cost.
// ns/frame is wall time, cpu-ns/frame the process's CPU (getrusage), the
// better figure on a shared machine.
func BenchmarkMix3(b *testing.B) { benchMix(b, Talk, Talk, Talk) }

// BenchmarkMixMonitor is BenchmarkMix3 for a monitored two-party call:
// caller, agent and a supervisor in Listen mode.
func BenchmarkMixMonitor(b *testing.B) { benchMix(b, Talk, Talk, Listen) }

func benchMix(b *testing.B, modes ...Mode) {
	for _, send := range []bool{true, false} {
		name := "udp"
		if !send {
			name = "nosend"
		}
		b.Run(name, func(b *testing.B) {
			x := newMixRig(b, send, modes...)
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				x.tick()
			}
			frames := float64(b.N * len(modes))
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/frames, "ns/frame")
			b.ReportMetric(float64(processCPU()-cpu0)/frames, "cpu-ns/frame")
		})
	}
}

// BenchmarkMixCPU measures what mixing rooms cost the process in CPU,
// with real pacing: calls rooms of three legs (three-way: all Talk;
// monitored: caller, agent and a Listen supervisor), every leg's peer
// sending a PCMA frame every 20 ms from the blaster process (see
// BenchmarkRelayCPU), every leg receiving a mixed frame per tick.
// cpu-ns/frame is this process's CPU (socket reads, queueing, mixing,
// socket writes, the pacer, the scheduler) over the mixed frames sent;
// core%/call the share of one core each call takes; frames/s/leg is 50
// when the pacer keeps time (less: ticks were lost to a busy machine).
// ns/op only reflects the pacing.
func BenchmarkMixCPU(b *testing.B) {
	for _, calls := range []int{20, 100} {
		b.Run(fmt.Sprintf("threeway-calls=%d", calls), func(b *testing.B) { benchMixCPU(b, calls, Talk) })
		b.Run(fmt.Sprintf("monitored-calls=%d", calls), func(b *testing.B) { benchMixCPU(b, calls, Listen) })
	}
}

func benchMixCPU(b *testing.B, calls int, third Mode) {
	bl := startBlaster(b)
	m := newTestManager(b)
	var dsts []string
	for range calls {
		r, err := m.NewRoom(nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = r.Close() })
		for _, mode := range []Mode{Talk, Talk, third} {
			// The peer is the blaster's sending socket: learnt by its first
			// packet; the mixed frames go back to it (and are not counted
			// there).
			s := newTestSession(b, m, SessionConfig{Params: Params{Remote: bl.caller, Codec: PCMA}})
			if err := r.Add(s, mode, nil); err != nil {
				b.Fatal(err)
			}
			dsts = append(dsts, s.LocalAddr().String())
		}
	}
	bl.run(b, dsts, 5*len(dsts)) // warm up
	out0, cpu0 := m.stats.packetsOut.Load(), processCPU()
	start := time.Now()
	b.ResetTimer()
	bl.run(b, dsts, b.N)
	b.StopTimer()
	frames, cpu, wall := m.stats.packetsOut.Load()-out0, processCPU()-cpu0, time.Since(start)
	if frames == 0 {
		b.Fatal("nothing mixed")
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(frames), "cpu-ns/frame")
	b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cores")
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds()/float64(calls), "core%/call")
	b.ReportMetric(float64(frames)/wall.Seconds()/float64(len(dsts)), "frames/s/leg")
}
