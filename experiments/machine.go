package experiments

import (
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/padim-go/padim/internal/blas"
	"github.com/padim-go/padim/internal/cpuinfo"
	"github.com/padim-go/padim/internal/nn"
)

// MachineInfo records where and when a timing was taken, so a timing table
// can state its machine, versions, load and date.
type MachineInfo struct {
	CPU       string `json:"cpu"`
	Cores     int    `json:"cores"`
	Threads   int    `json:"threads"` // kernel threads the run used
	Go        string `json:"go"`
	BLAS      string `json:"blas"`
	LoadStart string `json:"load_start"` // /proc/loadavg 1, 5, 15 min before the run
	LoadEnd   string `json:"load_end"`   // and after it
	Date      string `json:"date"`       // UTC, when the run started
}

func newMachineInfo() *MachineInfo {
	return &MachineInfo{CPU: cpuModel(), Cores: runtime.NumCPU(), Threads: nn.Threads(), Go: runtime.Version(),
		BLAS: blas.Backend + "/" + blas.CoreName(), LoadStart: loadAverage(), Date: time.Now().UTC().Format("2006-01-02 15:04 UTC")}
}

// cpuModel is cpuinfo.Read(), or "unknown".
func cpuModel() string {
	if d := cpuinfo.Read(); d != "" {
		return d
	}
	return "unknown"
}

// loadAverage is /proc/loadavg's first three fields, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
