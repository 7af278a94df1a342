package media

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotline-cc/hotline/internal/guard"
)

// timeoutState is a session's RTP timeout: one timer that wakes at the
// earliest moment the timeout could have expired and compares the atomic
// last-packet time (STYLE 10); the packet path only stores that time.
type timeoutState struct {
	mu    sync.Mutex // guards timer
	timer *time.Timer
	base  atomic.Int64 // package clock the timeout counts from when no packet came since
	fired atomic.Bool
}

// rearm restarts the count from now (session start, receiving re-enabled).
func (t *timeoutState) rearm(now time.Duration) { t.base.Store(int64(now)) }

func (s *Session) startTimer() {
	s.timing.rearm(s.m.now())
	if s.timeout <= 0 {
		return
	}
	s.timing.mu.Lock()
	s.timing.timer = time.AfterFunc(s.timeout, s.checkTimeout)
	s.timing.mu.Unlock()
}

func (s *Session) stopTimer() {
	s.timing.mu.Lock()
	if s.timing.timer != nil {
		s.timing.timer.Stop()
	}
	s.timing.mu.Unlock()
}

// checkTimeout runs on the timer's goroutine: it fires OnTimeout once when
// the last packet (or the rearm point) is Timeout old, else sleeps until
// the earliest moment that can be true. While receiving is disabled it
// only re-checks every Timeout.
func (s *Session) checkTimeout() {
	defer guard.Recover(s.log, "media_timeout", func(any) { s.fail("timeout check panicked") })
	if s.closed.Load() || s.timing.fired.Load() {
		return
	}
	wait := s.timeout
	s.kernelFold() // packets the kernel relayed count as arrivals
	if s.recv.Load() {
		last := max(s.timing.base.Load(), s.lastPacket.Load())
		wait = time.Duration(last) + s.timeout - s.m.now()
		if wait <= 0 {
			s.fireTimeout()
			return
		}
	}
	s.timing.mu.Lock()
	if !s.closed.Load() {
		s.timing.timer.Reset(wait)
	}
	s.timing.mu.Unlock()
}

func (s *Session) fireTimeout() {
	if !s.timing.fired.CompareAndSwap(false, true) {
		return
	}
	s.m.stats.timeouts.Add(1)
	s.log.Info("rtp timeout", "timeout", s.timeout, "remote", s.dest())
	s.timedOut()
}
