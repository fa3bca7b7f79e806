package benchmark

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/padim-go/padim/internal/blas"
	"github.com/padim-go/padim/internal/cpuinfo"
	"github.com/padim-go/padim/internal/nn"
)

// peakRSS is this process's peak resident set size (VmHWM), 0 when
// /proc/self/status cannot be read.
func peakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	return parseVmHWM(string(data))
}

// parseVmHWM reads the "VmHWM:   1234 kB" line of a /proc/PID/status
// text, in bytes; 0 when there is none.
func parseVmHWM(status string) int64 {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// cpuTime is the user + system CPU time of the whole process so far, all
// threads.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// parseLoadAverage is the first three fields of a /proc/loadavg text (the
// 1, 5 and 15 minute load averages), "" when it has fewer.
func parseLoadAverage(loadavg string) string {
	f := strings.Fields(loadavg)
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// readProc returns a /proc file's text, "" off Linux.
func readProc(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(b)
}

// Machine is what a timing depends on besides the code: the machine, the
// versions and kernels that ran, how busy the machine was, and when.
type Machine struct {
	Date       string // UTC, minutes
	CPU        string // cpuinfo.Read(); "" when unknown
	Load       string // 1, 5 and 15 minute load averages at the end of the run
	GoVersion  string
	Threads    int // kernel threads (nn.Threads)
	GOMAXPROCS int
	BLAS       string // backend and the OpenBLAS core that ran
	CoreType   string // OPENBLAS_CORETYPE
	Conv       string // how convolutions run (nn.ConvKernels)
}

// probeMachine describes this process and machine now. Call it after the
// measurements: its load average is the one at the end of the run.
func probeMachine() Machine {
	return Machine{
		Date:       time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		CPU:        cpuinfo.Read(),
		Load:       parseLoadAverage(readProc("/proc/loadavg")),
		GoVersion:  runtime.Version(),
		Threads:    nn.Threads(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		BLAS:       blas.Backend + " (core " + blas.CoreName() + ")",
		CoreType:   os.Getenv("OPENBLAS_CORETYPE"),
		Conv:       nn.ConvKernels(),
	}
}

// bullets is the machine block of a report: versions and kernels, then
// machine and load.
func (m Machine) bullets() string {
	cpu, load := m.CPU, m.Load
	if cpu == "" {
		cpu = "unknown (no /proc/cpuinfo)"
	}
	if load == "" {
		load = "unknown (no /proc/loadavg)"
	}
	return fmt.Sprintf("- Go %s, %d threads, GOMAXPROCS %d, BLAS %s, OPENBLAS_CORETYPE=%q, convolutions: %s\n"+
		"- CPU: %s; load average at the end of the run: %s (the machine is shared)\n",
		m.GoVersion, m.Threads, m.GOMAXPROCS, m.BLAS, m.CoreType, m.Conv, cpu, load)
}

func gib(bytes int64) string {
	if bytes <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f GiB", float64(bytes)/(1<<30))
}
