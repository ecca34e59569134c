//go:build !race

package dpop

// raceEnabled reports whether the race detector is on.
const raceEnabled = false
