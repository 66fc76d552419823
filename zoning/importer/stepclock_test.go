package importer

import (
	"os"
	"testing"
	"time"
)

// processCPU reads a process's CPU time from /proc: it grows while the
// process works, and is unknown for no process.
func TestProcessCPU(t *testing.T) {
	before, ok := processCPU(os.Getpid())
	if !ok {
		t.Fatal("no CPU time for this process: /proc/PID/stat unreadable or not understood")
	}
	x := 0
	for start := time.Now(); time.Since(start) < 100*time.Millisecond; {
		x++
	}
	after, _ := processCPU(os.Getpid())
	if after <= before || x == 0 {
		t.Errorf("CPU time %v after a busy loop, %v before", after, before)
	}
	if _, ok := processCPU(0); ok {
		t.Error("CPU time of pid 0")
	}
}
