package media

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func readVector(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func le16(b []byte) []int16 {
	out := make([]int16, len(b)/2)
	for i := range out {
		out[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return out
}

// ordinal orders G.711 codes by the level they stand for, so that adjacent
// quantisation levels (also across zero) differ by one. µ-law has two codes
// for zero (same ordinal); A-law has none (±8 are adjacent).
func ordinal(b byte, alaw bool) int {
	if alaw {
		a := b ^ 0x55
		mag := int(a & 0x7F)
		if a&0x80 != 0 {
			return 128 + mag
		}
		return 127 - mag
	}
	u := ^b
	mag := int(u & 0x7F)
	if u&0x80 == 0 {
		return 128 + mag
	}
	return 128 - mag
}

func TestG711DecodeMatchesSox(t *testing.T) {
	dir := filepath.Join("testdata", "g711")
	codes := readVector(t, dir, "codes.raw")
	for _, tc := range []struct {
		file   string
		decode func(byte) int16
	}{
		{"ulaw-dec.raw", MulawDecode},
		{"alaw-dec.raw", AlawDecode},
	} {
		want := le16(readVector(t, dir, tc.file))
		if len(want) != 256 || len(codes) != 256 {
			t.Fatalf("%s: %d samples, want 256", tc.file, len(want))
		}
		for i, c := range codes {
			if got := tc.decode(c); got != want[i] {
				t.Errorf("%s: code %#02x decodes to %d, sox says %d", tc.file, c, got, want[i])
			}
		}
	}
}

func TestG711EncodeWithinOneStepOfSox(t *testing.T) {
	dir := filepath.Join("testdata", "g711")
	pcm := le16(readVector(t, dir, "pcm16.raw"))
	for _, tc := range []struct {
		file   string
		alaw   bool
		encode func([]byte, []int16)
	}{
		{"pcm16.ulaw", false, EncodeMulaw},
		{"pcm16.alaw", true, EncodeAlaw},
	} {
		want := readVector(t, dir, tc.file)
		if len(want) != len(pcm) {
			t.Fatalf("%s: %d codes for %d samples", tc.file, len(want), len(pcm))
		}
		got := make([]byte, len(pcm))
		tc.encode(got, pcm)
		differ := 0
		for i := range got {
			d := ordinal(got[i], tc.alaw) - ordinal(want[i], tc.alaw)
			if d < -1 || d > 1 {
				t.Fatalf("%s: sample %d encodes to %#02x, sox %#02x: more than one step apart",
					tc.file, pcm[i], got[i], want[i])
			}
			if d != 0 {
				differ++
			}
		}
		t.Logf("%s: %d of %d codes one step from sox's (sox rounds, we truncate)", tc.file, differ, len(got))
		if differ > len(got)/10 {
			t.Errorf("%s: %d of %d codes differ from sox's: a systematic error, not rounding", tc.file, differ, len(got))
		}
	}
}

// TestG711VectorsRegenerate runs testdata/gen-g711.sh with the installed sox
// and checks it reproduces the committed vectors byte for byte.
func TestG711VectorsRegenerate(t *testing.T) {
	if _, err := exec.LookPath("sox"); err != nil {
		t.Fatal("sox is required (make test installs it):", err)
	}
	dir := t.TempDir()
	cmd := exec.Command("sh", filepath.Join("testdata", "gen-g711.sh"), dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen-g711.sh: %v\n%s", err, out)
	}
	for _, name := range []string{"pcm16.raw", "pcm16.ulaw", "pcm16.alaw", "codes.raw", "ulaw-dec.raw", "alaw-dec.raw"} {
		if !bytes.Equal(readVector(t, dir, name), readVector(t, filepath.Join("testdata", "g711"), name)) {
			t.Errorf("%s: sox output differs from the committed vector", name)
		}
	}
}

func TestG711SilenceCodes(t *testing.T) {
	if MulawEncode(0) != mulawSilence || AlawEncode(0) != alawSilence {
		t.Fatalf("silence: µ-law %#02x A-law %#02x", MulawEncode(0), AlawEncode(0))
	}
}

func TestG711RoundTripIsIdempotent(t *testing.T) {
	for c := range 256 {
		b := byte(c)
		if got := MulawEncode(MulawDecode(b)); MulawDecode(got) != MulawDecode(b) {
			t.Errorf("µ-law %#02x: re-encodes to %#02x", b, got)
		}
		if got := AlawEncode(AlawDecode(b)); got != b {
			t.Errorf("A-law %#02x: re-encodes to %#02x", b, got)
		}
	}
}

// TestTranscodeNearest checks the transcoding tables never do worse than
// decoding and re-encoding, and that µ-law -> A-law -> µ-law stays within one
// step.
func TestTranscodeNearest(t *testing.T) {
	abs := func(v int) int { return max(v, -v) }
	for c := range 256 {
		b := byte(c)
		src := int(MulawDecode(b))
		var a [1]byte
		MulawToAlaw(a[:], []byte{b})
		if got, ref := abs(int(AlawDecode(a[0]))-src), abs(int(AlawDecode(AlawEncode(int16(src))))-src); got > ref {
			t.Errorf("µ-law %#02x (%d): A-law %#02x is %d away, encoder gets %d", b, src, a[0], got, ref)
		}
		var u [1]byte
		AlawToMulaw(u[:], a[:])
		if d := ordinal(u[0], false) - ordinal(b, false); d < -1 || d > 1 {
			t.Errorf("µ-law %#02x -> A-law %#02x -> µ-law %#02x: %d steps", b, a[0], u[0], d)
		}
		srcA := int(AlawDecode(b))
		AlawToMulaw(u[:], []byte{b})
		if got, ref := abs(int(MulawDecode(u[0]))-srcA), abs(int(MulawDecode(MulawEncode(int16(srcA))))-srcA); got > ref {
			t.Errorf("A-law %#02x (%d): µ-law %#02x is %d away, encoder gets %d", b, srcA, u[0], got, ref)
		}
	}
}

func TestCodecByName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want Codec
		ok   bool
	}{
		{"PCMU", PCMU, true}, {"pcmu", PCMU, true}, {"PcmA", PCMA, true}, {"G729", Codec{}, false}, {"", Codec{}, false},
	} {
		got, ok := CodecByName(tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("CodecByName(%q) = %v, %v", tc.name, got, ok)
		}
	}
	if c, ok := CodecByPayloadType(8); !ok || c != PCMA {
		t.Errorf("CodecByPayloadType(8) = %v, %v", c, ok)
	}
}

func BenchmarkMulawToAlaw(b *testing.B) {
	src := bytes.Repeat([]byte{0x12, 0x80, 0xFF, 0x7F}, 40)
	dst := make([]byte, len(src))
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		MulawToAlaw(dst, src)
	}
}
