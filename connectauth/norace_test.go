//go:build !race

package connectauth_test

const raceEnabled = false
