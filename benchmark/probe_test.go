package benchmark

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseVmHWM(t *testing.T) {
	status := "Name:\tpadim\nVmPeak:\t 9000 kB\nVmHWM:\t    5120 kB\nVmRSS:\t 4000 kB\n"
	if got := parseVmHWM(status); got != 5120<<10 {
		t.Errorf("parseVmHWM = %d, want %d", got, 5120<<10)
	}
	for _, s := range []string{"", "VmRSS:\t4000 kB\n", "VmHWM:\tlots kB\n"} {
		if got := parseVmHWM(s); got != 0 {
			t.Errorf("parseVmHWM(%q) = %d, want 0", s, got)
		}
	}
}

func TestPeakRSS(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc/self/status")
	}
	if got := peakRSS(); got < 1<<20 {
		t.Errorf("peakRSS() = %d bytes, want at least 1 MiB for a running Go test", got)
	}
}

func TestParseLoadAverage(t *testing.T) {
	if got := parseLoadAverage("2.24 2.08 1.84 3/412 12345\n"); got != "2.24 2.08 1.84" {
		t.Errorf("parseLoadAverage = %q", got)
	}
	if got := parseLoadAverage("2.24 2.08"); got != "" {
		t.Errorf("parseLoadAverage of two fields = %q, want \"\"", got)
	}
}

// TestCPUTime: burning CPU in this goroutine advances the process CPU
// time (on a loaded machine the loop may get only part of the wall time).
func TestCPUTime(t *testing.T) {
	c0 := cpuTime()
	w0 := time.Now()
	x := 1.0
	for cpuTime()-c0 < 20*time.Millisecond {
		if time.Since(w0) > 10*time.Second {
			t.Fatalf("10 s of busy loop advanced CPU time by %v (x=%g)", cpuTime()-c0, x)
		}
		for i := 0; i < 1000; i++ {
			x = x*1.0000001 + 1e-9
		}
	}
}

// TestMachineBullets: the block names the versions, kernels, CPU, load
// and says when a probe found nothing.
func TestMachineBullets(t *testing.T) {
	m := Machine{Date: "2026-12-02 05:00 UTC", CPU: "Xeon", Load: "1.00 2.00 3.00", GoVersion: "go1.26.8", Threads: 2, GOMAXPROCS: 2,
		BLAS: "openblas (core SkylakeX)", CoreType: "SkylakeX", Conv: "im2col + BLAS sgemm"}
	got := m.bullets()
	for _, want := range []string{"Go go1.26.8, 2 threads, GOMAXPROCS 2", "BLAS openblas (core SkylakeX)", `OPENBLAS_CORETYPE="SkylakeX"`,
		"convolutions: im2col + BLAS sgemm", "CPU: Xeon", "load average at the end of the run: 1.00 2.00 3.00"} {
		if !strings.Contains(got, want) {
			t.Errorf("bullets lack %q:\n%s", want, got)
		}
	}
	m.CPU, m.Load = "", ""
	if got := m.bullets(); !strings.Contains(got, "CPU: unknown") || !strings.Contains(got, "run: unknown") {
		t.Errorf("missing probes not said:\n%s", got)
	}
	if p := probeMachine(); p.GoVersion == "" || p.Threads < 1 || p.BLAS == "" || p.Conv == "" || !strings.HasSuffix(p.Date, " UTC") {
		t.Errorf("probeMachine() = %+v", p)
	}
}
