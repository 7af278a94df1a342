package testpeer

import "math"

// toneBlock is the Goertzel block length: one 20 ms packet at 8 kHz, so a
// phase jump between packets (a jitter buffer or a source switch splicing
// audio) never falls inside a block. Resolution is 50 Hz: test tones should
// be a few hundred Hz apart.
const toneBlock = 160

// minToneRMS is the level under which HasTone says no (silence or noise).
const minToneRMS = 100

// ToneLevel is the share of pcm's energy (8 kHz) that sits at hz, in [0,1]:
// the Goertzel power of each 20 ms block summed over blocks, relative to
// what a pure sine of the same energy would give. A clean tone scores about
// 1, silence and other frequencies about 0.
func ToneLevel(pcm []int16, hz float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*hz/8000)
	var tone, total float64
	for off := 0; off+toneBlock <= len(pcm); off += toneBlock {
		blk := pcm[off : off+toneBlock]
		tone += goertzel(blk, coeff)
		total += energy(blk) * toneBlock / 2
	}
	if total == 0 {
		return 0
	}
	return min(tone/total, 1)
}

// HasTone reports whether pcm is mostly a tone at hz (ToneLevel above 0.5)
// and loud enough not to be line noise.
func HasTone(pcm []int16, hz float64) bool {
	return RMS(pcm) >= minToneRMS && ToneLevel(pcm, hz) > 0.5
}

// RMS is the root mean square of pcm (0 for an empty slice).
func RMS(pcm []int16) float64 {
	if len(pcm) == 0 {
		return 0
	}
	return math.Sqrt(energy(pcm) / float64(len(pcm)))
}

func goertzel(blk []int16, coeff float64) float64 {
	var s1, s2 float64
	for _, x := range blk {
		s0 := float64(x) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	return s1*s1 + s2*s2 - coeff*s1*s2
}

func energy(pcm []int16) float64 {
	var e float64
	for _, x := range pcm {
		e += float64(x) * float64(x)
	}
	return e
}
