//go:build !linux

package bench

import "time"

// threadCPU reports that the thread's CPU time is not measured here.
func threadCPU() (time.Duration, bool) { return 0, false }

// processCPU reports that the process's CPU time is not measured here.
func processCPU() (time.Duration, bool) { return 0, false }
