//go:build !race

package httpauth_test

// raceEnabled reports whether the race detector is on, which changes
// allocation counts.
const raceEnabled = false
