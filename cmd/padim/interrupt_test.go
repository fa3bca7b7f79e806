package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/padim-go/padim/internal/testenv"

	"github.com/padim-go/padim/datasets"
)

// TestReproduceInterrupted builds the real binary and runs
// `padim reproduce --quick --only synthetic` on a small generated dataset:
//
// (one category, 4 training and 5 test images: two runs, PaDiM and SPADE)
//
//   - once uninterrupted (its own result cache): the reference outputs;
//   - in a second cache, stopped with SIGINT right after the first
//     "[synthetic 1/" progress line, while the second run computes: exit
//     status 130, a message saying how to resume, no temporary file left
//     anywhere, exactly the finished run cached and complete;
//   - resumed, and stopped with SIGKILL at the same point (the second run
//     recomputing): the cache still holds only complete results (a killed
//     process leaves at most hidden atomicfile temporaries, never a partial
//     result);
//   - resumed to completion: tables, CSVs and figures must be
//     byte-identical to the reference run's.
func TestReproduceInterrupted(t *testing.T) {
	data := testDataDir(t)
	testenv.SharedFile(t, "weights/resnet18-imagenet-layer1to3.pth")
	dir := t.TempDir()
	bin := filepath.Join(dir, "padim")
	t0 := time.Now()
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("go build: %.1fs", time.Since(t0).Seconds())
	syn := filepath.Join(dir, "synthetic")
	if err := datasets.GenerateSynthetic(syn, datasets.SyntheticOptions{Categories: []string{"stripes"}, Size: 64,
		Train: 4, TestGood: 2, TestPerDefect: 1, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	// start runs reproduce with its own result cache and output folder and
	// returns the process, a channel closed at the first progress line, and
	// wait, which waits for stderr to be drained (as exec requires before
	// Wait) and the process to end, and returns the exit error and stderr.
	start := func(name string) (*exec.Cmd, <-chan struct{}, func() (string, error)) {
		cmd := exec.Command(bin, "reproduce", "--quick", "--only", "synthetic", "--synthetic", syn, "--data", data,
			"--cache", filepath.Join(dir, name, "cache"), "--out", filepath.Join(dir, name, "out"), "--batch", "4")
		cmd.Env = append(os.Environ(), "PADIM_CACHE="+filepath.Join(dir, "padim-cache"))
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		var log bytes.Buffer
		first, drained := make(chan struct{}), make(chan struct{})
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() {
			defer close(drained)
			sc := bufio.NewScanner(stderr)
			seen := false
			for sc.Scan() {
				log.WriteString(sc.Text() + "\n")
				if !seen && strings.HasPrefix(sc.Text(), "[synthetic 1/") {
					seen = true
					close(first)
				}
			}
			io.Copy(io.Discard, stderr)
			if !seen {
				close(first)
			}
		}()
		return cmd, first, func() (string, error) {
			<-drained
			err := cmd.Wait()
			return log.String(), err
		}
	}
	runToEnd := func(name string) {
		t.Helper()
		t0 := time.Now()
		_, _, wait := start(name)
		if log, err := wait(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, log)
		}
		t.Logf("%s: complete run in %.1fs", name, time.Since(t0).Seconds())
	}
	interrupt := func(name string, sig syscall.Signal) (int, string) {
		t.Helper()
		cmd, first, wait := start(name)
		select {
		case <-first:
		case <-time.After(5 * time.Minute):
			t.Fatalf("%s: no progress line in 5 minutes", name)
		}
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		log, err := wait()
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("%s: after %v the command ended with %v\n%s", name, sig, err, log)
		}
		return exit.ExitCode(), log
	}

	runToEnd("reference")

	// SIGINT while the second run is being computed: a clean stop.
	code, log := interrupt("resumed", syscall.SIGINT)
	if code != 130 {
		t.Errorf("SIGINT: exit status %d, want 130\n%s", code, log)
	}
	if !strings.Contains(log, "interrupted during synthetic") || !strings.Contains(log, "run the same command again to resume") {
		t.Errorf("SIGINT: no interruption message in\n%s", log)
	}
	if tmp := tempFiles(t, filepath.Join(dir, "resumed")); len(tmp) > 0 {
		t.Errorf("SIGINT left temporary files: %v", tmp)
	}
	if n := checkResults(t, filepath.Join(dir, "resumed", "cache")); n != 1 {
		t.Errorf("after SIGINT %d of 2 runs are cached, want 1 (the run in progress must not be)", n)
	}

	// Resume, and SIGKILL it while it recomputes the second run (the first
	// one's cached progress line comes first): no cleanup at all, still no
	// partial result.
	code, log = interrupt("resumed", syscall.SIGKILL)
	if code != -1 {
		t.Errorf("SIGKILL: exit code %d, want -1 (killed)\n%s", code, log)
	}
	if n := checkResults(t, filepath.Join(dir, "resumed", "cache")); n != 1 {
		t.Errorf("after SIGKILL %d of 2 runs are cached, want 1", n)
	}
	for _, p := range tempFiles(t, filepath.Join(dir, "resumed")) {
		if b := filepath.Base(p); !strings.HasPrefix(b, ".") || !strings.Contains(b, ".tmp-") {
			t.Errorf("SIGKILL left %s, which is not a hidden atomicfile temporary", p)
		}
	}

	// Resume to completion: the same bytes as the uninterrupted run.
	runToEnd("resumed")
	compareTrees(t, filepath.Join(dir, "reference", "out"), filepath.Join(dir, "resumed", "out"))
}

// tempFiles lists atomicfile temporaries (".NAME.tmp-*") under root.
func tempFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp-") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// checkResults parses every result.json under cache and returns how many
// there are; each must be complete JSON with status ok.
func checkResults(t *testing.T, cache string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(cache, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Name() != "result.json" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Error(err)
			return nil
		}
		var r struct {
			Status     string   `json:"status"`
			ImageAUROC *float64 `json:"image_auroc"`
		}
		if err := json.Unmarshal(b, &r); err != nil || r.Status != "ok" || r.ImageAUROC == nil {
			t.Errorf("%s is not a complete result (%v): %.200s", p, err, b)
		}
		n++
		return nil
	})
	return n
}

// compareTrees checks that two output folders hold the same files with the
// same bytes.
func compareTrees(t *testing.T, want, got string) {
	t.Helper()
	files := func(root string) map[string][]byte {
		m := map[string][]byte{}
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(root, p)
				m[rel], _ = os.ReadFile(p)
			}
			return nil
		})
		return m
	}
	w, g := files(want), files(got)
	if len(w) == 0 {
		t.Fatalf("reference run wrote nothing to %s", want)
	}
	for name, b := range w {
		gb, ok := g[name]
		switch {
		case !ok:
			t.Errorf("%s: missing after resume", name)
		case !bytes.Equal(b, gb):
			t.Errorf("%s: differs from the uninterrupted run", name)
		}
	}
	for name := range g {
		if _, ok := w[name]; !ok {
			t.Errorf("%s: written only by the resumed run", name)
		}
	}
}
