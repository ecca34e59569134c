//go:build !race

package interceptor_test

// raceEnabled reports whether the race detector is on.
const raceEnabled = false
