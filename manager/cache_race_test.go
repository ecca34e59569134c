//go:build race

package manager

// raceEnabled is set when the race detector is on, which changes allocation
// counts.
const raceEnabled = true
