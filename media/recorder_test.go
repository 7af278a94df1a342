package media

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// readStereoWAV reads a recording back: its left and right channels.
func readStereoWAV(t *testing.T, path string) (left, right []int16) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < wavHeaderBytes || string(b[0:4]) != "RIFF" || string(b[36:40]) != "data" {
		t.Fatalf("%s: not a WAV file", path)
	}
	if got := binary.LittleEndian.Uint16(b[22:]); got != 2 {
		t.Fatalf("%d channels, want 2", got)
	}
	n := int(binary.LittleEndian.Uint32(b[40:]))
	if n != len(b)-wavHeaderBytes || int(binary.LittleEndian.Uint32(b[4:])) != len(b)-8 {
		t.Fatalf("header sizes %d (data) for a file of %d bytes", n, len(b))
	}
	for i := wavHeaderBytes; i+4 <= len(b); i += 4 {
		left = append(left, int16(binary.LittleEndian.Uint16(b[i:])))
		right = append(right, int16(binary.LittleEndian.Uint16(b[i+2:])))
	}
	return left, right
}

// silentRun is the longest run of frames in x that are all zero.
func silentRun(x []int16) int {
	best, run := 0, 0
	for i := 0; i+samplesPerFrame <= len(x); i += samplesPerFrame {
		zero := true
		for _, v := range x[i : i+samplesPerFrame] {
			zero = zero && v == 0
		}
		if run = map[bool]int{true: run + 1, false: 0}[zero]; run > best {
			best = run
		}
	}
	return best
}

// TestRecorderStereo: a bridged call recorded, the caller (400 Hz, PCMU)
// on the left, the agent (800 Hz, PCMA) on the right; paused for half a
// second (silence in both); a department (1600 Hz) joins on the right.
// The file is a valid stereo WAV whose hash Stop reports.
func TestRecorderStereo(t *testing.T) {
	m := newTestManager(t)
	caller := newTonePeer(t, m, 400, PCMU)
	agent := newTonePeer(t, m, 800, PCMA)
	dept := newTonePeer(t, m, 1600, PCMU)
	Bridge(caller.s, agent.s)
	path := filepath.Join(t.TempDir(), "rec", "call.wav")
	r, err := m.StartRecording(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.StartRecording(path, nil); !errors.Is(err, ErrRecording) {
		t.Fatalf("a second recording into the same file: %v, want ErrRecording", err)
	}
	r.Tap(caller.s, Left)
	r.Tap(agent.s, Right)
	if m.Stats().Recordings != 1 {
		t.Fatalf("stats: %d recordings, want 1", m.Stats().Recordings)
	}
	at := func(n int64) { waitFor(t, "recorded frames", func() bool { return r.Frames() >= n }) }
	at(50)
	r.Pause(true)
	at(r.Frames() + 25)
	r.Pause(false)
	r.Tap(dept.s, Right)
	at(r.Frames() + 50)
	res := r.Stop()
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if again := r.Stop(); again != res {
		t.Fatalf("second Stop: %+v, want %+v", again, res)
	}
	if m.Stats().Recordings != 0 || caller.s.rec.Load() != nil {
		t.Fatal("a stopped recording still taps or is paced")
	}
	if sum, _ := fileSHA256(path); sum != res.SHA256 || len(sum) != 64 {
		t.Fatalf("sha256 %q, file %q", res.SHA256, sum)
	}
	left, right := readStereoWAV(t, path)
	if got := res.Duration; len(left) != int(got/frameInterval)*samplesPerFrame || got < 2500*time.Millisecond {
		t.Fatalf("duration %v for %d samples, want at least 2.5 s", got, len(left))
	}
	first, last := 40*samplesPerFrame, len(left)-40*samplesPerFrame
	for _, c := range []struct {
		what      string
		x         []int16
		want, not []float64
	}{
		{"left, first 0.8 s", left[:first], []float64{400}, []float64{800, 1600}},
		{"right, first 0.8 s", right[:first], []float64{800}, []float64{400, 1600}},
		{"left, last 0.8 s", left[last:], []float64{400}, []float64{800, 1600}},
		{"right, last 0.8 s", right[last:], []float64{800, 1600}, []float64{400}},
	} {
		for _, f := range c.want {
			if l := toneLevel(c.x, f); l < toneAmp/4 {
				t.Errorf("%s: %v Hz at level %.0f, want it", c.what, f, l)
			}
		}
		for _, f := range c.not {
			if l := toneLevel(c.x, f); l > toneAmp/20 {
				t.Errorf("%s: %v Hz at level %.0f, want none", c.what, f, l)
			}
		}
	}
	if l, r := silentRun(left), silentRun(right); l < 24 || r < 24 {
		t.Errorf("longest silent run %d frames left, %d right: want the 25-frame pause", l, r)
	}
}

// TestRecorderWriteFails: a file that cannot be written (a full disk)
// fails the recording, never blocks the pacer, and Stop says why.
func TestRecorderWriteFails(t *testing.T) {
	m := newTestManager(t)
	caller := newTonePeer(t, m, 400, PCMU)
	path := filepath.Join(t.TempDir(), "ro.wav")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path) // read-only: every write fails
	if err != nil {
		t.Fatal(err)
	}
	r := newRecorder(m, path, nil)
	go r.write(f)
	r.Tap(caller.s, Left)
	if err := m.registerPaced(r); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the recording failing", func() bool { return r.Err() != nil })
	n := r.Frames()
	waitFor(t, "the caller's session ticking on", func() bool { return caller.s.Stats().PacketsIn > 50 })
	if r.Frames() != n {
		t.Errorf("a failed recording made %d more frames", r.Frames()-n)
	}
	res := r.Stop()
	if !errors.Is(res.Err, ErrRecording) || !errors.Is(r.Err(), ErrRecording) {
		t.Fatalf("stop: %+v, want ErrRecording", res)
	}
}

// TestRecorderFrameAllocs: a recorded frame allocates nothing.
func TestRecorderFrameAllocs(t *testing.T) {
	m := newTestManager(t)
	r := newRecorder(m, filepath.Join(t.TempDir(), "x.wav"), nil)
	taps := []*recTap{{ch: Left}, {ch: Right}}
	taps[0].live, taps[1].live = true, true
	if n := testing.AllocsPerRun(100, func() { r.frame(taps) }); n != 0 {
		t.Fatalf("%v allocations per frame", n)
	}
}

// BenchmarkRecorderFrame is the pacer's cost of one 20 ms stereo frame of
// a recorded call (two tapped legs, both talking); the writer's cost is
// the file's: 32 KB/s of audio per recorded call.
func BenchmarkRecorderFrame(b *testing.B) {
	m := newTestManager(b)
	r := newRecorder(m, filepath.Join(b.TempDir(), "x.wav"), nil)
	taps := []*recTap{{ch: Left}, {ch: Right}}
	for _, t := range taps {
		t.live = true
		for k := range t.cur {
			t.cur[k] = int16(k * 37)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		r.frame(taps)
		select { // the writer's part here: hand a full chunk back
		case c := <-r.full:
			r.free <- c.i
		default:
		}
	}
	if r.Err() != nil {
		b.Fatal(r.Err())
	}
}
