package experiments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/padim-go/padim/internal/atomicfile"
)

// Files a run's cache directory may hold besides result.json and its artifacts.
const (
	lockFile   = ".lock"       // flock'ed by the process computing the run
	failedFile = "failed.json" // why the last attempt failed; removed on success
)

// Failure is what failed.json records about a run's last failed attempt.
type Failure struct {
	Key   string    `json:"key"`
	Row   string    `json:"row"`
	Table string    `json:"table"`
	Error string    `json:"error"`
	Host  string    `json:"host"`
	Task  string    `json:"task,omitempty"`
	Time  time.Time `json:"time"`
	RunID string    `json:"run_id"`
}

// RunTask executes the runs of one task in turn. Each run is computed under
// its lock, after checking the cache again (as RunTable does), so a run
// another task finished or is computing is not computed twice; a run that fails leaves
// failed.json with the error and the task goes on with its other runs. The
// error lists the runs that failed. taskName labels failure records (e.g.
// the Slurm array task).
func (r *Runner) RunTask(ctx context.Context, t Task, taskName string) ([]*Result, error) {
	var results []*Result
	var failed []string
	for i, tr := range t.Runs {
		if err := ctx.Err(); err != nil {
			return results, err
		}
		res, err := r.runLocked(ctx, tr)
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return results, err
		}
		if err != nil {
			r.logf("[task %d %d/%d] FAILED %s (%s): %v", t.Index, i+1, len(t.Runs), tr.Run.ID(), tr.Key, err)
			if werr := r.recordFailure(tr, taskName, err); werr != nil {
				r.logf("  could not record the failure: %v", werr)
			}
			failed = append(failed, fmt.Sprintf("%s: %s: %v", tr.Table, tr.Run.ID(), err))
			continue
		}
		r.logf("[task %d %d/%d] %s: %s", t.Index, i+1, len(t.Runs), tr.Run.ID(), summary(res))
		results = append(results, res)
	}
	if len(failed) > 0 {
		return results, fmt.Errorf("%d of %d runs failed:\n  %s", len(failed), len(t.Runs), strings.Join(failed, "\n  "))
	}
	return results, nil
}

func (r *Runner) runLocked(ctx context.Context, tr TaskRun) (*Result, error) {
	k, dir, err := r.Locate(tr.Run)
	var na *NotAvailable
	if errors.As(err, &na) {
		return nil, fmt.Errorf("cannot run here: %s (fetch: %s)", na.Reason, na.Fetch)
	}
	if err != nil {
		return nil, err
	}
	if k != tr.Key {
		r.logf("  %s: its inputs changed since it was planned (key %s, planned %s): computing key %s", tr.Run.ID(), k, tr.Key, k)
	}
	res, err := r.runOne(ctx, tr.Run) // under the entry's lock
	if err != nil {
		return nil, err
	}
	if res.Status != "ok" {
		return nil, fmt.Errorf("cannot run here: %s", res.Reason)
	}
	os.Remove(filepath.Join(dir, failedFile))
	return res, nil
}

func (r *Runner) recordFailure(tr TaskRun, taskName string, cause error) error {
	k, dir, err := r.Locate(tr.Run)
	if err != nil {
		k, dir = tr.Key, filepath.Join(r.CacheDir, tr.Key)
	}
	host, _ := os.Hostname()
	b, err := json.MarshalIndent(Failure{Key: k, Row: tr.Run.Row, Table: tr.Table, RunID: tr.Run.ID(), Error: cause.Error(),
		Host: host, Task: taskName, Time: time.Now().UTC()}, "", " ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, failedFile), append(b, '\n'))
}

// Run states reported by RunStatus.
const (
	StatusDone    = "done"
	StatusRunning = "running"
	StatusFailed  = "failed"
	StatusPending = "pending"
)

// RunStatus says where one planned run stands: done (result cached),
// running (a process holds its lock), failed (its last attempt left
// failed.json, whose error is returned) or pending.
func (r *Runner) RunStatus(tr TaskRun) (state string, failure *Failure, err error) {
	dir := filepath.Join(r.CacheDir, tr.Key)
	if _, d, err := r.Locate(tr.Run); err == nil {
		dir = d // the inputs' current key, which a task computes too
	}
	if _, err := readResult(filepath.Join(dir, "result.json")); err == nil {
		return StatusDone, nil, nil
	}
	if held, err := lockHeld(dir); err != nil {
		return "", nil, err
	} else if held {
		return StatusRunning, nil, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, failedFile))
	if errors.Is(err, os.ErrNotExist) {
		return StatusPending, nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	var f Failure
	if err := json.Unmarshal(b, &f); err != nil {
		return "", nil, fmt.Errorf("%s: %w", filepath.Join(dir, failedFile), err)
	}
	return StatusFailed, &f, nil
}
