package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/experiments"
	"github.com/padim-go/padim/internal/slurm"
)

// fakeSlurm installs sbatch and sinfo stand-ins: sbatch appends its
// arguments and script to dir/sbatch.log and prints job ids 101, 102, ...
func fakeSlurm(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	sbatch := `#!/bin/sh
n=$(cat "` + dir + `/count" 2>/dev/null || echo 100); n=$((n+1)); echo $n > "` + dir + `/count"
{ echo "== job $n"; for a in "$@"; do echo "arg $a"; done; cat; } >> "` + dir + `/sbatch.log"
echo "$n"
`
	for name, body := range map[string]string{"sbatch": sbatch, "sinfo": "#!/bin/sh\necho debug\n", "squeue": "#!/bin/sh\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	old := slurmClient
	slurmClient = &slurm.Client{Dir: dir}
	t.Cleanup(func() { slurmClient = old })
	return dir
}

// TestSubmitSlurmBuildsArraysAndRenderJob submits the quick synthetic table
// to stand-in Slurm commands and checks what sbatch was asked: one array
// with every option, the task script, and the dependent render job.
func TestSubmitSlurmBuildsArraysAndRenderJob(t *testing.T) {
	data := testDataDir(t)
	fake := fakeSlurm(t)
	dir := t.TempDir()
	syn := filepath.Join(dir, "synthetic")
	if err := datasets.GenerateSynthetic(syn, datasets.SyntheticOptions{Categories: []string{"stripes", "disc"}, Size: 64,
		Train: 6, TestGood: 2, TestPerDefect: 1, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	o := reproduceOptions{data: data, synthetic: syn, quick: true, only: "synthetic", batch: 8, featureCacheGB: 1,
		cache: filepath.Join(dir, "cache"), out: filepath.Join(dir, "out"),
		cluster: clusterOptions{slurm: true, partition: "cpu", account: "lab", time: "1:00:00", cpusPerTask: 3, maxParallel: 2,
			sbatchArgs: []string{"--qos=low"}, jobs: 1, taskIndex: -1}}
	var stdout, stderr bytes.Buffer
	if err := runCluster(context.Background(), &stdout, &stderr, o); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	logb, err := os.ReadFile(filepath.Join(fake, "sbatch.log"))
	if err != nil {
		t.Fatal(err)
	}
	jobs := strings.Split(string(logb), "== job ")[1:]
	if len(jobs) != 2 {
		t.Fatalf("%d sbatch calls, want 2 (one array, one render job):\n%s", len(jobs), logb)
	}
	sub, err := latestSubmission(filepath.Join(o.cache, "jobs"))
	if err != nil {
		t.Fatal(err)
	}
	args := func(job string) []string {
		var a []string
		for _, l := range strings.Split(job, "\n") {
			if v, ok := strings.CutPrefix(l, "arg "); ok {
				a = append(a, v)
			}
		}
		return a
	}
	mem := sub.Arrays[0].MemMB
	for _, want := range []string{"--parsable", "--array=0,1%2", "--partition=cpu", "--account=lab", "--time=1:00:00",
		"--cpus-per-task=3", "--output=" + filepath.Join(sub.Dir, "logs", "task-%a.log"), "--qos=low", "--mem=" + itoa64(mem) + "M"} {
		if !slices.Contains(args(jobs[0]), want) {
			t.Errorf("array job lacks %s: %q", want, args(jobs[0]))
		}
	}
	if !strings.Contains(jobs[0], `--task-file '`+sub.taskFile()+`' --task-index "$SLURM_ARRAY_TASK_ID" --threads 3`) {
		t.Errorf("array script:\n%s", jobs[0])
	}
	if !slices.Contains(args(jobs[1]), "--dependency=afterany:101") || !strings.Contains(jobs[1], "reproduce --render --task-file") {
		t.Errorf("render job:\n%s", jobs[1])
	}
	for _, want := range []string{"job array 101: 2 tasks", "render job 102", "squeue --jobs=101,102", "sacct --jobs=101,102"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	if sub.Render != "102" || len(sub.Arrays) != 1 || sub.Arrays[0].JobID != "101" {
		t.Errorf("recorded submission %+v", sub)
	}

	// Preconditions: a missing data root, a cache that is a file.
	bad := o
	bad.data = filepath.Join(dir, "nowhere")
	if err := runCluster(context.Background(), &stdout, &stderr, bad); err == nil || !strings.Contains(err.Error(), "--data") {
		t.Errorf("missing data: %v", err)
	}
	bad = o
	bad.cache = filepath.Join(dir, "cache-file")
	if err := os.WriteFile(bad.cache, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := runCluster(context.Background(), &stdout, &stderr, bad); err == nil || !strings.Contains(err.Error(), "cache-file") {
		t.Errorf("cache that is a file: %v", err)
	}
}

func itoa64(v int64) string { return strconv.FormatInt(v, 10) }

func TestArraysByMemory(t *testing.T) {
	tasks := []experiments.Task{{Index: 0, MemBytes: 2 << 30}, {Index: 1, MemBytes: 1 << 30}, {Index: 2, MemBytes: 2 << 30}}
	got := arraysByMemory(tasks)
	if len(got) != 2 || got[0].MemMB != 1024 || !slices.Equal(got[0].Tasks, []int{1}) || got[1].MemMB != 2048 || !slices.Equal(got[1].Tasks, []int{0, 2}) {
		t.Errorf("arraysByMemory = %+v, want [1024 MiB: 1] [2048 MiB: 0 2]", got)
	}
}

// TestTaskEndReadsWhyATaskStopped classifies the endings Slurm and padim
// write into a task log.
func TestTaskEndReadsWhyATaskStopped(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct {
		log       string
		cancelled bool
		want      string
	}{
		"scancel": {"padim task 2 of x on vm: 2 runs\nslurmstepd: error: *** JOB 12 ON vm CANCELLED AT 2026-12-02T05:17:40 ***\npadim: task 2 interrupted; its finished runs are cached\n",
			true, "CANCELLED AT"},
		"time limit": {"padim task 0 of x\nslurmstepd: error: *** JOB 13 ON vm CANCELLED AT 2026-12-02T06:00:00 DUE TO TIME LIMIT ***\npadim: task 0 interrupted\n",
			false, "DUE TO TIME LIMIT"},
		"out of memory": {"padim task 0 of x\nslurmstepd: error: Detected 1 oom-kill event(s) in StepId=14.batch. Some of your processes may have been killed by the cgroup out-of-memory handler.\n",
			false, "oom-kill"},
		"padim error": {"padim task 1 of x\n[task 1 1/2] FAILED ...\npadim: task 1: 1 of 2 runs failed:\n  synthetic: ...\n", false, "padim: task 1: 1 of 2 runs failed"},
		"clean":       {"padim task 1 of x\npadim task 1 done\n", false, ""},
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".log")
		if err := os.WriteFile(p, []byte(c.log), 0o644); err != nil {
			t.Fatal(err)
		}
		cancelled, msg := taskEnd(p)
		if cancelled != c.cancelled || (c.want == "") != (msg == "") || !strings.Contains(msg, c.want) {
			t.Errorf("%s: taskEnd = %v, %q; want %v and a line with %q", name, cancelled, msg, c.cancelled, c.want)
		}
	}
	if cancelled, msg := taskEnd(filepath.Join(dir, "absent.log")); cancelled || msg != "" {
		t.Errorf("absent log: %v %q", cancelled, msg)
	}
}
