package testpeer

import "math"

// corrDecimate is the decimation of the coarse search (8 kHz -> 1 kHz).
const (
	corrDecimate   = 8
	corrCandidates = 3
)

// BestCorrelation is the highest normalised cross-correlation of ref against
// heard over all lags where at least half of the shorter signal overlaps, in
// [-1,1]; about 1 means heard contains ref (at any level, with G.711 noise).
// It searches coarsely on 1 kHz block averages, then refines the best few lags
// at full rate: 5 s of reference in 10 s of audio takes well under a second.
func BestCorrelation(heard, ref []int16) float64 {
	if len(heard) == 0 || len(ref) == 0 {
		return 0
	}
	h, r := decimate(heard), decimate(ref)
	lags := topLags(h, r, minOverlap(len(h), len(r)), corrCandidates)
	minOv := minOverlap(len(heard), len(ref))
	best := math.Inf(-1)
	for _, coarse := range lags {
		for lag := coarse*corrDecimate - corrDecimate; lag <= coarse*corrDecimate+corrDecimate; lag++ {
			if c, ok := correlateAt(heard, ref, lag, minOv); ok && c > best {
				best = c
			}
		}
	}
	if math.IsInf(best, -1) {
		return 0
	}
	return best
}

func minOverlap(a, b int) int { return max(min(a, b)/2, 1) }

// decimate averages blocks of corrDecimate samples (a crude low-pass).
func decimate(x []int16) []int16 {
	out := make([]int16, len(x)/corrDecimate)
	for i := range out {
		var s int
		for _, v := range x[i*corrDecimate : (i+1)*corrDecimate] {
			s += int(v)
		}
		out[i] = int16(s / corrDecimate)
	}
	return out
}

// topLags returns up to k lags (ref shifted right by lag in heard) with the
// highest correlation.
func topLags(heard, ref []int16, minOv, k int) []int {
	type cand struct {
		lag int
		c   float64
	}
	var best []cand
	for lag := -(len(ref) - minOv); lag <= len(heard)-minOv; lag++ {
		c, ok := correlateAt(heard, ref, lag, minOv)
		if !ok {
			continue
		}
		best = append(best, cand{lag, c})
		for i := len(best) - 1; i > 0 && best[i].c > best[i-1].c; i-- {
			best[i], best[i-1] = best[i-1], best[i]
		}
		if len(best) > k {
			best = best[:k]
		}
	}
	out := make([]int, len(best))
	for i, b := range best {
		out[i] = b.lag
	}
	return out
}

// correlateAt is the normalised correlation of ref placed at heard[lag:],
// over the overlap; ok is false when the overlap is too short or silent.
func correlateAt(heard, ref []int16, lag, minOv int) (float64, bool) {
	hs, rs := max(lag, 0), max(-lag, 0)
	n := min(len(heard)-hs, len(ref)-rs)
	if n < minOv {
		return 0, false
	}
	var xy, xx, yy float64
	for i := range n {
		x, y := float64(heard[hs+i]), float64(ref[rs+i])
		xy += x * y
		xx += x * x
		yy += y * y
	}
	if xx == 0 || yy == 0 {
		return 0, false
	}
	return xy / math.Sqrt(xx*yy), true
}
