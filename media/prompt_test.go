package media

import (
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestLoadPromptGood(t *testing.T) {
	p, err := LoadPrompt(os.DirFS("testdata/prompts"), "tone.wav")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.PCM()) != 2000 {
		t.Fatalf("%d samples, want 2000 (0.25 s)", len(p.PCM()))
	}
	if p.Duration() != 250*time.Millisecond {
		t.Errorf("duration %v", p.Duration())
	}
	if p.Frames() != 13 {
		t.Fatalf("%d frames, want 13 (12.5 padded)", p.Frames())
	}
	last := p.frame(PCMU, 12)
	for i, b := range last[80:] {
		if b != mulawSilence {
			t.Fatalf("padding byte %d is %#02x, want µ-law silence", i, b)
		}
	}
	for i, b := range p.frame(PCMA, 12)[80:] {
		if b != alawSilence {
			t.Fatalf("padding byte %d is %#02x, want A-law silence", i, b)
		}
	}
	first := p.frame(PCMU, 0)
	for i := range first {
		if want := MulawEncode(p.PCM()[i]); first[i] != want {
			t.Fatalf("µ-law frame 0 byte %d: %#02x want %#02x", i, first[i], want)
		}
	}
	if p.frame(Codec{Name: "G722", PayloadType: 9, ClockRate: 8000}, 0) != nil {
		t.Error("a frame for G.722")
	}
}

// wavFile builds a WAV file: a RIFF header, then the chunks as given.
func wavFile(chunks ...[]byte) []byte {
	body := []byte("WAVE")
	for _, c := range chunks {
		body = append(body, c...)
	}
	out := []byte("RIFF")
	out = binary.LittleEndian.AppendUint32(out, uint32(len(body)))
	return append(out, body...)
}

func chunk(id string, body []byte) []byte {
	out := append([]byte(id), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	out = append(out, body...)
	if len(body)%2 == 1 {
		out = append(out, 0)
	}
	return out
}

func fmtChunk(tag, channels uint16, rate uint32, bits uint16) []byte {
	b := binary.LittleEndian.AppendUint16(nil, tag)
	b = binary.LittleEndian.AppendUint16(b, channels)
	b = binary.LittleEndian.AppendUint32(b, rate)
	b = binary.LittleEndian.AppendUint32(b, rate*uint32(channels*bits/8))
	b = binary.LittleEndian.AppendUint16(b, channels*bits/8)
	b = binary.LittleEndian.AppendUint16(b, bits)
	return chunk("fmt ", b)
}

func TestParseWAV(t *testing.T) {
	good := fmtChunk(1, 1, 8000, 16)
	samples := chunk("data", []byte{1, 0, 2, 0, 0xff, 0xff})
	for _, tc := range []struct {
		name, want string // want: "" for success, else a fragment of the error
		data       []byte
	}{
		{"plain", "", wavFile(good, samples)},
		{"LIST chunk skipped", "", wavFile(chunk("LIST", []byte("INFOabc")), good, samples)},
		{"odd chunk padded", "", wavFile(good, chunk("junk", []byte{1, 2, 3}), samples)},
		{"empty", "not a RIFF/WAVE", nil},
		{"not riff", "not a RIFF/WAVE", []byte("RIFX\x00\x00\x00\x00WAVE")},
		{"not wave", "not a RIFF/WAVE", []byte("RIFF\x00\x00\x00\x00AVI ")},
		{"no fmt", "data chunk before fmt", wavFile(samples)},
		{"no data", "no data chunk", wavFile(good)},
		{"short fmt", "fmt chunk is 4 bytes", wavFile(chunk("fmt ", []byte{1, 0, 1, 0}), samples)},
		{"stereo", "2 channels", wavFile(fmtChunk(1, 2, 8000, 16), samples)},
		{"16 kHz", "16000 Hz", wavFile(fmtChunk(1, 1, 16000, 16), samples)},
		{"8 bit", "8 bits", wavFile(fmtChunk(1, 1, 8000, 8), samples)},
		{"float", "encoding 0x0003", wavFile(fmtChunk(3, 1, 8000, 32), samples)},
		{"truncated fmt", "truncated", wavFile(good)[:22]},
		{"data longer than file", "truncated", wavFile(good, chunk("data", []byte{1, 0})[:9])},
		{"no samples", "no samples", wavFile(good, chunk("data", nil))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pcm, err := parseWAV(tc.data)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(pcm) != 3 || pcm[0] != 1 || pcm[1] != 2 || pcm[2] != -1 {
					t.Fatalf("samples %v", pcm)
				}
				return
			}
			if !errors.Is(err, ErrBadWAV) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrBadWAV with %q", err, tc.want)
			}
		})
	}
}

func TestLoadPromptBadFiles(t *testing.T) {
	for file, want := range map[string]string{
		"stereo.wav":  "2 channels",
		"rate16k.wav": "16000 Hz",
		"u8.wav":      "8 bits",
		"alaw.wav":    "encoding 0x0006",
	} {
		_, err := LoadPrompt(os.DirFS("testdata/prompts"), file)
		if !errors.Is(err, ErrBadWAV) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), file) {
			t.Errorf("%s: error %v, want ErrBadWAV naming the file and %q", file, err, want)
		}
	}
	if _, err := LoadPrompt(fstest.MapFS{}, "missing.wav"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func FuzzWAV(f *testing.F) {
	for _, name := range []string{"tone.wav", "stereo.wav", "rate16k.wav", "u8.wav", "alaw.wav"} {
		b, err := os.ReadFile("testdata/prompts/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(wavFile(fmtChunk(1, 1, 8000, 16), chunk("data", []byte{1, 0, 2})))
	f.Add(wavFile(fmtChunk(0xFFFE, 1, 8000, 16), chunk("data", []byte{1, 0})))
	f.Fuzz(func(t *testing.T, data []byte) {
		pcm, err := parseWAV(data)
		if err != nil {
			if !errors.Is(err, ErrBadWAV) {
				t.Fatalf("error %v is not ErrBadWAV", err)
			}
			return
		}
		if len(pcm) == 0 || 2*len(pcm) > len(data) {
			t.Fatalf("%d samples from %d bytes", len(pcm), len(data))
		}
		p := NewPrompt("fuzz", pcm)
		if p.Frames()*samplesPerFrame < len(pcm) || (p.Frames()-1)*samplesPerFrame >= len(pcm) {
			t.Fatalf("%d frames for %d samples", p.Frames(), len(pcm))
		}
	})
}
