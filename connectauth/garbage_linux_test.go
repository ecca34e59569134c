package connectauth_test

import (
	"net/http"
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/protojwt/protojwt/connectauth"
)

// BenchmarkGarbageCPU is BenchmarkWrapUnary's 8 KiB of random base64,
// timed in batches of 200 calls with the thread's CPU clock, which leaves
// out the time other work on a shared machine takes the processor:
// cpu-ns/call is the figure to read.
//
//	go test -run '^$' -bench GarbageCPU -benchtime 40x -count 8 .
func BenchmarkGarbageCPU(b *testing.B) {
	auth, err := connectauth.New(newManager(b))
	if err != nil {
		b.Fatal(err)
	}
	call := unaryDirect(b, auth)
	h := http.Header{"Authorization": {bearer(garbage8KiB())}}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	var cpu time.Duration
	calls := 0
	for b.Loop() {
		start := threadCPU(b)
		for range 200 {
			if ran, _ := call(h); ran {
				b.Fatal("garbage reached the handler")
			}
		}
		cpu += threadCPU(b) - start
		calls += 200
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(calls), "cpu-ns/call")
}

// threadCPU returns the CPU time the calling thread has used
// (CLOCK_THREAD_CPUTIME_ID).
func threadCPU(b *testing.B) time.Duration {
	const clockThreadCPUTime = 3
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		b.Fatal(errno)
	}
	return time.Duration(ts.Nano())
}
