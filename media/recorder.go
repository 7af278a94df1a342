package media

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotline-cc/hotline/internal/guard"
)

// Channel is the side of a stereo recording a session's audio goes to.
type Channel uint8

const (
	// Left is the citizen's side.
	Left Channel = iota
	// Right is the centre's side: the agent, a department, a supervisor
	// who barges or whispers.
	Right
)

// Recording sizes: the pacer fills chunks of recChunkFrames frames, a
// writer goroutine writes them; recChunks of them (3.2 s) absorb a slow
// disk. A disk slower than that for longer fails the recording.
const (
	recChunkFrames = 10
	recFrameBytes  = samplesPerFrame * 2 * 2 // stereo, 16-bit
	recChunkBytes  = recChunkFrames * recFrameBytes
	recChunks      = 16
	wavHeaderBytes = 44
)

// ErrRecording: the recording could not be written (a full disk, an I/O
// error, a disk too slow to keep up). The call is not affected.
var ErrRecording = errors.New("media: recording failed")

// RecordingResult is what a finished recording is: its length, the
// SHA-256 of the whole file, and the error that stopped it early, if any
// (the file then holds what was written before).
type RecordingResult struct {
	Duration time.Duration
	SHA256   string
	Err      error
}

// Recorder writes one call's audio to a stereo WAV file (16-bit PCM,
// 8000 Hz): each tapped session's inbound audio goes to its channel
// (Tap), several sessions on one channel are summed. On every tick of the
// manager's shared 20 ms pacer it writes one frame of each channel, so
// the two sides stay time-aligned and a side that sends nothing is
// silence; while paused, both are silence. The packet path only decodes
// into a small per-session queue (one atomic load per packet for a
// session nobody records); the file is written by one goroutine per
// recording, never by the pacer or a reader, so a slow or full disk ends
// the recording, never a call.
type Recorder struct {
	m    *Manager
	log  *slog.Logger
	slot int // index in Manager.rooms (the pacer's list), guarded by Manager.mu
	path string

	taps   atomic.Pointer[[]*recTap] // copy-on-write under mu
	mu     sync.Mutex                // guards taps writes
	paused atomic.Bool
	failed atomic.Pointer[error]

	tickMu  sync.Mutex // pacer tick vs Stop
	stopped bool       // under tickMu
	clock   mixer      // owed frames (acc unused)
	ring    *[recChunks][recChunkBytes]byte
	cur     int           // chunk being filled, -1: none
	fill    int           // bytes in it
	frames  atomic.Int64  // frames made (pacer), read by Frames
	free    chan int      // chunk indexes the pacer may fill
	full    chan recChunk // chunks the writer writes, in order
	done    chan struct{}
	result  RecordingResult
}

// recChunk is a filled chunk of the ring: its index and length.
type recChunk struct{ i, n int }

// recTap is one session's audio queued for a recording.
type recTap struct {
	roomLeg
	ch  Channel
	rec *Recorder
}

// StartRecording creates path (its directory too; mode 0600, an existing
// file is an error) and starts recording into it; nothing is heard until
// sessions are tapped. log carries the call's identity; nil: the
// manager's.
func (m *Manager) StartRecording(path string, log *slog.Logger) (*Recorder, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRecording, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRecording, err)
	}
	r := newRecorder(m, path, log)
	go r.write(f)
	if err := m.registerPaced(r); err != nil {
		r.Stop()
		_ = os.Remove(path)
		return nil, err
	}
	return r, nil
}

// newRecorder is a recorder the pacer does not tick (tests tick it).
func newRecorder(m *Manager, path string, log *slog.Logger) *Recorder {
	if log == nil {
		log = m.log
	}
	r := &Recorder{
		m: m, log: log, slot: -1, path: path, cur: -1,
		ring: new([recChunks][recChunkBytes]byte),
		free: make(chan int, recChunks), full: make(chan recChunk, recChunks),
		done: make(chan struct{}),
	}
	for i := range recChunks {
		r.free <- i
	}
	r.taps.Store(&[]*recTap{})
	return r
}

// Path is the recording's file.
func (r *Recorder) Path() string { return r.path }

// Tap sends s's inbound audio to channel ch of this recording (from the
// next packet), moving it from any other recording or channel.
func (r *Recorder) Tap(s *Session, ch Channel) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t := s.rec.Load(); t != nil && t.rec == r && t.ch == ch {
		return // as it is: its queued frames stay
	}
	old := *r.taps.Load()
	next := make([]*recTap, 0, len(old)+1)
	for _, t := range old {
		if t.s != s {
			next = append(next, t)
		}
	}
	t := &recTap{roomLeg: roomLeg{s: s}, ch: ch, rec: r}
	next = append(next, t)
	r.taps.Store(&next)
	s.rec.Store(t)
	s.kernelRecheck() // the recording reads s's audio in user space
}

// Untap stops recording s.
func (r *Recorder) Untap(s *Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.taps.Load()
	next := make([]*recTap, 0, len(old))
	for _, t := range old {
		if t.s == s {
			t.gone.Store(true)
			s.rec.CompareAndSwap(t, nil)
			continue
		}
		next = append(next, t)
	}
	r.taps.Store(&next)
}

// Frames is how many 20 ms frames the recording holds so far.
func (r *Recorder) Frames() int64 { return r.frames.Load() }

// Pause makes the recording silence from the next frame until Pause(false).
func (r *Recorder) Pause(on bool) { r.paused.Store(on) }

// Paused reports whether the recording is paused.
func (r *Recorder) Paused() bool { return r.paused.Load() }

// Err is the error that stopped the recording early, or nil.
func (r *Recorder) Err() error {
	if e := r.failed.Load(); e != nil {
		return *e
	}
	return nil
}

// Stop ends the recording: the taps are removed, the last frames written,
// the WAV header completed, the file closed and hashed. It blocks until
// then; later calls return the same result.
func (r *Recorder) Stop() RecordingResult {
	r.m.unregisterPaced(r)
	r.mu.Lock()
	for _, t := range *r.taps.Load() {
		t.gone.Store(true)
		t.s.rec.CompareAndSwap(t, nil)
	}
	r.taps.Store(&[]*recTap{})
	r.mu.Unlock()
	r.tickMu.Lock()
	if !r.stopped {
		r.stopped = true
		if r.cur >= 0 && r.fill > 0 {
			r.full <- recChunk{r.cur, r.fill} // room: a chunk index is in one channel at a time
		}
		close(r.full)
	}
	r.tickMu.Unlock()
	<-r.done
	return r.result
}

// fail stops the recording's frames after an error (or a panic in its
// tick): what was written stays, Stop reports err.
func (r *Recorder) failWith(err error) {
	if r.failed.CompareAndSwap(nil, &err) {
		r.log.Error("recording failed: the call goes on without it", "path", r.path, "error", err)
	}
}

// fail is the pacer's hook after a panic in tick.
func (r *Recorder) fail() { r.failWith(fmt.Errorf("%w: the recorder panicked", ErrRecording)) }

func (r *Recorder) slotPtr() *int { return &r.slot }

// tick writes the frames owed since the last tick. It allocates nothing.
func (r *Recorder) tick(now time.Duration, _ *sendBatch) {
	r.tickMu.Lock()
	defer r.tickMu.Unlock()
	if r.stopped || r.failed.Load() != nil {
		return
	}
	taps := *r.taps.Load()
	for range r.clock.owed(now) {
		for _, t := range taps {
			t.take()
		}
		if !r.frame(taps) {
			return
		}
	}
}

// frame appends one stereo frame to the current chunk, handing it to the
// writer when full; false when the writer is too far behind (failed).
func (r *Recorder) frame(taps []*recTap) bool {
	if r.cur < 0 {
		select {
		case r.cur = <-r.free:
			r.fill = 0
		default:
			r.failWith(fmt.Errorf("%w: the disk did not keep up (%v of audio waiting)", ErrRecording, recChunks*recChunkFrames*frameInterval))
			return false
		}
	}
	out := r.ring[r.cur][r.fill : r.fill+recFrameBytes]
	paused := r.paused.Load()
	for k := range samplesPerFrame {
		var sum [2]int32
		if !paused {
			for _, t := range taps {
				if t.live && !t.gone.Load() {
					sum[t.ch&1] += int32(t.cur[k])
				}
			}
		}
		binary.LittleEndian.PutUint16(out[4*k:], uint16(saturate(sum[0])))
		binary.LittleEndian.PutUint16(out[4*k+2:], uint16(saturate(sum[1])))
	}
	r.fill += recFrameBytes
	r.frames.Add(1)
	if r.fill == recChunkBytes {
		r.full <- recChunk{r.cur, r.fill} // never blocks: a chunk index is in one channel at a time
		r.cur = -1
	}
	return true
}

// write is the recording's writer goroutine: the header, then each chunk
// the pacer fills, then (Stop) the header's sizes and the file's hash.
func (r *Recorder) write(f *os.File) {
	defer close(r.done)
	defer guard.Recover(r.log, "media_recorder", func(any) { r.fail(); _ = f.Close() })
	var written int64
	_, err := f.Write(wavHeader(0))
	if err != nil {
		r.failWith(fmt.Errorf("%w: %v", ErrRecording, err))
	}
	for c := range r.full {
		if err == nil {
			var k int
			k, err = f.Write(r.ring[c.i][:c.n])
			written += int64(k)
			if err != nil {
				r.failWith(fmt.Errorf("%w: %v", ErrRecording, err))
			}
		}
		r.free <- c.i
	}
	if err == nil {
		_, err = f.WriteAt(wavHeader(written), 0)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	r.result.Duration = time.Duration(written/recFrameBytes) * frameInterval
	if err != nil {
		r.failWith(fmt.Errorf("%w: %v", ErrRecording, err))
	}
	r.result.Err = r.Err()
	r.result.SHA256, err = fileSHA256(r.path)
	if err != nil && r.result.Err == nil {
		r.result.Err = fmt.Errorf("%w: %v", ErrRecording, err)
	}
}

// wavHeader is the 44-byte header of a stereo 16-bit 8000 Hz PCM WAV file
// holding dataBytes of samples.
func wavHeader(dataBytes int64) []byte {
	h := make([]byte, wavHeaderBytes)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(36+dataBytes))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1) // PCM
	binary.LittleEndian.PutUint16(h[22:], 2) // channels
	binary.LittleEndian.PutUint32(h[24:], 8000)
	binary.LittleEndian.PutUint32(h[28:], 8000*4) // bytes per second
	binary.LittleEndian.PutUint16(h[32:], 4)      // bytes per frame
	binary.LittleEndian.PutUint16(h[34:], 16)     // bits per sample
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(dataBytes))
	return h
}

// fileSHA256 is the hex SHA-256 of a file's contents.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
