package media

import (
	"sync"
	"time"
)

// player plays one prompt on one session. next is touched only by the
// pacer goroutine; the session's atomic player pointer decides who calls
// finish, so onDone runs exactly once.
type player struct {
	prompt *Prompt
	loop   bool
	onDone func()
	next   int
	once   sync.Once
}

func (p *player) finish() {
	p.once.Do(func() {
		if p.onDone != nil {
			p.onDone()
		}
	})
}

// Play makes the prompt what s sends, from its first frame, one frame per
// 20 ms tick of the shared pacer, encoded in the session's codec. A
// playing prompt replaces relayed audio to s (music on hold). With loop
// it repeats until stopped or replaced. onDone, if non-nil, is called once
// when a non-loop prompt has finished (one tick after its last frame), or
// when playback is stopped, replaced, or the session closes; it runs on
// the pacer goroutine or the goroutine that stopped playback, and must not
// block. Play returns at once.
func (s *Session) Play(p *Prompt, loop bool, onDone func()) {
	pl := &player{prompt: p, loop: loop, onDone: onDone}
	if p == nil || s.closed.Load() {
		s.StopPlayback()
		pl.finish()
		return
	}
	if old := s.player.Swap(pl); old != nil {
		old.finish()
	}
	// The prompt wins over a relay into s: that relay leaves the kernel.
	s.kernelRecheck()
	if s.closed.Load() && s.player.CompareAndSwap(pl, nil) { // raced with Close
		pl.finish()
	}
}

// StopPlayback stops the prompt (its onDone runs); relayed audio, if any,
// resumes with the next packet.
func (s *Session) StopPlayback() {
	if pl := s.player.Swap(nil); pl != nil {
		pl.finish()
	}
}

// tick is the session's share of a pacer tick: a DTMF packet if the
// sender has one, else the player's next frame, queued in b (nil: sent
// at once).
func (s *Session) tick(now time.Duration, b *sendBatch) {
	if s.closed.Load() || s.failed.Load() || s.tickDTMF(now, b) {
		return
	}
	pl := s.player.Load()
	if pl == nil {
		return
	}
	frames := pl.prompt.Frames()
	if pl.next >= frames {
		if !pl.loop || frames == 0 {
			if s.player.CompareAndSwap(pl, nil) {
				pl.finish()
			}
			return
		}
		pl.next = 0
	}
	codec := s.params.Load().Codec
	frame := pl.prompt.frame(codec, pl.next)
	pl.next++
	if frame == nil {
		s.drop(DropOutput)
		return
	}
	s.sendFrame(b, pl, frame, codec.PayloadType, now)
}
