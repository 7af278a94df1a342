package testpeer

// G.711 (ITU-T G.711) tables, built once at init. The harness has its own
// codec on purpose: it checks the engine's media package, so it must not
// share code with it.

// Payload types of the static G.711 codecs (RFC 3551).
const (
	PTPCMU uint8 = 0
	PTPCMA uint8 = 8
)

var (
	ulawDecode [256]int16
	alawDecode [256]int16
	ulawEncode [65536]uint8
	alawEncode [65536]uint8
)

func init() {
	for i := range 256 {
		ulawDecode[i] = ulawToLinear(uint8(i))
		alawDecode[i] = alawToLinear(uint8(i))
	}
	for i := range 65536 {
		s := int16(uint16(i))
		ulawEncode[i] = linearToUlaw(s)
		alawEncode[i] = linearToAlaw(s)
	}
}

// DecodeG711 decodes payload (PT 0 µ-law or PT 8 A-law) and appends the
// samples to dst. Other payload types append nothing.
func DecodeG711(dst []int16, pt uint8, payload []byte) []int16 {
	table := &ulawDecode
	switch pt {
	case PTPCMU:
	case PTPCMA:
		table = &alawDecode
	default:
		return dst
	}
	for _, b := range payload {
		dst = append(dst, table[b])
	}
	return dst
}

// EncodeG711 encodes pcm with PT 0 (µ-law) or PT 8 (A-law) and appends the
// bytes to dst. Other payload types append nothing.
func EncodeG711(dst []byte, pt uint8, pcm []int16) []byte {
	table := &ulawEncode
	switch pt {
	case PTPCMU:
	case PTPCMA:
		table = &alawEncode
	default:
		return dst
	}
	for _, s := range pcm {
		dst = append(dst, table[uint16(s)])
	}
	return dst
}

// ulawToLinear expands one µ-law byte: bits are inverted, then
// sign(1) exponent(3) mantissa(4); the magnitude is ((m<<3)+0x84)<<e - 0x84.
func ulawToLinear(u uint8) int16 {
	u = ^u
	exp := (u >> 4) & 0x07
	mag := ((int32(u&0x0F) << 3) + 0x84) << exp
	mag -= 0x84
	if u&0x80 != 0 {
		return int16(-mag)
	}
	return int16(mag)
}

// alawToLinear expands one A-law byte: even bits are inverted (XOR 0x55),
// then sign(1, set = positive) segment(3) step(4).
func alawToLinear(a uint8) int16 {
	a ^= 0x55
	mag := int32(a&0x0F)<<4 + 8
	seg := (a & 0x70) >> 4
	if seg > 0 {
		mag = (mag + 0x100) << (seg - 1)
	}
	if a&0x80 != 0 {
		return int16(mag)
	}
	return int16(-mag)
}

const (
	ulawBias = 0x84
	ulawClip = 32635
)

// linearToUlaw compresses one sample (truncating, as the G.711 tables do).
func linearToUlaw(s int16) uint8 {
	v := int32(s)
	var sign uint8
	if v < 0 {
		v = -v
		sign = 0x80
	}
	v = min(v, ulawClip) + ulawBias
	exp := uint8(7)
	for mask := int32(0x4000); exp > 0 && v&mask == 0; mask >>= 1 {
		exp--
	}
	mant := uint8(v>>(exp+3)) & 0x0F
	return ^(sign | exp<<4 | mant)
}

// linearToAlaw compresses one sample (truncating) on the 13-bit A-law scale.
func linearToAlaw(s int16) uint8 {
	v := int32(s) >> 3
	mask := uint8(0xD5)
	if v < 0 {
		mask = 0x55
		v = -v - 1
	}
	seg := uint8(0)
	for limit := int32(0x1F); seg < 8 && v > limit; limit = limit<<1 | 1 {
		seg++
	}
	if seg >= 8 {
		return 0x7F ^ mask
	}
	out := seg << 4
	if seg < 2 {
		out |= uint8(v>>1) & 0x0F
	} else {
		out |= uint8(v>>seg) & 0x0F
	}
	return out ^ mask
}
