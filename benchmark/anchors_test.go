package benchmark

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// anchorArgsFile names the file where the fake runner records its
// arguments, so the test can see what runAnchor passed.
const anchorArgsFile = "PADIM_BENCHMARK_TEST_ANCHOR_ARGS"

// fakeAnchorRunner plays bench_ort_backbones.mjs: a warning line, then one
// result per asked case taking batch/4 seconds, version 1.20.1. With the
// extra argument --fail it prints an error on stderr and exits 1 instead.
func fakeAnchorRunner(args []string) int {
	if err := os.WriteFile(os.Getenv(anchorArgsFile), []byte(strings.Join(args, "\n")), 0o644); err != nil {
		return 2
	}
	if slices.Contains(args, "--fail") {
		fmt.Fprintln(os.Stderr, "bench_ort_backbones: /m/resnet18.onnx: Load model failed")
		return 1
	}
	flag := func(name string) string {
		if i := slices.Index(args, name); i >= 0 && i+1 < len(args) {
			return args[i+1]
		}
		return ""
	}
	fmt.Println("a warning on stdout")
	for _, b := range strings.Split(flag("--backbones"), ",") {
		for _, n := range strings.Split(flag("--batches"), ",") {
			batch, _ := strconv.Atoi(n)
			line, _ := json.Marshal(anchorLine{Backbone: b, Batch: batch, Seconds: float64(batch) / 4, Runs: 3, ORT: "1.20.1"})
			fmt.Println(string(line))
		}
	}
	return 0
}

func anchorRows() []backboneRow {
	return []backboneRow{{backbone: "resnet18", batch: 1}, {backbone: "resnet18", batch: 8}, {backbone: "wide_resnet50_2", batch: 1}, {backbone: "wide_resnet50_2", batch: 8}}
}

// TestRunAnchor runs this test binary as the ONNX Runtime runner: it gets
// the command's own arguments, then the threads, size, batches, timing
// and only the backbones the command can time; the times it prints land
// in those rows (resnet18 at batch 8: 2 s) and nowhere else.
func TestRunAnchor(t *testing.T) {
	t.Setenv(childMode, "anchor")
	argsFile := filepath.Join(t.TempDir(), "args")
	t.Setenv(anchorArgsFile, argsFile)
	o := BackboneOptions{Batches: []int{1, 8}, Size: 224, MinTime: 1500 * time.Millisecond, MinRuns: 2}
	c := anchorCmd{argv: []string{os.Args[0], "--models", "/m"}, backbones: []string{"resnet18"}}
	rows := anchorRows()
	var log bytes.Buffer
	v, err := runAnchor(context.Background(), &log, anchorORT, c, o, 2, rows)
	if err != nil || v != "1.20.1" {
		t.Fatalf("version %q, error %v", v, err)
	}
	b, err := os.ReadFile(argsFile)
	if err != nil {
		t.Fatal(err)
	}
	want := "--models /m --threads 2 --size 224 --batches 1,8 --min-time 1.5 --min-runs 2 --backbones resnet18"
	if got := strings.ReplaceAll(string(b), "\n", " "); got != want {
		t.Errorf("runner args %q, want %q", got, want)
	}
	if rows[0].anchorTime[anchorORT] != 250*time.Millisecond || rows[1].anchorTime[anchorORT] != 2*time.Second {
		t.Errorf("resnet18 ORT times %v, %v; want 250ms and 2s", rows[0].anchorTime[anchorORT], rows[1].anchorTime[anchorORT])
	}
	for _, r := range rows {
		if r.anchorTime[anchorTorch] != 0 || (r.backbone == "wide_resnet50_2" && r.anchorTime[anchorORT] != 0) {
			t.Errorf("row %+v has a time it was not given", r)
		}
	}
	if !strings.Contains(log.String(), "ort     resnet18         batch 8:     4.00 img/s (3 runs)") {
		t.Errorf("progress %q", log.String())
	}

	c.argv = append(c.argv, "--fail")
	if _, err := runAnchor(context.Background(), &log, anchorORT, c, o, 2, anchorRows()); err == nil ||
		!strings.Contains(err.Error(), "exit status 1") || !strings.Contains(err.Error(), "Load model failed") {
		t.Errorf("failing runner: error %v", err)
	}
}

// TestReadAnchorLines: each runtime's version comes from its own key, a
// case keeps its faster time, lines that are not results are skipped, and
// a result that is broken, not positive, not asked for, or missing is an
// error naming the line or the case.
func TestReadAnchorLines(t *testing.T) {
	rows := []backboneRow{{backbone: "resnet18", batch: 1}, {backbone: "resnet18", batch: 8}}
	rows[0].anchorTime[anchorTorch] = 3 * time.Second
	rows[1].anchorTime[anchorTorch] = time.Second
	out := "Warning: no CUDA\n" +
		`{"backbone":"resnet18","batch":1,"seconds":2,"runs":4,"torch":"1.13.0"}` + "\n" +
		`{"backbone":"resnet18","batch":8,"seconds":5,"runs":2,"torch":"1.13.0"}` + "\n"
	var log bytes.Buffer
	v, err := readAnchorLines(strings.NewReader(out), &log, anchorTorch, rows, []string{"resnet18"}, []int{1, 8})
	if err != nil || v != "1.13.0" {
		t.Errorf("version %q, error %v", v, err)
	}
	if rows[0].anchorTime[anchorTorch] != 2*time.Second || rows[1].anchorTime[anchorTorch] != time.Second {
		t.Errorf("torch times %v, %v; want 2 s (faster) and 1 s (kept)", rows[0].anchorTime[anchorTorch], rows[1].anchorTime[anchorTorch])
	}
	if rows[0].anchorTime[anchorORT] != 0 {
		t.Errorf("a PyTorch line set an ONNX Runtime time")
	}
	if !strings.Contains(log.String(), "pytorch resnet18         batch 1:     0.50 img/s (4 runs)") {
		t.Errorf("progress %q", log.String())
	}

	ort := `{"backbone":"resnet18","batch":1,"seconds":0.5,"runs":4,"onnxruntime":"1.20.1","threads":2}`
	if v, err := readAnchorLines(strings.NewReader(ort), &log, anchorORT, rows, []string{"resnet18"}, []int{1}); err != nil || v != "1.20.1" ||
		rows[0].anchorTime[anchorORT] != 500*time.Millisecond {
		t.Errorf("ONNX Runtime line: version %q, error %v, time %v", v, err, rows[0].anchorTime[anchorORT])
	}

	for _, c := range []struct{ out, want string }{
		{`{"backbone":"resnet18","batch":1,"seconds":` + "\n", `result line "{\"backbone\":\"resnet18\",\"batch\":1,\"seconds\":"`},
		{`{"backbone":"resnet18","batch":1,"seconds":0,"runs":4}`, "seconds must be positive"},
		{`{"backbone":"vgg","batch":1,"seconds":1,"runs":4}`, "a case that was not asked for"},
		{`{"backbone":"resnet18","batch":8,"seconds":1,"runs":4}`, "a case that was not asked for"}, // batch 8 not asked
		{"", "printed no result for resnet18 batch 1"},
	} {
		_, err := readAnchorLines(strings.NewReader(c.out), &log, anchorORT, rows, []string{"resnet18"}, []int{1})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("output %q: error %v, want one containing %q", c.out, err, c.want)
		}
	}
}

// TestORTCommand: each missing piece (node, the runner, onnxruntime-node,
// every model) skips the anchor with a reason naming it; backbones
// without an exported model are left out and listed as missing.
func TestORTCommand(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "bench_ort_backbones.mjs")
	ortDir, onnxDir := filepath.Join(dir, "ort"), filepath.Join(dir, "onnx")
	pkg := filepath.Join(ortDir, "node_modules", "onnxruntime-node", "package.json")
	for _, f := range []string{script, pkg, filepath.Join(onnxDir, "resnet18.onnx")} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	node := os.Args[0] // any executable will do: ortCommand does not run it
	o := BackboneOptions{Backbones: []string{"resnet18", "wide_resnet50_2"}, Node: node, ORTScript: script, ORTDir: ortDir, ONNXDir: onnxDir}

	c, skipped, missing := ortCommand(o)
	if skipped != "" || !slices.Equal(c.backbones, []string{"resnet18"}) || !slices.Equal(missing, []string{"wide_resnet50_2"}) ||
		!slices.Equal(c.argv, []string{node, script, "--ort-dir", ortDir, "--models", onnxDir}) {
		t.Errorf("command %+v, skipped %q, missing %q", c, skipped, missing)
	}
	for _, tc := range []struct {
		edit func(*BackboneOptions)
		want string
	}{
		{func(o *BackboneOptions) { o.NoORT = true }, "not run (--no-ort)"},
		{func(o *BackboneOptions) { o.Node = filepath.Join(dir, "no-node") }, "not run: no node ("},
		{func(o *BackboneOptions) { o.ORTScript = filepath.Join(dir, "none.mjs") }, "not run: no " + filepath.Join(dir, "none.mjs")},
		{func(o *BackboneOptions) { o.ORTDir = dir }, "not run: no onnxruntime-node in " + dir + " (`npm install --ignore-scripts onnxruntime-node@1.20.1`"},
		{func(o *BackboneOptions) { o.Backbones = []string{"efficientnet_b5"} }, "not run: no exported model in " + onnxDir + " (run scripts/export_onnx.py"},
	} {
		o2 := o
		tc.edit(&o2)
		if c, skipped, _ := ortCommand(o2); !strings.HasPrefix(skipped, tc.want) || c.argv != nil {
			t.Errorf("skipped %q, command %+v; want a skip starting %q", skipped, c, tc.want)
		}
	}
}

// TestTorchCommand: the PyTorch runner is skipped, with the reason, when
// turned off, without python, or without its script.
func TestTorchCommand(t *testing.T) {
	script := filepath.Join(t.TempDir(), "bench_torch_backbones.py")
	if err := os.WriteFile(script, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := BackboneOptions{Backbones: []string{"resnet18"}, Python: os.Args[0], Script: script}
	if c, skipped := torchCommand(o); skipped != "" || !slices.Equal(c.argv, []string{os.Args[0], script}) || !slices.Equal(c.backbones, o.Backbones) {
		t.Errorf("command %+v, skipped %q", c, skipped)
	}
	noPython, noScript, off := o, o, o
	noPython.Python = "/nonexistent/python3"
	noScript.Script = "/nonexistent/bench.py"
	off.NoTorch = true
	for o, want := range map[*BackboneOptions]string{&noPython: "not run: no python at /nonexistent/python3", &noScript: "not run: no /nonexistent/bench.py", &off: "not run (--no-torch)"} {
		if _, skipped := torchCommand(*o); !strings.HasPrefix(skipped, want) {
			t.Errorf("skipped %q, want %q", skipped, want)
		}
	}
}
