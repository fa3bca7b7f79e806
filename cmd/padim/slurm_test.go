package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/padim-go/padim/internal/testenv"

	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/experiments"
	"github.com/padim-go/padim/internal/slurm"
)

// The tests in this file submit `padim reproduce --slurm` to a real Slurm
// cluster: the single-node one scripts/slurm-ci.sh starts in CI (which
// exports PADIM_SLURM=1), or any cluster whose sbatch this machine reaches
// and whose nodes see this machine's /tmp. Without one they are skipped,
// except under CI, where they must run.

func requireSlurm(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := (&slurm.Client{}).Ping(ctx); err != nil {
		if os.Getenv("CI") == "true" || os.Getenv("PADIM_SLURM") != "" {
			t.Fatalf("no Slurm cluster answers (%v), but CI=true or PADIM_SLURM is set: start one with scripts/slurm-ci.sh", err)
		}
		t.Skipf("no Slurm cluster reachable (%v): these tests run against a real one (scripts/slurm-ci.sh starts a local one)", err)
	}
}

// slurmFixture is the binary, data and synthetic dataset the tests share.
type slurmFixture struct {
	bin, data, syn, dir string
	cats                []string // the synthetic categories of syn
}

func newSlurmFixture(t *testing.T) *slurmFixture {
	t.Helper()
	requireSlurm(t)
	data := testDataDir(t)
	testenv.SharedFile(t, "weights/resnet18-imagenet-layer1to3.pth")
	dir := t.TempDir()
	f := &slurmFixture{bin: filepath.Join(dir, "padim"), data: data, syn: filepath.Join(dir, "synthetic"), dir: dir, cats: []string{"stripes", "disc"}}
	if out, err := exec.Command("go", "build", "-o", f.bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if err := datasets.GenerateSynthetic(f.syn, datasets.SyntheticOptions{Categories: f.cats, Size: 64,
		Train: 6, TestGood: 2, TestPerDefect: 1, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	return f
}

// run runs the binary with the shared options plus args and returns stdout.
func (f *slurmFixture) run(t *testing.T, wantErr bool, cache, out, syn string, args ...string) string {
	t.Helper()
	all := append([]string{"reproduce", "--quick", "--data", f.data, "--synthetic", syn, "--cache", cache, "--out", out}, args...)
	cmd := exec.Command(f.bin, all...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	if (err != nil) != wantErr {
		t.Fatalf("padim %s: err = %v (want error: %v)\nstdout:\n%s\nstderr:\n%s", strings.Join(all, " "), err, wantErr, so.String(), se.String())
	}
	return so.String() + se.String()
}

// latest reads the last submission recorded in cache's state directory.
func latest(t *testing.T, cache string) *submission {
	t.Helper()
	sub, err := latestSubmission(filepath.Join(cache, "jobs"))
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

func (s *submission) jobIDs() []string {
	var ids []string
	for _, a := range s.Arrays {
		ids = append(ids, a.JobID)
	}
	return append(ids, s.Render)
}

// waitGone waits until none of ids is queued any more.
func waitGone(t *testing.T, ids []string, limit time.Duration) {
	t.Helper()
	c := &slurm.Client{}
	deadline := time.Now().Add(limit)
	for {
		q, err := c.Queue(context.Background(), ids...)
		if err != nil {
			t.Fatal(err)
		}
		if len(q) == 0 {
			return
		}
		if time.Now().After(deadline) {
			c.Cancel(context.Background(), ids...)
			t.Fatalf("jobs %v still queued after %v: %+v", ids, limit, q)
		}
		time.Sleep(time.Second)
	}
}

// sameTree fails unless the two report directories hold the same files with the same bytes.
func sameTree(t *testing.T, want, got string) {
	t.Helper()
	files := func(root string) map[string][]byte {
		m := map[string][]byte{}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			rel, _ := filepath.Rel(root, p)
			m[rel] = b
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	w, g := files(want), files(got)
	if len(w) == 0 {
		t.Fatalf("%s is empty", want)
	}
	for name, b := range w {
		if gb, ok := g[name]; !ok {
			t.Errorf("%s: missing from %s", name, got)
		} else if !bytes.Equal(b, gb) {
			t.Errorf("%s differs between %s and %s", name, want, got)
		}
	}
	for name := range g {
		if _, ok := w[name]; !ok {
			t.Errorf("%s: only in %s", name, got)
		}
	}
}

// The two tables are accuracy tables (AUROC, PRO), whose values are
// deterministic; timing tables (cost) would differ run to run.
const slurmTables = "synthetic,magnetic-tile"

// TestSlurmReproduceMatchesLocalAndResumesAfterCancel submits the quick
// synthetic and magnetic-tile tables to Slurm twice:
//   - straight through: the rendered reports must equal, byte for byte,
//     those of a local in-process run (2 threads there, 1 per Slurm task);
//   - with the magnetic-tile task cancelled by scancel during its last
//     run (SPADE): that run is left uncomputed and nothing partial is cached;
//     resubmitting the same command submits exactly the missing runs, and
//     the final reports again equal the local ones.
func TestSlurmReproduceMatchesLocalAndResumesAfterCancel(t *testing.T) {
	f := newSlurmFixture(t)
	local, localOut := filepath.Join(f.dir, "cache-local"), filepath.Join(f.dir, "out-local")
	f.run(t, false, local, localOut, f.syn, "--only", slurmTables, "--threads", "2")

	// Straight through.
	cache, out := filepath.Join(f.dir, "cache-slurm"), filepath.Join(f.dir, "out-slurm")
	msg := f.run(t, false, cache, out, f.syn, "--only", slurmTables, "--slurm", "--cpus-per-task", "1", "--time", "10:00")
	n := quickRunCount(t, slurmTables, f.cats)
	if !strings.Contains(msg, fmt.Sprintf("Submitted %d runs as 3 tasks", n)) || !strings.Contains(msg, "squeue --jobs=") {
		t.Fatalf("submission output:\n%s", msg)
	}
	sub := latest(t, cache)
	// The same command while the array is queued or running submits nothing.
	again := f.run(t, false, cache, out, f.syn, "--only", slurmTables, "--slurm", "--cpus-per-task", "1", "--time", "10:00")
	if !strings.Contains(again, "Nothing to submit") {
		t.Errorf("second submission while the first is queued:\n%s", again)
	}
	if latest(t, cache).Dir != sub.Dir {
		t.Errorf("the second submission recorded a new submission")
	}
	waitGone(t, sub.jobIDs(), 4*time.Minute)
	sameTree(t, localOut, out)
	status := f.run(t, false, cache, out, f.syn, "--status")
	if !strings.Contains(status, fmt.Sprintf("%d done, 0 running, 0 failed, 0 pending", n)) {
		t.Errorf("status after a complete run:\n%s", status)
	}

	// Cancelled mid-run, then resumed.
	cache, out = filepath.Join(f.dir, "cache-cancel"), filepath.Join(f.dir, "out-cancel")
	f.run(t, false, cache, out, f.syn, "--only", slurmTables, "--slurm", "--cpus-per-task", "1")
	sub = latest(t, cache)
	tf, err := readTaskFileT(sub)
	if err != nil {
		t.Fatal(err)
	}
	victim := -1
	for _, task := range tf.Tasks {
		if strings.HasPrefix(task.Group, "magnetic-tile") {
			victim = task.Index
		}
	}
	if victim < 0 {
		t.Fatalf("no magnetic-tile task in %+v", tf.Tasks)
	}
	// Cancel once the task's last run (SPADE, about a second per test
	// image on one CPU) has fitted and is scoring.
	last := len(tf.Tasks[victim].Runs)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		b, _ := os.ReadFile(sub.taskLog(victim))
		if strings.Count(string(b), "fitted ") >= last {
			break
		}
		if strings.Contains(string(b), "[task") && strings.Contains(string(b), fmt.Sprintf(" %d/%d]", last, last)) {
			t.Fatalf("the task finished its second run before it could be cancelled:\n%s", b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %d did not reach its second run in time; log:\n%s", victim, b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	arrayID := ""
	for _, a := range sub.Arrays {
		for _, i := range a.Tasks {
			if i == victim {
				arrayID = a.JobID
			}
		}
	}
	if err := (&slurm.Client{}).Cancel(context.Background(), arrayID+"_"+strconv.Itoa(victim)); err != nil {
		t.Fatal(err)
	}
	waitGone(t, sub.jobIDs(), 4*time.Minute)
	cancelled := tf.Tasks[victim].Runs[last-1]
	entry := filepath.Join(cache, cancelled.Key)
	if _, err := os.Stat(filepath.Join(entry, "result.json")); err == nil {
		b, _ := os.ReadFile(sub.taskLog(victim))
		t.Fatalf("the cancelled run has a result; the cancel came too late. Log:\n%s", b)
	}
	// Nothing partial: every result present is a complete document.
	entries, _ := filepath.Glob(filepath.Join(cache, "*", "result.json"))
	if len(entries) != n-1 {
		t.Errorf("%d results cached after the cancel, want %d", len(entries), n-1)
	}
	for _, p := range entries {
		b, err := os.ReadFile(p)
		var v map[string]any
		if err != nil || json.Unmarshal(b, &v) != nil || v["status"] != "ok" {
			t.Errorf("%s is not a complete result: %v %q", p, err, b)
		}
	}
	status = f.run(t, false, cache, out, f.syn, "--status")
	if !strings.Contains(status, fmt.Sprintf("%d done, 0 running, 0 failed, 1 pending", n-1)) || !strings.Contains(status, "its task was cancelled") {
		t.Errorf("status after the cancel:\n%s", status)
	}
	t.Logf("status after the cancel:\n%s", status)
	msg = f.run(t, false, cache, out, f.syn, "--only", slurmTables, "--slurm", "--cpus-per-task", "1")
	if !strings.Contains(msg, "Submitted 1 runs as 1 tasks") {
		t.Fatalf("resubmission after a cancel should submit only the cancelled run:\n%s", msg)
	}
	resub := latest(t, cache)
	rtf, err := readTaskFileT(resub)
	if err != nil {
		t.Fatal(err)
	}
	if len(rtf.Tasks) != 1 || len(rtf.Tasks[0].Runs) != 1 || rtf.Tasks[0].Runs[0].Key != cancelled.Key {
		t.Fatalf("resubmitted tasks %+v, want only run %s", rtf.Tasks, cancelled.Key)
	}
	waitGone(t, resub.jobIDs(), 4*time.Minute)
	sameTree(t, localOut, out)
	// The status covers every run of the tables, not only the one resubmitted.
	status = f.run(t, false, cache, out, f.syn, "--status")
	if !strings.Contains(status, fmt.Sprintf("%d done, 0 running, 0 failed, 0 pending", n)) {
		t.Errorf("status after the resubmission:\n%s", status)
	}
}

// TestSlurmCorruptDatasetFailsItsTask corrupts one test image of one
// synthetic category: that category's task fails, the other's succeeds,
// and --status names both failed runs and the file that is wrong.
func TestSlurmCorruptDatasetFailsItsTask(t *testing.T) {
	f := newSlurmFixture(t)
	bad := filepath.Join(f.dir, "synthetic-corrupt")
	if err := os.CopyFS(bad, os.DirFS(f.syn)); err != nil {
		t.Fatal(err)
	}
	imgs, _ := filepath.Glob(filepath.Join(bad, "disc", "test", "good", "*.png"))
	if len(imgs) == 0 {
		t.Fatal("no test images to corrupt")
	}
	if err := os.WriteFile(imgs[0], []byte("this is not a PNG file"), 0o644); err != nil {
		t.Fatal(err)
	}
	cache, out := filepath.Join(f.dir, "cache-corrupt"), filepath.Join(f.dir, "out-corrupt")
	f.run(t, false, cache, out, bad, "--only", "synthetic", "--slurm", "--cpus-per-task", "1")
	sub := latest(t, cache)
	waitGone(t, sub.jobIDs(), 4*time.Minute)
	tf, err := readTaskFileT(sub)
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tf.Tasks {
		log, _ := os.ReadFile(sub.taskLog(task.Index))
		isBad := strings.HasPrefix(task.Group, "synthetic/disc")
		if isBad != strings.Contains(string(log), "padim: task") {
			t.Errorf("task %d (%s): failed = %v, want %v; log:\n%s", task.Index, task.Group, !isBad, isBad, log)
		}
	}
	perCat := quickRunCount(t, "synthetic", []string{"disc"})
	total := quickRunCount(t, "synthetic", f.cats)
	status := f.run(t, false, cache, out, bad, "--status")
	if !strings.Contains(status, fmt.Sprintf("%d done, 0 running, %d failed, 0 pending", total-perCat, perCat)) {
		t.Errorf("status counts:\n%s", status)
	}
	failedLines := 0
	for _, l := range strings.Split(status, "\n") {
		if strings.HasPrefix(l, "failed") {
			failedLines++
			if !strings.Contains(l, "synthetic/disc") || !strings.Contains(l, filepath.Base(imgs[0])) {
				t.Errorf("failed line should name the run and the corrupt file %s:\n%s", filepath.Base(imgs[0]), l)
			}
		}
	}
	if failedLines != perCat {
		t.Errorf("%d failed runs listed, want %d (every run on disc):\n%s", failedLines, perCat, status)
	}
	t.Logf("status:\n%s", status)
}

// quickRunCount is the number of distinct runs the quick variants of the
// comma-separated tables declare with the synthetic categories cats (a run
// two tables share counts once), as reproduce plans them.
func quickRunCount(t *testing.T, tables string, cats []string) int {
	t.Helper()
	tabs, err := experiments.Lookup(experiments.Options{Quick: true, SyntheticCategories: cats}, strings.Split(tables, ","))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, tb := range tabs {
		for _, r := range tb.Runs {
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			seen[string(b)] = true
		}
	}
	return len(seen)
}

func readTaskFileT(s *submission) (*experiments.TaskFile, error) {
	_, tf, err := readSubmission(s.taskFile())
	return tf, err
}
