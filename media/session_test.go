package media

import (
	"errors"
	"net/netip"
	"runtime"
	"testing"
	"time"
)

func TestRTPTimeoutFires(t *testing.T) {
	m := newTestManager(t)
	fired := make(chan time.Time, 1)
	start := time.Now()
	newTestSession(t, m, SessionConfig{Timeout: 60 * time.Millisecond, OnTimeout: func() { fired <- time.Now() }})
	if at := waitChan(t, "RTP timeout", fired); at.Sub(start) < 60*time.Millisecond {
		t.Errorf("timeout after %v", at.Sub(start))
	}
	if m.Stats().Timeouts != 1 {
		t.Errorf("Timeouts %d", m.Stats().Timeouts)
	}
}

func TestRTPTimeoutPostponedByPackets(t *testing.T) {
	m := newTestManager(t)
	p := newPeer(t)
	fired := make(chan time.Time, 1)
	s := newTestSession(t, m, SessionConfig{Params: Params{Remote: p.addr()}, Timeout: 150 * time.Millisecond, OnTimeout: func() { fired <- time.Now() }})
	p.sendRTP(s.LocalAddr(), PCMU.PayloadType, false, make([]byte, 160))
	waitFor(t, "the packet", func() bool { return s.Stats().PacketsIn == 1 })
	last := s.Stats().LastPacket
	if at := waitChan(t, "RTP timeout", fired); at.Sub(last) < 150*time.Millisecond {
		t.Errorf("timeout %v after the last packet", at.Sub(last))
	}
}

// TestRTPTimeoutDecision drives the timer's check by hand, with the clock
// values placed where each case needs them.
func TestRTPTimeoutDecision(t *testing.T) {
	m := newTestManager(t)
	var fired int
	s := newTestSession(t, m, SessionConfig{Timeout: time.Hour, OnTimeout: func() { fired++ }})
	old := int64(m.now() - 2*time.Hour)
	s.timing.base.Store(old)
	s.SetDirection(true, false)
	s.checkTimeout()
	if fired != 0 {
		t.Fatal("fired while receiving is disabled")
	}
	s.SetDirection(true, true) // restarts the count
	s.checkTimeout()
	if fired != 0 {
		t.Fatal("fired right after receiving was enabled again")
	}
	s.timing.base.Store(old)
	s.lastPacket.Store(int64(m.now()))
	s.checkTimeout()
	if fired != 0 {
		t.Fatal("fired despite a recent packet")
	}
	s.lastPacket.Store(old)
	s.checkTimeout()
	s.checkTimeout()
	if fired != 1 {
		t.Fatalf("fired %d times, want once", fired)
	}
}

func TestCloseLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	m, err := NewManager(Config{Address: netip.MustParseAddr("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	p := newPeer(t)
	done := make(chan struct{})
	var sessions []*Session
	for range 4 {
		s, err := m.NewSession(SessionConfig{Params: Params{Remote: p.addr(), DTMF: 101}, Timeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		sessions = append(sessions, s)
	}
	Bridge(sessions[0], sessions[1])
	sessions[2].Play(framePrompt(3, 0), true, func() { close(done) })
	if err := sessions[3].SendDTMF('1', time.Second); err != nil {
		t.Fatal(err)
	}
	p.sendRTP(sessions[0].LocalAddr(), PCMU.PayloadType, false, make([]byte, 160))
	p.recv()
	if err := sessions[1].Close(); err != nil {
		t.Fatal(err)
	}
	if err := sessions[1].Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	waitChan(t, "onDone on close", done)
	waitFor(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
	if _, err := m.NewSession(SessionConfig{}); !errors.Is(err, ErrClosed) {
		t.Errorf("NewSession after Close: %v", err)
	}
	if err := sessions[0].SendDTMF('1', time.Second); !errors.Is(err, ErrClosed) {
		t.Errorf("SendDTMF after Close: %v", err)
	}
	called := false
	sessions[0].Play(framePrompt(1, 0), false, func() { called = true })
	if !called {
		t.Error("Play on a closed session did not call onDone")
	}
	if st := m.Stats(); st.ActiveSessions != 0 {
		t.Errorf("%d sessions active after Close", st.ActiveSessions)
	}
}

func TestConfigErrors(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	for _, cfg := range []Config{
		{},
		{Address: lo, PortMin: 10001, PortMax: 10001},
		{Address: lo, PortMin: 20000, PortMax: 10000},
		{Address: lo, PortMin: 0, PortMax: 70000},
	} {
		if _, err := NewManager(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v, want ErrConfig", cfg, err)
		}
	}
	m := newTestManager(t)
	if _, err := m.NewSession(SessionConfig{Params: Params{Codec: Codec{Name: "G722", PayloadType: 9, ClockRate: 8000}}}); !errors.Is(err, ErrCodec) {
		t.Errorf("G.722: %v", err)
	}
	s := newTestSession(t, m, SessionConfig{Params: Params{Codec: Codec{Name: "pcma", PayloadType: 8, ClockRate: 8000}}})
	if s.params.Load().Codec != PCMA {
		t.Errorf("codec not canonical: %+v", s.params.Load().Codec)
	}
}

func TestNoRemoteSendsNothing(t *testing.T) {
	m := newTestManager(t)
	s := newTestSession(t, m, SessionConfig{})
	done := make(chan struct{})
	s.Play(framePrompt(2, 0), false, func() { close(done) })
	waitChan(t, "prompt end", done)
	if st := s.Stats(); st.PacketsOut != 0 || m.Stats().PacketsDropped < 2 {
		t.Errorf("sent %d packets with no remote; dropped %d", st.PacketsOut, m.Stats().PacketsDropped)
	}
}
