package media

// G.711 (ITU-T G.711) µ-law and A-law. Every conversion is a table lookup;
// the tables are filled once in init (STYLE 12). The encoders follow the
// G.711 reference segment search and truncate like it; the decoders return
// the reference reconstruction levels.

var (
	mulawEncTable [1 << 14]byte // index: 14-bit two's complement sample (s >> 2)
	alawEncTable  [1 << 13]byte // index: 13-bit two's complement sample (s >> 3)
	mulawDecTable [256]int16
	alawDecTable  [256]int16
	mulawToAlaw   [256]byte
	alawToMulaw   [256]byte
)

func init() {
	for i := range 256 {
		mulawDecTable[i] = mulawDecodeRef(byte(i))
		alawDecTable[i] = alawDecodeRef(byte(i))
	}
	for i := range len(mulawEncTable) {
		v := int32(i)
		if v >= 1<<13 {
			v -= 1 << 14
		}
		mulawEncTable[i] = mulawEncode14(v)
	}
	for i := range len(alawEncTable) {
		v := int32(i)
		if v >= 1<<12 {
			v -= 1 << 13
		}
		alawEncTable[i] = alawEncode13(v)
	}
	for i := range 256 {
		mulawToAlaw[i] = nearestCode(int32(mulawDecTable[i]), &alawDecTable)
		alawToMulaw[i] = nearestCode(int32(alawDecTable[i]), &mulawDecTable)
	}
}

// mulawEncode14 encodes a 14-bit sample (the reference encoder's input).
func mulawEncode14(v int32) byte {
	const bias, clip = 0x21, 8159
	mask := byte(0xFF)
	if v < 0 {
		v = -v
		mask = 0x7F
	}
	v = min(v, clip) + bias
	seg := segment(v, 0x3F)
	if seg >= 8 {
		return 0x7F ^ mask
	}
	code := byte(seg<<4) | byte((v>>(seg+1))&0x0F)
	return code ^ mask
}

// alawEncode13 encodes a 13-bit sample (the reference encoder's input).
func alawEncode13(v int32) byte {
	mask := byte(0xD5)
	if v < 0 {
		mask = 0x55
		v = -v - 1
	}
	seg := segment(v, 0x1F)
	if seg >= 8 {
		return 0x7F ^ mask
	}
	code := byte(seg << 4)
	if seg < 2 {
		code |= byte((v >> 1) & 0x0F)
	} else {
		code |= byte((v >> seg) & 0x0F)
	}
	return code ^ mask
}

// segment returns the G.711 segment of magnitude v: the first i for which
// v <= (first+1)<<i - 1, or 8 when v is beyond the last segment.
func segment(v, first int32) int32 {
	end := first
	for i := range int32(8) {
		if v <= end {
			return i
		}
		end = end<<1 | 1
	}
	return 8
}

func mulawDecodeRef(b byte) int16 {
	u := ^b
	t := (int32(u&0x0F) << 3) + 0x84
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return int16(0x84 - t)
	}
	return int16(t - 0x84)
}

func alawDecodeRef(b byte) int16 {
	a := b ^ 0x55
	t := int32(a&0x0F) << 4
	switch seg := (a & 0x70) >> 4; seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}

// nearestCode returns the code whose reconstruction level in dec is closest
// to v (on a tie, the one on v's side of zero): transcoding by nearest level
// loses less than decode-then-truncate.
func nearestCode(v int32, dec *[256]int16) byte {
	best, bestDist := 0, int32(1<<30)
	for c, level := range dec {
		d := v - int32(level)
		if d < 0 {
			d = -d
		}
		if d < bestDist || d == bestDist && (level > 0) == (v >= 0) {
			best, bestDist = c, d
		}
	}
	return byte(best)
}

// MulawEncode encodes one 16-bit linear sample to µ-law.
func MulawEncode(s int16) byte { return mulawEncTable[uint16(s)>>2] }

// MulawDecode decodes one µ-law byte to a 16-bit linear sample.
func MulawDecode(b byte) int16 { return mulawDecTable[b] }

// AlawEncode encodes one 16-bit linear sample to A-law.
func AlawEncode(s int16) byte { return alawEncTable[uint16(s)>>3] }

// AlawDecode decodes one A-law byte to a 16-bit linear sample.
func AlawDecode(b byte) int16 { return alawDecTable[b] }

// EncodeMulaw encodes min(len(dst), len(src)) samples of src into dst.
func EncodeMulaw(dst []byte, src []int16) {
	n := min(len(dst), len(src))
	for i, s := range src[:n] {
		dst[i] = mulawEncTable[uint16(s)>>2]
	}
}

// DecodeMulaw decodes min(len(dst), len(src)) µ-law bytes of src into dst.
func DecodeMulaw(dst []int16, src []byte) {
	n := min(len(dst), len(src))
	for i, b := range src[:n] {
		dst[i] = mulawDecTable[b]
	}
}

// EncodeAlaw encodes min(len(dst), len(src)) samples of src into dst.
func EncodeAlaw(dst []byte, src []int16) {
	n := min(len(dst), len(src))
	for i, s := range src[:n] {
		dst[i] = alawEncTable[uint16(s)>>3]
	}
}

// DecodeAlaw decodes min(len(dst), len(src)) A-law bytes of src into dst.
func DecodeAlaw(dst []int16, src []byte) {
	n := min(len(dst), len(src))
	for i, b := range src[:n] {
		dst[i] = alawDecTable[b]
	}
}

// MulawToAlaw transcodes min(len(dst), len(src)) µ-law bytes to A-law, each
// to the A-law level nearest its µ-law level. dst and src may be the same
// slice.
func MulawToAlaw(dst, src []byte) {
	n := min(len(dst), len(src))
	for i, b := range src[:n] {
		dst[i] = mulawToAlaw[b]
	}
}

// AlawToMulaw transcodes min(len(dst), len(src)) A-law bytes to µ-law, each
// to the µ-law level nearest its A-law level. dst and src may be the same
// slice.
func AlawToMulaw(dst, src []byte) {
	n := min(len(dst), len(src))
	for i, b := range src[:n] {
		dst[i] = alawToMulaw[b]
	}
}

// Silence bytes: the codes MulawEncode(0) and AlawEncode(0) return (a test
// checks them against the tables).
const (
	mulawSilence byte = 0xFF
	alawSilence  byte = 0xD5
)
