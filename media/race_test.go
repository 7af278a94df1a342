//go:build race

package media

// raceEnabled: built with -race, where sync.Pool drops items at random
// (pion/srtp's XOR buffers come from one), so allocation counts differ.
const raceEnabled = true
