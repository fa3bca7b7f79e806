package experiments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestEstimateReproducesItsMeasurements checks the cost model against the
// measurements it was derived from (reports/bench.md: 200 training and 100
// test images at 224x224; reports/cost.md: SPADE's gallery on bottle).
func TestEstimateReproducesItsMeasurements(t *testing.T) {
	within := func(name string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol*want {
			t.Errorf("%s: estimate %.3g, measured %.3g (tolerance %.0f%%)", name, got, want, tol*100)
		}
	}
	const gib = 1 << 30
	wr50, err := EstimateRun(Run{Model: padimWR50(550, 1)}, 200, 100, 224, 224)
	if err != nil {
		t.Fatal(err)
	}
	within("WR50 d=550 CPU-seconds", wr50.CPUSeconds, 83.92, 0.3)
	within("WR50 d=550 peak bytes", float64(wr50.PeakBytes), 4.97*gib, 0.1)
	r18, err := EstimateRun(Run{Model: padimR18(100, 1)}, 200, 100, 224, 224)
	if err != nil {
		t.Fatal(err)
	}
	within("R18 d=100 CPU-seconds", r18.CPUSeconds, 13.40, 0.3)
	within("R18 d=100 peak bytes", float64(r18.PeakBytes), 0.61*gib, 0.15)
	sp, err := EstimateRun(Run{Model: spadeWR50()}, 209, 83, 224, 224)
	if err != nil {
		t.Fatal(err)
	}
	gallery := sp.PeakBytes - costModel["wide_resnet50_2"].baseBytes - 83*224*224*testMapBytesPerPixel
	within("SPADE WR50 gallery bytes", float64(gallery), 1.18e9, 0.1)
	// Features of R18 layers 1-3 per 224x224 image: 448 channels over 56², 28², 14² cells.
	if want := int64(300) * (64*56*56 + 128*28*28 + 256*14*14) * 4; r18.FeatureBytes != want {
		t.Errorf("R18 feature bytes %d, want %d", r18.FeatureBytes, want)
	}
	if _, err := EstimateRun(Run{Model: ModelSpec{Method: "padim", Backbone: "vgg"}}, 1, 1, 224, 224); err == nil {
		t.Error("an unknown backbone was estimated")
	}
}

func TestPublishedSize(t *testing.T) {
	tr, te, err := PublishedSize(DatasetSpec{Kind: "rd-mvtec", Category: "hazelnut", Seed: 3})
	if err != nil || tr != 391 || te != 110 {
		t.Errorf("hazelnut = %d/%d, %v; want 391/110", tr, te, err)
	}
	tr, te, _ = PublishedSize(DatasetSpec{Kind: "mvtec", Category: "toothbrush", Limit: 50})
	if tr != 50 || te != 42 {
		t.Errorf("toothbrush limited to 50 = %d/%d, want 50/42", tr, te)
	}
	if _, _, err := PublishedSize(DatasetSpec{Kind: "mvtec", Category: "nope"}); err == nil {
		t.Error("an unknown category got a size")
	}
}

func plannedRun(table, key, state string, d DatasetSpec, m ModelSpec, peak, feat int64) PlannedRun {
	return PlannedRun{Table: table, Key: key, State: state, Run: Run{Row: key, Dataset: d, Model: m},
		Estimate: Estimate{CPUSeconds: 10, PeakBytes: peak, FeatureBytes: feat}}
}

// TestTasksGroupByDatasetAndBackbone: runs to do are grouped by dataset and
// backbone, each key once across tables; cached, running and unavailable
// runs are left out; a task asks for its largest run plus its feature cache.
func TestTasksGroupByDatasetAndBackbone(t *testing.T) {
	a := DatasetSpec{Kind: "mvtec", Category: "bottle"}
	b := DatasetSpec{Kind: "rd-mvtec", Category: "bottle", Seed: 2}
	p := &Plan{Runs: []PlannedRun{
		plannedRun("t1", "k1", StateToRun, a, padimR18(10, 1), 500<<20, 100<<20),
		plannedRun("t1", "k2", StateToRun, a, padimWR50(10, 1), 900<<20, 400<<20),
		plannedRun("t1", "k3", StateToRun, a, spadeR18(), 700<<20, 100<<20),
		plannedRun("t1", "k4", StateToRun, b, padimR18(10, 1), 500<<20, 100<<20),
		plannedRun("t2", "k1", StateToRun, a, padimR18(10, 1), 500<<20, 100<<20), // shared with t1
		plannedRun("t2", "k5", StateCached, a, padimR18(20, 1), 500<<20, 100<<20),
		plannedRun("t2", "k6", StateRunning, a, padimR18(30, 1), 500<<20, 100<<20),
		plannedRun("t2", "", StateCannotRun, a, padimEffB5(), 500<<20, 100<<20),
	}}
	tasks := p.Tasks(50 << 20)
	if len(tasks) != 3 {
		t.Fatalf("%d tasks, want 3 (bottle R18, bottle WR50, Rd-bottle#2 R18): %+v", len(tasks), tasks)
	}
	var keys []string
	for i, task := range tasks {
		if task.Index != i {
			t.Errorf("task %d has index %d", i, task.Index)
		}
		for _, r := range task.Runs {
			keys = append(keys, r.Key)
		}
		if task.MemBytes%(256<<20) != 0 {
			t.Errorf("task %d asks for %d bytes, not a multiple of 256 MiB", i, task.MemBytes)
		}
	}
	if got := strings.Join(keys, ","); got != "k1,k3,k2,k4" {
		t.Errorf("task runs %s, want k1,k3 (one task) then k2, then k4", got)
	}
	if tasks[0].Group != "mvtec/bottle | resnet18" || len(tasks[0].Runs) != 2 || tasks[0].CPUSeconds != 20 {
		t.Errorf("first task %+v", tasks[0])
	}
	// Largest run 700 MiB plus the 50 MiB cache cap, a fifth more, rounded up: 1024 MiB.
	if tasks[0].MemBytes != 1024<<20 {
		t.Errorf("first task asks for %d MiB, want 1024", tasks[0].MemBytes>>20)
	}
	_, by, all := p.Totals()
	if by["t2"].Runs != 4 || by["t2"].Cached != 1 || by["t2"].Running != 1 || by["t2"].CannotRun != 1 {
		t.Errorf("t2 totals %+v", by["t2"])
	}
	if all.Runs != 7 || all.AllCPUSeconds != 70 || all.CPUSeconds != 60 {
		t.Errorf("overall totals %+v, want 7 runs (k1 once), 70 CPU-s in all, 60 still to do", all)
	}
}

// slowExec takes a while per run and counts executions per run.
type slowExec struct {
	mu    sync.Mutex
	calls map[int64]int
	fail  map[int64]error
}

func (e *slowExec) Inputs(run Run) (string, error) { return "fp", nil }

func (e *slowExec) Execute(ctx context.Context, run Run, dir string) (*Result, error) {
	e.mu.Lock()
	e.calls[run.Model.Seed]++
	err := e.fail[run.Model.Seed]
	e.mu.Unlock()
	time.Sleep(50 * time.Millisecond)
	if err != nil {
		return nil, err
	}
	v := float64(run.Model.Seed) / 10
	if err := os.WriteFile(filepath.Join(dir, "artifact"), []byte("x"), 0o644); err != nil {
		return nil, err
	}
	return &Result{ImageAUROC: &v}, nil
}

func taskOf(r *Runner, seeds ...int64) Task {
	var task Task
	for _, s := range seeds {
		run := Run{Row: "r", Dataset: DatasetSpec{Kind: "synthetic", Category: "a"}, Model: padimR18(10, s)}
		k, _, _ := r.Locate(run)
		task.Runs = append(task.Runs, TaskRun{Table: "t", Key: k, Run: run})
	}
	return task
}

// TestRunTaskConcurrentWritersComputeOnce runs one task in two runners at
// once over one cache: the lock and the re-check make every run compute
// exactly once, and both runners return the same results.
func TestRunTaskConcurrentWritersComputeOnce(t *testing.T) {
	dir := t.TempDir()
	exec := &slowExec{calls: map[int64]int{}}
	r1, r2 := &Runner{Exec: exec, CacheDir: dir}, &Runner{Exec: exec, CacheDir: dir}
	task := taskOf(r1, 1, 2, 3, 4)
	var wg sync.WaitGroup
	res := make([][]*Result, 2)
	errs := make([]error, 2)
	for i, r := range []*Runner{r1, r2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i], errs[i] = r.RunTask(context.Background(), task, fmt.Sprint("writer ", i))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	for s := int64(1); s <= 4; s++ {
		if exec.calls[s] != 1 {
			t.Errorf("run %d computed %d times, want 1", s, exec.calls[s])
		}
	}
	for i := range task.Runs {
		if *res[0][i].ImageAUROC != *res[1][i].ImageAUROC || res[0][i].Key != res[1][i].Key {
			t.Errorf("run %d: writers disagree: %+v vs %+v", i, res[0][i], res[1][i])
		}
	}
}

// TestRunTaskRecordsFailuresAndStatus: a failing run leaves failed.json and
// the task goes on; RunStatus tells done, failed (with the error), running
// (lock held) and pending apart; a later success clears the failure.
func TestRunTaskRecordsFailuresAndStatus(t *testing.T) {
	dir := t.TempDir()
	exec := &slowExec{calls: map[int64]int{}, fail: map[int64]error{2: errors.New("data/x.png: unknown image format")}}
	r := &Runner{Exec: exec, CacheDir: dir}
	task := taskOf(r, 1, 2, 3)
	_, err := r.RunTask(context.Background(), task, "slurm job 7_0")
	if err == nil || !strings.Contains(err.Error(), "1 of 3 runs failed") || !strings.Contains(err.Error(), "unknown image format") {
		t.Fatalf("err = %v, want the failed run named", err)
	}
	if exec.calls[3] != 1 {
		t.Errorf("the run after the failure ran %d times, want 1", exec.calls[3])
	}
	st, f, err := r.RunStatus(task.Runs[1])
	if err != nil || st != StatusFailed || f == nil || !strings.Contains(f.Error, "unknown image format") || f.Task != "slurm job 7_0" {
		t.Errorf("failed run: %q %+v %v", st, f, err)
	}
	if st, _, _ := r.RunStatus(task.Runs[0]); st != StatusDone {
		t.Errorf("finished run: %q, want done", st)
	}
	pending := taskOf(r, 9).Runs[0]
	if st, _, _ := r.RunStatus(pending); st != StatusPending {
		t.Errorf("unrun run: %q, want pending", st)
	}
	lock, err := lockRun(context.Background(), filepath.Join(dir, pending.Key), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st, _, _ := r.RunStatus(pending); st != StatusRunning {
		t.Errorf("locked run: %q, want running", st)
	}
	lock.unlock()
	if st, _, _ := r.RunStatus(pending); st != StatusPending {
		t.Errorf("unlocked run: %q, want pending", st)
	}
	// Fixed input: rerunning the task computes only the failed run, and clears its record.
	delete(exec.fail, 2)
	exec.calls = map[int64]int{}
	if _, err := r.RunTask(context.Background(), task, "again"); err != nil {
		t.Fatal(err)
	}
	if exec.calls[1] != 0 || exec.calls[2] != 1 || exec.calls[3] != 0 {
		t.Errorf("rerun computed %v, want only run 2", exec.calls)
	}
	if _, err := os.Stat(filepath.Join(dir, task.Runs[1].Key, failedFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("failed.json left after success: %v", err)
	}
}

// TestRunTaskCancelledLeavesNoResult: a task cancelled during a run leaves
// that run without result.json and without a failure record.
func TestRunTaskCancelledLeavesNoResult(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	exec := &countingExec{cancelAt: 2, cancel: cancel, fp: "fp"}
	r := &Runner{Exec: exec, CacheDir: dir}
	var task Task
	for _, s := range []int64{1, 2} {
		run := Run{Row: "r", Dataset: DatasetSpec{Kind: "synthetic", Category: "a"}, Model: padimR18(10, s)}
		k, _, _ := r.Locate(run)
		task.Runs = append(task.Runs, TaskRun{Table: "t", Key: k, Run: run})
	}
	done, err := r.RunTask(ctx, task, "")
	if !errors.Is(err, context.Canceled) || len(done) != 1 {
		t.Fatalf("RunTask = %d results, %v; want 1 and context.Canceled", len(done), err)
	}
	for _, f := range []string{"result.json", failedFile} {
		if _, err := os.Stat(filepath.Join(dir, task.Runs[1].Key, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cancelled run left %s (%v)", f, err)
		}
	}
	if st, _, _ := r.RunStatus(task.Runs[1]); st != StatusPending {
		t.Errorf("cancelled run: %q, want pending", st)
	}
}

func TestTaskFileRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tasks.json")
	run := Run{Row: "r", Dataset: DatasetSpec{Kind: KindSynthetic, Category: "c"}, Model: padimR18(10, 1)} // ReadTaskFile validates runs
	in := &TaskFile{Settings: []byte(`{"quick":true}`), Tables: []string{"t"}, Tasks: []Task{{Index: 0, Group: "g", Runs: []TaskRun{{Table: "t", Key: "k", Run: run}}}}}
	if err := WriteTaskFile(p, in); err != nil {
		t.Fatal(err)
	}
	out, err := ReadTaskFile(p)
	var settings struct{ Quick bool }
	if err == nil {
		err = json.Unmarshal(out.Settings, &settings)
	}
	if err != nil || len(out.Tasks) != 1 || out.Tasks[0].Runs[0].Key != "k" || !settings.Quick {
		t.Fatalf("round trip: %+v, %v", out, err)
	}
	if err := os.WriteFile(p, []byte(`{"version":1,"tasks":[{"index":3}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadTaskFile(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("misnumbered task accepted or error without the path: %v", err)
	}
}
