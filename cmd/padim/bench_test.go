package main

import (
	"bytes"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runAsPadim makes the test binary act as the padim command, so that the
// benchmarks' child processes (os.Executable + "bench end-to-end") run
// this package's main.
const runAsPadim = "PADIM_TEST_RUN_MAIN"

// TestMain runs the test binary as padim when runAsPadim is set (padimCmd),
// and otherwise runs the tests and removes the binary padimBinary built.
func TestMain(m *testing.M) {
	if os.Getenv(runAsPadim) == "1" {
		main()
		os.Exit(0)
	}
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// padimCmd runs the test binary as `padim args...`.
func padimCmd(t *testing.T, args ...string) (string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runAsPadim+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("padim %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), stderr.String()
}

// TestBenchEndToEndSmoke runs `padim bench end-to-end` on a tiny generated
// category without PyTorch: the flags reach the child process, its JSON
// comes back, and the report is written.
func TestBenchEndToEndSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes: skipped with -short")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "reports", "bench.md")
	stdout, stderr := padimCmd(t, "bench", "end-to-end", "--configs", "resnet18:8", "--no-torch", "--train", "3", "--test", "4",
		"--size", "64", "--batch", "2", "--threads", "1", "--data", filepath.Join(dir, "data"), "--work", dir, "--out", out)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != stdout {
		t.Error("the report file differs from what was printed")
	}
	for _, want := range []string{"# PaDiM end to end", "| resnet18 d=8 ", "3 training and 4 test images", "PyTorch comparison not run", "1 threads", "load average"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "go    resnet18") {
		t.Errorf("no progress line for the child on stderr:\n%s", stderr)
	}
}

// TestBenchBackbonesSmoke runs `padim bench backbones` on ResNet-18 at
// 32x32 with neither anchor present: the report still has the Go row and
// the roof, and says plainly that each anchor did not run and why.
func TestBenchBackbonesSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("times a 2048^3 sgemm: skipped with -short")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "bench-backbones.md")
	stdout, _ := padimCmd(t, "bench", "backbones", "--backbones", "resnet18", "--batches", "1", "--size", "32", "--rounds", "1",
		"--min-time", "1ms", "--min-runs", "1", "--no-convs", "--threads", "1",
		"--python", filepath.Join(dir, "no-python"), "--node", filepath.Join(dir, "no-node"), "--out", out)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != stdout {
		t.Error("the report file differs from what was printed")
	}
	for _, want := range []string{"| resnet18 | layer3 | ", "- sgemm roof: ", "GFLOP/s (% of roof)", "in 1 round (",
		"- **ONNX Runtime comparison not run: no node (", "- **PyTorch comparison not run: no python at " + filepath.Join(dir, "no-python")} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
}

// TestBenchMemorySmoke runs `padim bench memory` with tiny curves: four
// distinct fit-only children (N=2 d=8 crop 224 is on all three curves),
// the report and its three plots.
func TestBenchMemorySmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes: skipped with -short")
	}
	dir := t.TempDir()
	prefix := filepath.Join(dir, "reports", "memory")
	stdout, stderr := padimCmd(t, "bench", "memory", "--backbone", "resnet18", "--d", "8", "--n", "2,3", "--dims", "4,8", "--crops", "32,224",
		"--curve-n", "2", "--batch", "2", "--threads", "1", "--data", filepath.Join(dir, "data"), "--out", prefix)
	if n := strings.Count(stderr, "memory resnet18 N="); n != 4 {
		t.Errorf("%d children measured, want 4:\n%s", n, stderr)
	}
	for _, want := range []string{"| 3 | 8 |", "| 2 | 4 |", "|  64 |", "![peak RSS against N](memory.png)", "Go go1", "load average"} {
		if !strings.Contains(strings.Join(strings.Fields(stdout), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	for _, p := range []string{prefix + ".md", prefix + ".png", prefix + "-d.png", prefix + "-positions.png"} {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(p, ".png") {
			if _, err := png.Decode(f); err != nil {
				t.Errorf("%s: %v", p, err)
			}
		}
		f.Close()
	}
}
