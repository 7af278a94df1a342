package media

import (
	"errors"
	"testing"
)

func newTestRoom(t *testing.T, m *Manager) *Room {
	t.Helper()
	r, err := m.NewRoom(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func mustAdd(t *testing.T, r *Room, p *tonePeer, mode Mode, target *tonePeer) {
	t.Helper()
	var to *Session
	if target != nil {
		to = target.s
	}
	if err := r.Add(p.s, mode, to); err != nil {
		t.Fatal(err)
	}
}

// TestRoomThreeWay: a two-party relay becomes a three-way mix when a leg
// joins (each hears the other two, never itself, across codecs), a fourth
// leg removed mid-call stops being heard, a leg whose packets stop leaves
// the others talking, and back at two legs the relay returns. Every leg
// receives one continuous stream throughout.
func TestRoomThreeWay(t *testing.T) {
	m := newTestManager(t)
	caller := newTonePeer(t, m, 400, PCMU)
	agent := newTonePeer(t, m, 800, PCMA)
	dept := newTonePeer(t, m, 1600, PCMU)
	extra := newTonePeer(t, m, 1000, PCMA)
	all := []*tonePeer{caller, agent, dept, extra}
	r := newTestRoom(t, m)

	mustAdd(t, r, caller, Talk, nil)
	mustAdd(t, r, agent, Talk, nil)
	if r.Mixing() {
		t.Fatal("two legs mix: want the relay")
	}
	checkHears(t, "two-party relay", caller, all, agent)
	checkHears(t, "two-party relay", agent, all, caller)

	mustAdd(t, r, dept, Talk, nil)
	if !r.Mixing() {
		t.Fatal("three legs do not mix")
	}
	checkHears(t, "three-way", caller, all, agent, dept)
	checkHears(t, "three-way", agent, all, caller, dept)
	checkHears(t, "three-way", dept, all, caller, agent)

	mustAdd(t, r, extra, Talk, nil)
	checkHears(t, "four legs", caller, all, agent, dept, extra)
	if err := r.Remove(extra.s); err != nil {
		t.Fatal(err)
	}
	checkHears(t, "fourth leg removed", caller, all, agent, dept)
	checkHears(t, "fourth leg removed", dept, all, caller, agent)

	dept.quiet.Store(true)
	checkHears(t, "department silent", caller, all, agent)
	checkHears(t, "department silent", agent, all, caller)
	dept.quiet.Store(false)

	relayed := m.Stats().PacketsRelayed
	if err := r.Remove(dept.s); err != nil {
		t.Fatal(err)
	}
	if r.Mixing() {
		t.Fatal("two legs left still mix")
	}
	checkHears(t, "back to two", caller, all, agent)
	checkHears(t, "back to two", agent, all, caller)
	if m.Stats().PacketsRelayed-relayed < 20 {
		t.Error("back at two legs, the relay does not carry the audio")
	}
	if err := r.Remove(dept.s); !errors.Is(err, ErrNotInRoom) {
		t.Errorf("second Remove: %v, want ErrNotInRoom", err)
	}
	caller.checkStream(t)
	agent.checkStream(t)
	dept.checkStream(t)
}

// TestRoomMonitorModes: a supervisor listens (hears both, heard by
// nobody), whispers (only the agent hears it) and barges (all hear all).
func TestRoomMonitorModes(t *testing.T) {
	m := newTestManager(t)
	caller := newTonePeer(t, m, 400, PCMA)
	agent := newTonePeer(t, m, 800, PCMU)
	sup := newTonePeer(t, m, 1200, PCMU)
	all := []*tonePeer{caller, agent, sup}
	r := newTestRoom(t, m)
	mustAdd(t, r, caller, Talk, nil)
	mustAdd(t, r, agent, Talk, nil)
	mustAdd(t, r, sup, Listen, nil)

	checkHears(t, "listen", sup, all, caller, agent)
	checkHears(t, "listen", caller, all, agent)
	checkHears(t, "listen", agent, all, caller)

	if err := r.SetMode(sup.s, Whisper, agent.s); err != nil {
		t.Fatal(err)
	}
	checkHears(t, "whisper", sup, all, caller, agent)
	checkHears(t, "whisper", caller, all, agent)
	checkHears(t, "whisper", agent, all, caller, sup)

	if err := r.SetMode(sup.s, Talk, nil); err != nil {
		t.Fatal(err)
	}
	checkHears(t, "barge", sup, all, caller, agent)
	checkHears(t, "barge", caller, all, agent, sup)
	checkHears(t, "barge", agent, all, caller, sup)

	// One cell of the matrix: the caller stops hearing the supervisor.
	if err := r.SetHears(caller.s, sup.s, false); err != nil {
		t.Fatal(err)
	}
	if r.Hears(caller.s, sup.s) || !r.Hears(agent.s, sup.s) || r.Hears(sup.s, sup.s) {
		t.Error("SetHears: the matrix is not what was set")
	}
	checkHears(t, "override", caller, all, agent)
	checkHears(t, "override", agent, all, caller, sup)
}

// TestRoomSaturates: two loud legs sum past int16; the third hears them
// clipped, never wrapped around to the other sign.
func TestRoomSaturates(t *testing.T) {
	m := newTestManager(t)
	a := newTonePeer(t, m, 400, PCMU)
	b := newTonePeer(t, m, 400, PCMU)
	c := newTonePeer(t, m, 800, PCMU)
	a.quiet.Store(true)
	b.quiet.Store(true)
	r := newTestRoom(t, m)
	for _, p := range []*tonePeer{a, b, c} {
		mustAdd(t, r, p, Talk, nil)
	}
	loud := make([]byte, samplesPerFrame)
	for i := range loud {
		loud[i] = MulawEncode(24000)
	}
	// Each loud packet is queued for the same tick in both legs; c
	// hears 2 x 24000, clipped.
	var peak int16
	for range 50 {
		c.reset()
		a.sendRTP(a.s.LocalAddr(), PCMU.PayloadType, false, loud)
		b.sendRTP(b.s.LocalAddr(), PCMU.PayloadType, false, loud)
		x := c.collect(t, 0, 5*samplesPerFrame)
		for _, v := range x {
			if v < -1000 {
				t.Fatalf("a sample of %d: the sum wrapped around", v)
			}
			peak = max(peak, v)
		}
		if peak > 30000 {
			break
		}
	}
	if peak <= 30000 {
		t.Errorf("peak %d: the two loud legs were never summed", peak)
	}
}

func TestSaturate(t *testing.T) {
	for _, tc := range []struct {
		in   int32
		want int16
	}{
		{0, 0}, {-5, -5}, {32767, 32767}, {32768, 32767}, {48000, 32767},
		{-32768, -32768}, {-32769, -32768}, {-70000, -32768},
	} {
		if got := saturate(tc.in); got != tc.want {
			t.Errorf("saturate(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestRoomMembership(t *testing.T) {
	m := newTestManager(t)
	s1 := newTestSession(t, m, SessionConfig{})
	s2 := newTestSession(t, m, SessionConfig{})
	r1, r2 := newTestRoom(t, m), newTestRoom(t, m)
	if err := r1.Add(s1, Talk, nil); err != nil {
		t.Fatal(err)
	}
	if err := r2.Add(s1, Talk, nil); !errors.Is(err, ErrInRoom) {
		t.Errorf("a session in two rooms: %v", err)
	}
	if err := r1.SetMode(s2, Listen, nil); !errors.Is(err, ErrNotInRoom) {
		t.Errorf("SetMode of a stranger: %v", err)
	}
	if err := r1.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r2.Add(s1, Talk, nil); err != nil {
		t.Errorf("after the first room closed: %v", err)
	}
	if err := r1.Add(s2, Talk, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Add to a closed room: %v", err)
	}
	for range maxRoomLegs - 1 {
		if err := r2.Add(newTestSession(t, m, SessionConfig{}), Talk, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := r2.Add(s2, Talk, nil); !errors.Is(err, ErrRoomFull) {
		t.Errorf("leg %d: %v, want ErrRoomFull", maxRoomLegs+1, err)
	}
}

// TestRoomPanicFailsItsLegs: a panic while a room mixes stops that room
// only, and every one of its legs' owners hears of it through OnTimeout;
// the pacer goes on for the others.
func TestRoomPanicFailsItsLegs(t *testing.T) {
	m := newTestManager(t)
	failed := make(chan struct{}, 3)
	r := newTestRoom(t, m)
	for range 3 {
		s := newTestSession(t, m, SessionConfig{OnTimeout: func() { failed <- struct{}{} }})
		if err := r.Add(s, Talk, nil); err != nil {
			t.Fatal(err)
		}
	}
	p := newPeer(t)
	other := newTestSession(t, m, SessionConfig{Params: Params{Remote: p.addr()}})
	r.plan.Store(&mixPlan{legs: []*roomLeg{nil}, hears: []uint32{0}}) // a nil leg: the tick panics
	for range 3 {
		waitChan(t, "a leg's OnTimeout", failed)
	}
	if r.Mixing() {
		t.Error("the failed room still mixes")
	}
	other.Play(framePrompt(2, 1000), false, nil)
	p.recv()
}
