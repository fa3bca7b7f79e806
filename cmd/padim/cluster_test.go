package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/padim-go/padim/internal/testenv"

	"github.com/padim-go/padim/datasets"
)

// TestReproduceJobsPlanAndTaskFile runs the quick synthetic table with
// --jobs 2 (two task processes with one thread each) and in process (two
// threads): the reports must be byte-identical. --plan lists every run as
// "to run" before and "cached" after, with the same keys; a bad
// --task-index names the file and the valid range.
func TestReproduceJobsPlanAndTaskFile(t *testing.T) {
	data := testDataDir(t)
	testenv.SharedFile(t, "weights/resnet18-imagenet-layer1to3.pth")
	cats := []string{"stripes", "disc"}
	n := quickRunCount(t, "synthetic", cats)
	dir := t.TempDir()
	bin := filepath.Join(dir, "padim")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	syn := filepath.Join(dir, "synthetic")
	if err := datasets.GenerateSynthetic(syn, datasets.SyntheticOptions{Categories: cats, Size: 64,
		Train: 6, TestGood: 2, TestPerDefect: 1, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	padim := func(wantErr bool, all ...string) string {
		t.Helper()
		cmd := exec.Command(bin, all...)
		var so, se bytes.Buffer
		cmd.Stdout, cmd.Stderr = &so, &se
		if err := cmd.Run(); (err != nil) != wantErr {
			t.Fatalf("padim %s: %v\n%s%s", strings.Join(all, " "), err, so.String(), se.String())
		}
		return so.String() + se.String()
	}
	run := func(wantErr bool, cache, out string, args ...string) string {
		t.Helper()
		return padim(wantErr, append([]string{"reproduce", "--quick", "--only", "synthetic", "--data", data, "--synthetic", syn, "--cache", cache, "--out", out}, args...)...)
	}
	jobsCache, jobsOut := filepath.Join(dir, "cache-jobs"), filepath.Join(dir, "out-jobs")
	// planned returns each run line's key and state.
	keyRe := regexp.MustCompile(`^synthetic\s+.*\s([0-9a-f]{24})\s+(to run|cached)\s`)
	planned := func(plan string) map[string]string {
		m := map[string]string{}
		for _, l := range strings.Split(plan, "\n") {
			if g := keyRe.FindStringSubmatch(l); g != nil {
				m[g[1]] = g[2]
			}
		}
		return m
	}
	before := run(false, jobsCache, jobsOut, "--plan")
	if p := planned(before); len(p) != n || !strings.Contains(before, fmt.Sprintf("%d runs to run here form 2 tasks", n)) {
		t.Fatalf("plan before running:\n%s", before)
	}
	if _, err := os.Stat(jobsOut); err == nil {
		t.Errorf("--plan wrote %s", jobsOut)
	}
	msg := run(false, jobsCache, jobsOut, "--jobs", "2", "--threads", "2")
	if !strings.Contains(msg, "2 tasks, 2 at a time with 1 threads each") {
		t.Errorf("--jobs output:\n%s", msg)
	}
	after := run(false, jobsCache, jobsOut, "--plan")
	pb, pa := planned(before), planned(after)
	for k, st := range pb {
		if st != "to run" || pa[k] != "cached" {
			t.Errorf("run %s: %q before, %q after; want to run, then cached", k, st, pa[k])
		}
	}
	if len(pa) != n {
		t.Errorf("plan after running:\n%s", after)
	}
	localOut := filepath.Join(dir, "out-local")
	run(false, filepath.Join(dir, "cache-local"), localOut, "--threads", "2")
	sameTree(t, localOut, jobsOut)

	sub, err := latestSubmission(filepath.Join(jobsCache, "jobs"))
	if err != nil {
		t.Fatal(err)
	}
	// A task's settings come from its task file: run settings are refused with
	// it (TestCLIReproduceClusterFlags), --cache may name its cache.
	msg = padim(true, "reproduce", "--task-file", sub.taskFile(), "--task-index", "5")
	if !strings.Contains(msg, sub.taskFile()) || !strings.Contains(msg, "0..1") {
		t.Errorf("bad --task-index error:\n%s", msg)
	}
	// Rerunning a finished task computes nothing.
	msg = padim(false, "reproduce", "--task-file", sub.taskFile(), "--task-index", "0", "--cache", jobsCache)
	if strings.Contains(msg, "fitted") {
		t.Errorf("a finished task recomputed:\n%s", msg)
	}
}
