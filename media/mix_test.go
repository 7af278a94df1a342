package media

import (
	"testing"
	"time"
)

func TestMixerOwed(t *testing.T) {
	const f = frameInterval
	var x mixer
	for i, tc := range []struct {
		at   time.Duration
		want int
	}{
		{100 * f, 1},            // the first tick
		{101*f + f/3, 1},        // late, within half a frame
		{102*f - f/3, 1},        // early, within half a frame
		{104 * f, 2},            // a tick lost
		{104*f + f/10, 0},       // a burst of ticks: ahead, skip
		{105 * f, 1},            // on time again
		{120 * f, jitterFrames}, // far behind: at most a queue's worth
		{121 * f, 1},            // and on schedule from there
	} {
		if got := x.owed(tc.at); got != tc.want {
			t.Errorf("tick %d at %v: %d frames owed, want %d", i, tc.at, got, tc.want)
		}
	}
}
