package media

import "strings"

// Codec is an audio codec as negotiated in SDP: its encoding name, RTP
// payload type and clock rate. Values are compared with ==.
type Codec struct {
	Name        string
	PayloadType uint8
	ClockRate   uint32
}

// The codecs media can send and receive (static payload types, RFC 3551 §6).
var (
	PCMU = Codec{Name: "PCMU", PayloadType: 0, ClockRate: 8000}
	PCMA = Codec{Name: "PCMA", PayloadType: 8, ClockRate: 8000}
)

// CodecByName returns the supported codec with SDP encoding name name
// (case-insensitive, "PCMU" or "PCMA").
func CodecByName(name string) (Codec, bool) {
	switch {
	case strings.EqualFold(name, PCMU.Name):
		return PCMU, true
	case strings.EqualFold(name, PCMA.Name):
		return PCMA, true
	}
	return Codec{}, false
}

// CodecByPayloadType returns the supported codec with static payload type pt.
func CodecByPayloadType(pt uint8) (Codec, bool) {
	switch pt {
	case PCMU.PayloadType:
		return PCMU, true
	case PCMA.PayloadType:
		return PCMA, true
	}
	return Codec{}, false
}

// samplesPerFrame is the number of 8 kHz samples (and G.711 bytes) in one
// 20 ms packet, the packetisation every peer of ours uses (RFC 3551 §4.5).
const samplesPerFrame = 160
