package experiments

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// countingExec scores each run by its seed and counts executions; runs on
// category "missing" are not available.
type countingExec struct {
	calls    int
	cancelAt int // cancel the context when this many calls have started (0 = never)
	cancel   context.CancelFunc
	fp       string
}

func (e *countingExec) Inputs(run Run) (string, error) {
	if run.Dataset.Category == "missing" {
		return "", &NotAvailable{Reason: "category missing not found", Fetch: "padim fetch mvtec"}
	}
	return e.fp, nil
}

func (e *countingExec) Execute(ctx context.Context, run Run, dir string) (*Result, error) {
	e.calls++
	if e.cancelAt > 0 && e.calls == e.cancelAt {
		e.cancel()
		return nil, ctx.Err()
	}
	v := float64(run.Model.Seed) / 10
	return &Result{ImageAUROC: &v}, nil
}

func testTable() Table {
	var runs []Run
	for s := int64(1); s <= 4; s++ {
		runs = append(runs, Run{Row: "r", Dataset: DatasetSpec{Kind: "synthetic", Category: "a"}, Model: padimR18(10, s)})
	}
	runs = append(runs, Run{Row: "r", Dataset: DatasetSpec{Kind: "mvtec", Category: "missing"}, Model: padimR18(10, 9)})
	return Table{Name: "t", Runs: runs}
}

func TestRunnerCachesAndResumes(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	exec := &countingExec{cancelAt: 3, cancel: cancel, fp: "data-v1"}
	r := &Runner{Exec: exec, CacheDir: dir}

	// First run is interrupted during its third run.
	done, err := r.RunTable(ctx, testTable())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: err = %v, want context.Canceled", err)
	}
	if len(done) != 2 {
		t.Fatalf("interrupted run returned %d results, want 2", len(done))
	}

	// Resuming executes only the unfinished runs and reproduces the same values.
	exec.cancelAt, exec.calls = 0, 0
	res, err := r.RunTable(context.Background(), testTable())
	if err != nil {
		t.Fatal(err)
	}
	if exec.calls != 2 {
		t.Fatalf("resume executed %d runs, want 2 (runs 3 and 4)", exec.calls)
	}
	for i, s := range []float64{0.1, 0.2, 0.3, 0.4} {
		if res[i].Status != "ok" || *res[i].ImageAUROC != s {
			t.Fatalf("result %d = %+v, want ok %.1f", i, res[i], s)
		}
	}
	if res[4].Status != "not-run" || res[4].Fetch == "" {
		t.Fatalf("missing dataset: %+v, want not-run with a fetch command", res[4])
	}

	// A third pass is fully cached; --force recomputes everything.
	exec.calls = 0
	if _, err := r.RunTable(context.Background(), testTable()); err != nil || exec.calls != 0 {
		t.Fatalf("cached pass executed %d runs (err %v), want 0", exec.calls, err)
	}
	r.Force = true
	if _, err := r.RunTable(context.Background(), testTable()); err != nil || exec.calls != 4 {
		t.Fatalf("forced pass executed %d runs (err %v), want 4", exec.calls, err)
	}

	// New input data changes the key: everything is recomputed.
	r.Force, exec.calls, exec.fp = false, 0, "data-v2"
	if _, err := r.RunTable(context.Background(), testTable()); err != nil || exec.calls != 4 {
		t.Fatalf("changed data executed %d runs (err %v), want 4", exec.calls, err)
	}
}

func TestRunnerRecomputesCorruptCacheEntry(t *testing.T) {
	dir := t.TempDir()
	exec := &countingExec{fp: "x"}
	r := &Runner{Exec: exec, CacheDir: dir}
	tb := testTable()
	tb.Runs = tb.Runs[:1]
	res, err := r.RunTable(context.Background(), tb)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, res[0].Key, "result.json")
	if err := os.WriteFile(p, []byte("{truncated"), 0o644); err != nil {
		t.Fatal(err)
	}
	exec.calls = 0
	if _, err := r.RunTable(context.Background(), tb); err != nil || exec.calls != 1 {
		t.Fatalf("corrupt entry: executed %d runs (err %v), want 1", exec.calls, err)
	}
}

func TestLookup(t *testing.T) {
	if _, err := Lookup(Options{}, []string{"nope"}); err == nil {
		t.Fatal("Lookup accepted an unknown table")
	}
	ts, err := Lookup(Options{Quick: true, SyntheticCategories: []string{"a"}}, []string{"dims", "layers"})
	if err != nil || len(ts) != 2 || ts[0].Name != "dims" {
		t.Fatalf("Lookup = %v, %v", ts, err)
	}
	seen := map[string]bool{}
	for _, tb := range Tables(Options{SyntheticCategories: []string{"a", "b"}}) {
		for _, run := range tb.Runs {
			id := tb.Name + "|" + run.configHash()
			if seen[id] {
				t.Fatalf("table %s declares run %s twice", tb.Name, run.ID())
			}
			seen[id] = true
		}
	}
}

// TestRealDatasets lists the dataset directories present, in a fixed
// order, and ignores files and unknown directories.
func TestRealDatasets(t *testing.T) {
	root := t.TempDir()
	if got := RealDatasets(root); len(got) != 0 {
		t.Fatalf("empty root: %v", got)
	}
	for _, d := range []string{"stc", "mvtec_ad", "other"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "magnetic_tile"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := RealDatasets(root); !slices.Equal(got, []string{"mvtec_ad", "stc"}) {
		t.Fatalf("RealDatasets = %v, want [mvtec_ad stc]", got)
	}
}
