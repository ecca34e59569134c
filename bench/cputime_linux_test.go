package bench

import (
	"syscall"
	"time"
	"unsafe"
)

// Linux's CLOCK_PROCESS_CPUTIME_ID and CLOCK_THREAD_CPUTIME_ID.
const (
	clockProcessCPUTime = 2
	clockThreadCPUTime  = 3
)

// threadCPU returns the CPU time the calling thread has used: on a machine
// shared with other work, it measures a call's cost where wall time
// measures the machine's load as well.
func threadCPU() (time.Duration, bool) { return cpuClock(clockThreadCPUTime) }

// processCPU returns the CPU time all threads of the process have used.
func processCPU() (time.Duration, bool) { return cpuClock(clockProcessCPUTime) }

// cpuClock reads the CPU-time clock id.
func cpuClock(id uintptr) (time.Duration, bool) {
	var ts syscall.Timespec
	_, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, id, uintptr(unsafe.Pointer(&ts)), 0)
	if errno != 0 {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
