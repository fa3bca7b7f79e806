package experiments

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/padim-go/padim/internal/atomicfile"
)

// Result is what one run produced, or why it could not run.
type Result struct {
	Key    string `json:"key"`
	Run    Run    `json:"run"`
	Status string `json:"status"` // "ok" or "not-run"
	// Reason and Fetch explain a run that could not run (missing dataset or
	// weights) and the command that would fetch what is missing.
	Reason string `json:"reason,omitempty"`
	Fetch  string `json:"fetch,omitempty"`

	// Metrics are nil when undefined (e.g. pixel metrics without masks).
	ImageAUROC *float64 `json:"image_auroc"`
	PixelAUROC *float64 `json:"pixel_auroc"`
	PRO        *float64 `json:"pro"`

	NTrain         int `json:"n_train"`
	NTest          int `json:"n_test"`
	NTestAnomalous int `json:"n_test_anomalous"`

	// InferenceSeconds is the mean time per test image for features,
	// distances, upsampling and blur (decoding excluded).
	InferenceSeconds float64 `json:"inference_seconds"`
	// ModelBytes is the size of what scoring needs in memory (PaDiM: means
	// and covariance factors; SPADE: the training feature gallery).
	ModelBytes    int64              `json:"model_bytes"`
	Seconds       map[string]float64 `json:"seconds,omitempty"`
	WeightsSHA256 string             `json:"weights_sha256,omitempty"`
	Notes         []string           `json:"notes,omitempty"`
	// Artifacts are files (curves, heatmap grids) written next to the result,
	// relative to the run's cache directory.
	Artifacts []string `json:"artifacts,omitempty"`
	// PerDefect holds the metrics of each defect type (test/<defect>/)
	// scored against all normal test images.
	PerDefect []DefectMetrics `json:"per_defect,omitempty"`
	// Machine describes where and when a timing run was measured.
	Machine *MachineInfo `json:"machine,omitempty"`
}

// DefectMetrics are one defect type's metrics; nil when undefined.
type DefectMetrics struct {
	Defect     string   `json:"defect"`
	Anomalous  int      `json:"anomalous"`
	ImageAUROC *float64 `json:"image_auroc"`
	PixelAUROC *float64 `json:"pixel_auroc"`
	PRO        *float64 `json:"pro"`
}

// Metric returns the named metric, or nil.
func (d DefectMetrics) Metric(name string) *float64 {
	switch name {
	case "image_auroc":
		return d.ImageAUROC
	case "pixel_auroc":
		return d.PixelAUROC
	case "pro":
		return d.PRO
	}
	return nil
}

// Metric returns the named metric, or nil.
func (r *Result) Metric(name string) *float64 {
	switch name {
	case "image_auroc":
		return r.ImageAUROC
	case "pixel_auroc":
		return r.PixelAUROC
	case "pro":
		return r.PRO
	case "inference_seconds":
		if r.Status == "ok" {
			v := r.InferenceSeconds
			return &v
		}
	case "model_bytes":
		if r.Status == "ok" {
			v := float64(r.ModelBytes)
			return &v
		}
	}
	return nil
}

// NotAvailable is returned by an Executor when a run cannot run here for
// want of data or weights; the runner records it as a "not-run" result.
type NotAvailable struct {
	Reason string // "MVTec AD category carpet not found under DIR"
	Fetch  string // "padim fetch weights wide_resnet50_2"
}

func (e *NotAvailable) Error() string { return e.Reason }

// Executor fits and scores one run. Inputs identifies the data and weights
// the run would read, for the cache key, and is cheap; Execute does the work,
// writing any artifacts into dir.
type Executor interface {
	Inputs(run Run) (fingerprint string, err error)
	Execute(ctx context.Context, run Run, dir string) (*Result, error)
}

// Runner runs tables through an Executor with a result cache.
type Runner struct {
	Exec     Executor
	CacheDir string    // results live in CacheDir/<key>/result.json
	Force    bool      // recompute even when a cached result exists
	Log      io.Writer // progress lines; nil = silent
}

func (r *Runner) logf(format string, args ...any) {
	if r.Log != nil {
		fmt.Fprintf(r.Log, format+"\n", args...)
	}
}

// key hashes the run's declaration with the fingerprint of its inputs.
func key(run Run, fingerprint string) string {
	h := sha256.New()
	h.Write([]byte(run.configHash()))
	h.Write([]byte{0})
	h.Write([]byte(fingerprint))
	return hex.EncodeToString(h.Sum(nil))[:24]
}

// RunTable runs every run of t, reusing cached results, and returns the
// results in declaration order. Cancelling ctx stops at the next run
// boundary (and inside a run, at the executor's next check); finished runs
// stay cached, so the next call resumes.
func (r *Runner) RunTable(ctx context.Context, t Table) ([]*Result, error) {
	results := make([]*Result, 0, len(t.Runs))
	for i, run := range t.Runs {
		if err := ctx.Err(); err != nil {
			return results, err
		}
		res, err := r.runOne(ctx, run)
		if err != nil {
			return results, fmt.Errorf("%s: %s: %w", t.Name, run.ID(), err)
		}
		r.logf("[%s %d/%d] %s: %s", t.Name, i+1, len(t.Runs), run.ID(), summary(res))
		results = append(results, res)
	}
	return results, nil
}

func summary(res *Result) string {
	if res.Status != "ok" {
		return "not run (" + res.Reason + ")"
	}
	s := ""
	for _, m := range []string{"image_auroc", "pixel_auroc", "pro"} {
		if v := res.Metric(m); v != nil {
			s += fmt.Sprintf("%s=%.4f ", m, *v)
		}
	}
	return s
}

func (r *Runner) runOne(ctx context.Context, run Run) (*Result, error) {
	fp, err := r.Exec.Inputs(run)
	var na *NotAvailable
	if errors.As(err, &na) {
		// Not cached: whether data is present is re-checked every time.
		return &Result{Run: run, Status: "not-run", Reason: na.Reason, Fetch: na.Fetch}, nil
	}
	if err != nil {
		return nil, err
	}
	k := key(run, fp)
	dir := filepath.Join(r.CacheDir, k)
	path := filepath.Join(dir, "result.json")
	if !r.Force {
		if res, err := readResult(path); err == nil {
			return res, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			r.logf("cache entry %s unreadable (%v): recomputing", path, err)
		}
	}
	// Compute under the entry's lock, and look again once it is ours: another
	// process (a Slurm task, a --jobs worker) may have just finished it.
	lock, err := lockRun(ctx, dir, func() { r.logf("  %s: another process is computing it; waiting for its result", run.ID()) })
	if err != nil {
		return nil, err
	}
	defer lock.unlock()
	if !r.Force {
		if res, err := readResult(path); err == nil {
			return res, nil
		}
	}
	start := time.Now()
	res, err := r.Exec.Execute(ctx, run, dir)
	if errors.As(err, &na) {
		return &Result{Run: run, Status: "not-run", Reason: na.Reason, Fetch: na.Fetch}, nil
	}
	if err != nil {
		return nil, err
	}
	res.Key, res.Run, res.Status = k, run, "ok"
	if res.Seconds == nil {
		res.Seconds = map[string]float64{}
	}
	res.Seconds["total"] = time.Since(start).Seconds()
	b, err := json.MarshalIndent(res, "", " ")
	if err != nil {
		return nil, err
	}
	// The result file is written last and atomically: its presence marks the run finished.
	if err := atomicfile.WriteBytes(path, append(b, '\n')); err != nil {
		return nil, err
	}
	return res, nil
}

func readResult(path string) (*Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var res Result
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if res.Status != "ok" {
		return nil, fmt.Errorf("%s: status %q", path, res.Status)
	}
	return &res, nil
}
