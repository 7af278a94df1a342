package testpeer

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The decoders must match sox's G.711 decoding exactly for all 256 codes.
func TestG711DecodeMatchesSox(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		pt   uint8
	}{{"ul", PTPCMU}, {"al", PTPCMA}} {
		codes := make([]byte, 256)
		for i := range codes {
			codes[i] = byte(i)
		}
		ref := soxConvert(t, codes, "-t", c.name, "-r", "8000", "-c", "1", "-", "-t", "s16", "-e", "signed", "-")
		got := DecodeG711(nil, c.pt, codes)
		for i := range got {
			if want := int16(uint16(ref[2*i]) | uint16(ref[2*i+1])<<8); got[i] != want {
				t.Fatalf("%s code %#02x: got %d, sox %d", c.name, i, got[i], want)
			}
		}
	}
}

// The encoders truncate where sox rounds: decoded, both outputs must agree
// within one quantisation step of the input.
func TestG711EncodeWithinOneStepOfSox(t *testing.T) {
	t.Parallel()
	pcm := make([]int16, 65536)
	for i := range pcm {
		pcm[i] = int16(uint16(i))
	}
	raw := make([]byte, 2*len(pcm))
	for i, s := range pcm {
		raw[2*i], raw[2*i+1] = byte(s), byte(uint16(s)>>8)
	}
	for _, c := range []struct {
		name string
		pt   uint8
	}{{"u-law", PTPCMU}, {"a-law", PTPCMA}} {
		ref := soxConvert(t, raw, "-D", "-t", "s16", "-e", "signed", "-r", "8000", "-c", "1", "-", "-t", "raw", "-e", c.name, "-")
		ours := EncodeG711(nil, c.pt, pcm)
		for i := range pcm {
			a := DecodeG711(nil, c.pt, ours[i:i+1])[0]
			b := DecodeG711(nil, c.pt, ref[i:i+1])[0]
			if d := absDiff(a, b); d > quantStep(b) {
				t.Fatalf("%s sample %d: ours decodes to %d, sox to %d", c.name, pcm[i], a, b)
			}
		}
	}
}

func absDiff(a, b int16) int32 {
	d := int32(a) - int32(b)
	if d < 0 {
		return -d
	}
	return d
}

// quantStep is a generous bound on the G.711 step size around v.
func quantStep(v int16) int32 {
	m := max(int32(v), -int32(v))
	return max(m/16+16, 32)
}

func soxConvert(t *testing.T, in []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("sox", args...)
	cmd.Stdin = bytesReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sox %v: %v (apt-get install -y sox)", args, err)
	}
	return out
}

func TestToneLevel(t *testing.T) {
	t.Parallel()
	tone := Tone(1000, time.Second, 8000)
	if l := ToneLevel(tone, 1000); l < 0.95 {
		t.Fatalf("pure 1 kHz: level %.3f", l)
	}
	if l := ToneLevel(tone, 440); l > 0.05 {
		t.Fatalf("1 kHz seen as 440 Hz: level %.3f", l)
	}
	coded := DecodeG711(nil, PTPCMA, EncodeG711(nil, PTPCMA, Tone(440, time.Second, 3000)))
	if !HasTone(coded, 440) || HasTone(coded, 1000) {
		t.Fatal("A-law 440 Hz tone misjudged")
	}
	if HasTone(make([]int16, 8000), 440) || HasTone(Tone(440, time.Second, 20), 440) {
		t.Fatal("silence or line noise taken for a tone")
	}
	// Phase jumps every 20 ms (a jitter buffer splicing) must not hide a tone.
	var spliced []int16
	for i := range 50 {
		spliced = append(spliced, Tone(440, 20*time.Millisecond+time.Duration(i)*125*time.Microsecond, 8000)[i:]...)
	}
	if !HasTone(spliced, 440) {
		t.Fatalf("spliced tone: level %.3f", ToneLevel(spliced, 440))
	}
}

func TestBestCorrelationFindsPrompt(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	ref := make([]int16, 5*8000) // 5 s of a speech-like random signal
	var lp float64
	for i := range ref {
		lp = 0.7*lp + 0.3*float64(rng.IntN(20000)-10000)
		ref[i] = int16(lp)
	}
	heard := make([]int16, 10*8000)
	for i := range heard {
		heard[i] = int16(rng.IntN(200) - 100)
	}
	const delay = 12345
	for i, s := range ref {
		heard[delay+i] += s / 3
	}
	heard = DecodeG711(nil, PTPCMU, EncodeG711(nil, PTPCMU, heard))
	start := time.Now()
	c := BestCorrelation(heard, ref)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("BestCorrelation took %v", d)
	}
	if c < 0.9 {
		t.Fatalf("prompt not found: %.3f", c)
	}
	other := make([]int16, len(ref))
	for i := range other {
		other[i] = int16(rng.IntN(20000) - 10000)
	}
	if c := BestCorrelation(heard, other); c > 0.3 {
		t.Fatalf("unrelated audio correlates %.3f", c)
	}
	if BestCorrelation(nil, ref) != 0 || BestCorrelation(heard, make([]int16, 800)) != 0 {
		t.Fatal("empty or silent input must give 0")
	}
}

func TestWAVRoundTripAndSox(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "a.wav")
	tone := Tone(440, 300*time.Millisecond, 9000)
	if err := WriteWAV(p, tone, 8000); err != nil {
		t.Fatal(err)
	}
	got, rate, err := ReadWAV(p)
	if err != nil || rate != 8000 || len(got) != len(tone) || got[100] != tone[100] {
		t.Fatalf("round trip: rate %d, %d samples, err %v", rate, len(got), err)
	}
	// sox reads our file and writes a stereo 16 kHz one we can read back.
	st := filepath.Join(dir, "s.wav")
	if out, err := exec.Command("sox", "-D", p, "-r", "16000", "-c", "2", st).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v %s", err, out)
	}
	got, rate, err = ReadWAV(st)
	if err != nil || rate != 16000 || len(got) < 4700 || !HasTone(resampleHalf(got), 440) {
		t.Fatalf("sox stereo: rate %d, %d samples, err %v", rate, len(got), err)
	}
	if _, _, err := ReadWAV(filepath.Join(dir, "missing.wav")); err == nil {
		t.Fatal("missing file read")
	}
	if err := os.WriteFile(p, []byte("RIFF0000WAVEjunk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadWAV(p); err == nil {
		t.Fatal("junk WAV read")
	}
}

func resampleHalf(x []int16) []int16 {
	out := make([]int16, len(x)/2)
	for i := range out {
		out[i] = x[2*i]
	}
	return out
}
