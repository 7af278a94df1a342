package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"time"
)

// ErrBadWAV is returned (wrapped, with the file name and the reason) for a
// prompt file that is not RIFF/WAVE, 16-bit PCM, mono, 8000 Hz.
var ErrBadWAV = errors.New("media: unusable WAV prompt")

// Prompt is an announcement loaded once (at config load) and played to any
// number of sessions at once: it holds the linear PCM and both G.711
// encodings, cut into 20 ms frames of 160 bytes, the last padded with
// silence. A Prompt is immutable after LoadPrompt and safe to share.
type Prompt struct {
	Name  string
	pcm   []int16
	mulaw []byte // Frames()*160 bytes
	alaw  []byte
}

// LoadPrompt reads the WAV file name from fsys and prepares it for playback.
// The file must be RIFF/WAVE with a PCM fmt chunk: 16-bit, mono, 8000 Hz,
// and hold at least one sample; anything else is refused with ErrBadWAV
// saying what is wrong.
func LoadPrompt(fsys fs.FS, name string) (*Prompt, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("media: prompt %s: %w", name, err)
	}
	pcm, err := parseWAV(data)
	if err != nil {
		return nil, fmt.Errorf("prompt %s: %w", name, err)
	}
	return NewPrompt(name, pcm), nil
}

// NewPrompt builds a prompt from 8 kHz linear PCM (for generated tones and
// tests). It keeps pcm; the caller must not modify it afterwards.
func NewPrompt(name string, pcm []int16) *Prompt {
	frames := (len(pcm) + samplesPerFrame - 1) / samplesPerFrame
	p := &Prompt{
		Name:  name,
		pcm:   pcm,
		mulaw: make([]byte, frames*samplesPerFrame),
		alaw:  make([]byte, frames*samplesPerFrame),
	}
	EncodeMulaw(p.mulaw, pcm)
	EncodeAlaw(p.alaw, pcm)
	for i := len(pcm); i < len(p.mulaw); i++ {
		p.mulaw[i] = mulawSilence
		p.alaw[i] = alawSilence
	}
	return p
}

// Duration is the length of the audio (samples / 8000 Hz); playback takes
// Frames() * 20 ms, the last frame padded with silence.
func (p *Prompt) Duration() time.Duration {
	return time.Duration(len(p.pcm)) * time.Second / 8000
}

// PCM returns the prompt's samples (8 kHz, as loaded, without padding). The
// slice is shared: callers must not modify it.
func (p *Prompt) PCM() []int16 { return p.pcm }

// Frames returns the number of 20 ms frames playback sends.
func (p *Prompt) Frames() int { return len(p.mulaw) / samplesPerFrame }

// frame returns frame i encoded for codec c, or nil if c is not G.711.
func (p *Prompt) frame(c Codec, i int) []byte {
	off := i * samplesPerFrame
	switch c.PayloadType {
	case PCMU.PayloadType:
		return p.mulaw[off : off+samplesPerFrame]
	case PCMA.PayloadType:
		return p.alaw[off : off+samplesPerFrame]
	}
	return nil
}

// wavFormat is the part of a WAVE fmt chunk we check.
type wavFormat struct {
	tag, channels, bits uint16
	rate                uint32
}

const (
	wavTagPCM        = 1
	wavTagExtensible = 0xFFFE
)

// parseWAV returns the samples of a 16-bit mono 8 kHz PCM WAV file. It walks
// the RIFF chunks, skipping unknown ones (LIST, fact, ...).
func parseWAV(data []byte) ([]int16, error) {
	if len(data) < 12 || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: not a RIFF/WAVE file", ErrBadWAV)
	}
	var format *wavFormat
	rest := data[12:]
	for len(rest) >= 8 {
		id, size := string(rest[0:4]), binary.LittleEndian.Uint32(rest[4:8])
		body := rest[8:]
		if uint64(size) > uint64(len(body)) {
			return nil, fmt.Errorf("%w: chunk %q of %d bytes is truncated to %d", ErrBadWAV, id, size, len(body))
		}
		body = body[:size]
		switch id {
		case "fmt ":
			f, err := parseWAVFormat(body)
			if err != nil {
				return nil, err
			}
			format = &f
		case "data":
			if format == nil {
				return nil, fmt.Errorf("%w: data chunk before fmt chunk", ErrBadWAV)
			}
			return wavSamples(body)
		}
		next := 8 + int(size) + int(size&1) // chunks are padded to even length
		if next > len(rest) {
			break
		}
		rest = rest[next:]
	}
	return nil, fmt.Errorf("%w: no data chunk", ErrBadWAV)
}

func parseWAVFormat(b []byte) (wavFormat, error) {
	if len(b) < 16 {
		return wavFormat{}, fmt.Errorf("%w: fmt chunk is %d bytes, want at least 16", ErrBadWAV, len(b))
	}
	f := wavFormat{
		tag:      binary.LittleEndian.Uint16(b[0:2]),
		channels: binary.LittleEndian.Uint16(b[2:4]),
		rate:     binary.LittleEndian.Uint32(b[4:8]),
		bits:     binary.LittleEndian.Uint16(b[14:16]),
	}
	if f.tag == wavTagExtensible && len(b) >= 26 {
		f.tag = binary.LittleEndian.Uint16(b[24:26]) // sub-format GUID starts with the tag
	}
	switch {
	case f.tag != wavTagPCM:
		return f, fmt.Errorf("%w: encoding %#04x, want PCM (1)", ErrBadWAV, f.tag)
	case f.channels != 1:
		return f, fmt.Errorf("%w: %d channels, want mono", ErrBadWAV, f.channels)
	case f.rate != 8000:
		return f, fmt.Errorf("%w: %d Hz, want 8000 Hz", ErrBadWAV, f.rate)
	case f.bits != 16:
		return f, fmt.Errorf("%w: %d bits per sample, want 16", ErrBadWAV, f.bits)
	}
	return f, nil
}

func wavSamples(b []byte) ([]int16, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: no samples", ErrBadWAV)
	}
	pcm := make([]int16, len(b)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return pcm, nil
}
