package experiments

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/padim-go/padim/internal/atomicfile"
	"github.com/padim-go/padim/internal/filekind"
)

// Run states in a Plan.
const (
	StateCached    = "cached"     // result.json present: nothing to do
	StateToRun     = "to run"     // inputs present, no result yet
	StateRunning   = "running"    // another process holds the run's lock
	StateCannotRun = "cannot run" // data or weights missing here
)

// PlannedRun is one run of a table with what it would cost.
type PlannedRun struct {
	Table    string   `json:"table"`
	Run      Run      `json:"run"`
	Key      string   `json:"key,omitempty"` // "" when the inputs are missing
	State    string   `json:"state"`
	Reason   string   `json:"reason,omitempty"` // why it cannot run here
	Estimate Estimate `json:"estimate"`
}

// Plan lists every run of some tables, in table order, with its state and cost.
type Plan struct {
	Runs []PlannedRun
}

// Locate returns the cache key and directory of run, or the *NotAvailable
// error saying why its inputs are missing.
func (r *Runner) Locate(run Run) (k, dir string, err error) {
	fp, err := r.Exec.Inputs(run)
	if err != nil {
		return "", "", err
	}
	k = key(run, fp)
	return k, filepath.Join(r.CacheDir, k), nil
}

// Cached returns the finished result of run from the cache, or nil.
func (r *Runner) Cached(run Run) (*Result, error) {
	_, dir, err := r.Locate(run)
	if err != nil {
		return nil, err
	}
	res, err := readResult(filepath.Join(dir, "result.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, nil // unreadable: recomputed like a missing one
	}
	return res, nil
}

// MakePlan states every run of tables without doing any work: its key,
// whether it is cached, running elsewhere, to run, or cannot run here,
// and its estimated cost. Sizes come from the dataset on disk, or from
// the published counts where the dataset is missing.
func MakePlan(r *Runner, env *Env, tables []Table) (*Plan, error) {
	p := &Plan{}
	for _, t := range tables {
		for _, run := range t.Runs {
			pr := PlannedRun{Table: t.Name, Run: run}
			k, dir, err := r.Locate(run)
			var na *NotAvailable
			switch {
			case errors.As(err, &na):
				pr.State, pr.Reason = StateCannotRun, na.Reason
			case err != nil:
				return nil, fmt.Errorf("%s: %s: %w", t.Name, run.ID(), err)
			default:
				pr.Key = k
				pr.State = StateToRun
				if _, err := readResult(filepath.Join(dir, "result.json")); err == nil {
					pr.State = StateCached
				} else if held, _ := lockHeld(dir); held {
					pr.State = StateRunning
				}
			}
			est, err := env.estimate(run)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", t.Name, run.ID(), err)
			}
			pr.Estimate = est
			p.Runs = append(p.Runs, pr)
		}
	}
	return p, nil
}

// estimate sizes run from the dataset on disk, else its published size.
func (e *Env) estimate(run Run) (Estimate, error) {
	split, pre, err := e.Dataset(run.Dataset)
	var na *NotAvailable
	switch {
	case errors.As(err, &na):
		ntr, nte, err := PublishedSize(run.Dataset)
		if err != nil {
			return Estimate{}, err
		}
		est, err := EstimateRun(run, ntr, nte, 224, 224)
		est.SizeAssumed = true
		return est, err
	case err != nil:
		return Estimate{}, err
	}
	h, w := pre.Size()
	return EstimateRun(run, len(split.Train), len(split.Test), h, w)
}

// Totals sums a set of planned runs.
type Totals struct {
	Runs, Cached, ToRun, Running, CannotRun int
	// CPUSeconds counts the runs still to do (to run and cannot run here);
	// AllCPUSeconds counts every run, cached ones included.
	CPUSeconds, AllCPUSeconds float64
	MaxPeakBytes              int64
}

func (t *Totals) add(pr PlannedRun) {
	t.Runs++
	switch pr.State {
	case StateCached:
		t.Cached++
	case StateToRun:
		t.ToRun++
	case StateRunning:
		t.Running++
	case StateCannotRun:
		t.CannotRun++
	}
	t.AllCPUSeconds += pr.Estimate.CPUSeconds
	if pr.State != StateCached {
		t.CPUSeconds += pr.Estimate.CPUSeconds
	}
	t.MaxPeakBytes = max(t.MaxPeakBytes, pr.Estimate.PeakBytes)
}

// Totals returns the totals per table, in table order, and overall. A run
// shared by several tables (same key) counts once overall.
func (p *Plan) Totals() (perTable []string, byTable map[string]*Totals, all Totals) {
	byTable = map[string]*Totals{}
	seen := map[string]bool{}
	for _, pr := range p.Runs {
		t := byTable[pr.Table]
		if t == nil {
			t = &Totals{}
			byTable[pr.Table] = t
			perTable = append(perTable, pr.Table)
		}
		t.add(pr)
		id := pr.Key
		if id == "" {
			id = pr.Run.configHash()
		}
		if !seen[id] {
			seen[id] = true
			all.add(pr)
		}
	}
	return perTable, byTable, all
}

// Task is a group of runs one process executes in turn: the runs on one
// dataset with one backbone, so they share the in-memory feature cache.
type Task struct {
	Index int    `json:"index"`
	Group string `json:"group"`
	// CPUSeconds and MemBytes are the task's estimated CPU time and the
	// memory it should request (largest run plus the shared feature cache,
	// with headroom, rounded up to 256 MiB).
	CPUSeconds float64   `json:"cpu_seconds"`
	MemBytes   int64     `json:"mem_bytes"`
	Runs       []TaskRun `json:"runs"`
}

// TaskRun is one run of a task.
type TaskRun struct {
	Table string `json:"table"`
	Key   string `json:"key"`
	Run   Run    `json:"run"`
}

// Group is the task a run belongs to: its dataset and backbone (with the
// weights' origin), the scope of the feature cache.
func Group(run Run) string {
	g := run.Dataset.String() + " | " + run.Model.Backbone
	if run.Model.RandomWeights != 0 {
		g += fmt.Sprintf(" (untrained #%d)", run.Model.RandomWeights)
	}
	return g
}

// Tasks groups the plan's runs that are to run into tasks, each run once
// (tables share runs), in order of first appearance. featureCacheBytes caps
// what a task's feature cache may hold (0 disables it).
func (p *Plan) Tasks(featureCacheBytes int64) []Task {
	var tasks []Task
	byGroup := map[string]int{}
	seen := map[string]bool{}
	for _, pr := range p.Runs {
		if pr.State != StateToRun || seen[pr.Key] {
			continue
		}
		seen[pr.Key] = true
		g := Group(pr.Run)
		i, ok := byGroup[g]
		if !ok {
			i = len(tasks)
			byGroup[g] = i
			tasks = append(tasks, Task{Index: i, Group: g})
		}
		t := &tasks[i]
		t.Runs = append(t.Runs, TaskRun{Table: pr.Table, Key: pr.Key, Run: pr.Run})
		t.CPUSeconds += pr.Estimate.CPUSeconds
		cache := int64(0)
		if !pr.Run.Timing {
			cache = min(featureCacheBytes, pr.Estimate.FeatureBytes)
		}
		t.MemBytes = max(t.MemBytes, roundMem(pr.Estimate.PeakBytes+cache))
	}
	return tasks
}

// AllTasks is Tasks as if every run could run here and none were cached:
// the tasks of a full reproduction on a cluster that has all the data.
// Runs without a key (inputs missing) are told apart by their declaration.
func (p *Plan) AllTasks(featureCacheBytes int64) []Task {
	all := &Plan{Runs: make([]PlannedRun, len(p.Runs))}
	for i, pr := range p.Runs {
		pr.State = StateToRun
		if pr.Key == "" {
			pr.Key = "declared:" + pr.Run.configHash()
		}
		all.Runs[i] = pr
	}
	return all.Tasks(featureCacheBytes)
}

// roundMem adds a fifth for headroom and rounds up to 256 MiB.
func roundMem(b int64) int64 {
	const unit = 256 << 20
	b += b / 5
	return (b + unit - 1) / unit * unit
}

// TaskFile is what a submission writes for its tasks to read: the runs of
// each task and the settings every task must share.
type TaskFile struct {
	Version int       `json:"version"`
	Created time.Time `json:"created"`
	// Settings are the reproduce options the tasks run with (data root,
	// cache, quick, synthetic root, ...), as the command line recorded them.
	Settings json.RawMessage `json:"settings"`
	Tables   []string        `json:"tables"`
	Tasks    []Task          `json:"tasks"`
}

// WriteTaskFile writes f atomically.
func WriteTaskFile(path string, f *TaskFile) error {
	f.Version = 1
	b, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, append(b, '\n'))
}

// maxTaskFileBytes bounds what ReadTaskFile reads into memory.
const maxTaskFileBytes = 256 << 20

// ReadTaskFile reads a task file, naming the file in every error.
func ReadTaskFile(path string) (*TaskFile, error) {
	st, err := filekind.Regular(path)
	if err != nil {
		return nil, err
	}
	// A task file lists runs by key: kilobytes, a few megabytes for the
	// largest plans. Anything far larger is another file given by mistake,
	// and is not read into memory.
	if st.Size() > maxTaskFileBytes {
		return nil, fmt.Errorf("%s: %d bytes is too large for a task file (at most %d): not a task file", path, st.Size(), int64(maxTaskFileBytes))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f TaskFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: not a task file: %w", path, err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("%s: task file version %d, want 1", path, f.Version)
	}
	for i, t := range f.Tasks {
		if t.Index != i {
			return nil, fmt.Errorf("%s: task %d has index %d", path, i, t.Index)
		}
		for _, tr := range t.Runs {
			if err := tr.Run.Validate(); err != nil {
				return nil, fmt.Errorf("%s: task %d: %w", path, i, err)
			}
		}
	}
	return &f, nil
}

// FormatBytes prints a byte count in GiB (or MiB below 1 GiB).
func FormatBytes(b int64) string {
	if b < 1<<30 {
		return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
}

// FormatCPU prints CPU-seconds as seconds, minutes or hours.
func FormatCPU(s float64) string {
	switch {
	case s < 120:
		return fmt.Sprintf("%.0f CPU-s", s)
	case s < 7200:
		return fmt.Sprintf("%.1f CPU-min", s/60)
	}
	return fmt.Sprintf("%.1f CPU-h", s/3600)
}
