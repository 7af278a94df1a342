package testpeer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// ErrWAV is returned for files ReadWAV cannot read.
var ErrWAV = errors.New("testpeer: unsupported WAV")

const (
	wavFormatPCM        = 1
	wavFormatExtensible = 0xFFFE
)

// ReadWAV reads a 16-bit PCM WAV file and returns its first channel and its
// sample rate.
func ReadWAV(path string) ([]int16, int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, fmt.Errorf("%w: %s: not RIFF/WAVE", ErrWAV, path)
	}
	var channels, bits, format int
	rate := 0
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		end := off + 8 + size
		if end > len(b) || (id == "data" && size == 0) {
			end = len(b) // a header not yet completed by its writer
		}
		body := b[off+8 : end]
		switch id {
		case "fmt ":
			if len(body) < 16 {
				return nil, 0, fmt.Errorf("%w: %s: short fmt chunk", ErrWAV, path)
			}
			format = int(binary.LittleEndian.Uint16(body[0:]))
			channels = int(binary.LittleEndian.Uint16(body[2:]))
			rate = int(binary.LittleEndian.Uint32(body[4:]))
			bits = int(binary.LittleEndian.Uint16(body[14:]))
		case "data":
			if (format != wavFormatPCM && format != wavFormatExtensible) || bits != 16 || channels < 1 {
				return nil, 0, fmt.Errorf("%w: %s: format %d, %d bits, %d channels", ErrWAV, path, format, bits, channels)
			}
			return firstChannel(body, channels), rate, nil
		}
		off += 8 + size + size%2
	}
	return nil, 0, fmt.Errorf("%w: %s: no data chunk", ErrWAV, path)
}

func firstChannel(data []byte, channels int) []int16 {
	frame := 2 * channels
	out := make([]int16, len(data)/frame)
	for i := range out {
		out[i] = int16(binary.LittleEndian.Uint16(data[i*frame:]))
	}
	return out
}

// WriteWAV writes pcm as a mono 16-bit PCM WAV file at rate.
func WriteWAV(path string, pcm []int16, rate int) error {
	data := 2 * len(pcm)
	b := make([]byte, 44, 44+data)
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+data))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], wavFormatPCM)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], uint32(rate))
	binary.LittleEndian.PutUint32(b[28:], uint32(2*rate))
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(data))
	for _, s := range pcm {
		b = binary.LittleEndian.AppendUint16(b, uint16(s))
	}
	return os.WriteFile(path, b, 0o644)
}
