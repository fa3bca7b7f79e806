package benchmark

import (
	"slices"
	"strings"
	"testing"
	"time"
)

var testMachine = Machine{Date: "2026-12-02 05:00 UTC", CPU: "Xeon", Load: "1.00 2.00 3.00", GoVersion: "go1.26.8", Threads: 2, GOMAXPROCS: 2,
	BLAS: "openblas (core SkylakeX)", CoreType: "SkylakeX", Conv: "im2col + BLAS sgemm"}

// tableRows returns the cells of the Markdown table rows of report whose
// first cell is first, in order.
func tableRows(report, first string) [][]string {
	var out [][]string
	for _, line := range strings.Split(report, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		var cells []string
		for _, c := range strings.Split(strings.Trim(line, "|"), "|") {
			cells = append(cells, strings.TrimSpace(c))
		}
		if cells[0] == first {
			out = append(out, cells)
		}
	}
	return out
}

// wantRow checks that report has exactly one row starting with want[0]
// and that it is want.
func wantRow(t *testing.T, report string, want ...string) {
	t.Helper()
	rows := tableRows(report, want[0])
	if len(rows) != 1 || !slices.Equal(rows[0], want) {
		t.Errorf("rows %q: got %q, want %q\n%s", want[0], rows, want, report)
	}
}

// wantMachine checks that a report states machine, versions, load and
// date.
func wantMachine(t *testing.T, report string) {
	t.Helper()
	for _, want := range []string{"on 2026-12-02 05:00 UTC", "Go go1.26.8", "BLAS openblas (core SkylakeX)", "convolutions: im2col + BLAS sgemm",
		"CPU: Xeon", "load average at the end of the run: 1.00 2.00 3.00"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
}

// TestBackboneReport checks the arithmetic of a row by hand: 8 images in
// 2 s are 4 img/s; 3 GFLOP per image makes 12 GFLOP/s, 10% of a 120
// GFLOP/s roof; PyTorch taking 4 s for the same batch is 2 img/s (Go is
// 2.00x as fast, 6 GFLOP/s = 5%), ONNX Runtime taking 1 s is 8 img/s (Go
// at 0.50x, 24 GFLOP/s = 20%). A case an anchor did not time shows -.
func TestBackboneReport(t *testing.T) {
	rows := []backboneRow{
		{backbone: "resnet18", upTo: "layer3", batch: 8, flopsImage: 3e9, goTime: 2 * time.Second,
			anchorTime: [numAnchors]time.Duration{anchorTorch: 4 * time.Second, anchorORT: time.Second}},
		{backbone: "efficientnet_b5", upTo: "block25", batch: 1, flopsImage: 2.5e9, goTime: time.Second},
	}
	var anchors [numAnchors]anchorState
	anchors[anchorTorch].version = "1.13"
	anchors[anchorORT] = anchorState{version: "1.20.1", missing: []string{"efficientnet_b5"}}
	got, err := backboneReport(rows, backboneMeta{Machine: testMachine, anchors: anchors, roof: 120, size: 224, rounds: 3, onnxDir: "/cache/onnx"})
	if err != nil {
		t.Fatal(err)
	}
	wantRow(t, got, "backbone", "up to", "batch", "conv GFLOP/img", "Go img/s", "ORT img/s", "PyTorch img/s", "Go / ORT", "Go / PyTorch",
		"Go GFLOP/s (% of roof)", "ORT GFLOP/s (% of roof)", "PyTorch GFLOP/s (% of roof)")
	wantRow(t, got, "resnet18", "layer3", "8", "3.00", "4.00", "8.00", "2.00", "0.50x", "2.00x", "12.0 (10%)", "24.0 (20%)", "6.0 (5%)")
	wantRow(t, got, "efficientnet_b5", "block25", "1", "2.50", "1.00", "-", "-", "-", "-", "2.5 (2%)", "-", "-")
	for _, want := range []string{"torch.set_num_threads(2)", "in 3 rounds", "ONNX Runtime 1.20.1 (npm onnxruntime-node", "intra-op threads 2, sequential execution",
		"graph optimisation \"all\"", "from /cache/onnx", "**ONNX Runtime: no exported model for efficientnet_b5**",
		"sgemm roof: 120.0 GFLOP/s, one 2048x2048x2048 sgemm through internal/blas (openblas (core SkylakeX), 2 threads)"} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "not run") {
		t.Errorf("both anchors ran, yet the report says one did not:\n%s", got)
	}
	if strings.Index(got, "| efficientnet_b5") > strings.Index(got, "| resnet18") {
		t.Error("rows are not sorted by backbone")
	}
	if !strings.Contains(got, "|----:|") && !strings.Contains(got, "-:|") {
		t.Errorf("numeric columns are not right-aligned:\n%s", got)
	}
	wantMachine(t, got)
}

// TestBackboneReportMissingAnchors: an anchor that did not run is named
// with its reason, one that stopped after a round keeps its version and
// says it stopped, every cell of a missing anchor is -, and without a
// roof the GFLOP/s columns carry no share.
func TestBackboneReportMissingAnchors(t *testing.T) {
	rows := []backboneRow{{backbone: "resnet18", upTo: "layer3", batch: 1, flopsImage: 2e9, goTime: time.Second,
		anchorTime: [numAnchors]time.Duration{anchorTorch: 2 * time.Second}}}
	var anchors [numAnchors]anchorState
	anchors[anchorORT].skipped = "not run: no node (exec: \"node\": executable file not found in $PATH; --node)"
	anchors[anchorTorch] = anchorState{version: "1.13", skipped: "stopped in round 2: exit status 1"}
	got, err := backboneReport(rows, backboneMeta{Machine: testMachine, anchors: anchors, size: 224, rounds: 3})
	if err != nil {
		t.Fatal(err)
	}
	wantRow(t, got, "backbone", "up to", "batch", "conv GFLOP/img", "Go img/s", "ORT img/s", "PyTorch img/s", "Go / ORT", "Go / PyTorch",
		"Go GFLOP/s", "ORT GFLOP/s", "PyTorch GFLOP/s")
	wantRow(t, got, "resnet18", "layer3", "1", "2.00", "1.00", "-", "0.50", "-", "2.00x", "2.0", "-", "1.0")
	for _, want := range []string{"- **ONNX Runtime comparison not run: no node (exec:", "- PyTorch 1.13 (`scripts/bench_torch_backbones.py`)",
		"- **PyTorch comparison stopped in round 2: exit status 1**"} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "ONNX Runtime 1") || strings.Contains(got, "sgemm roof") {
		t.Errorf("report describes an ONNX Runtime or a roof it did not measure:\n%s", got)
	}
}

// TestConvReport: the last column is the convolution's time over the
// sgemm's and is headed so (a convolution taking 2 s where the sgemm takes
// 1 s is 2.00x); 0.1 GFLOP in 2 s is 0.05 GFLOP/s.
func TestConvReport(t *testing.T) {
	rows := []convRow{{shape: convShape{name: "r18 layer1 3x3"}, kernel: "packed", flops: 1e8, convTime: 2 * time.Second, sgemmTime: time.Second}}
	got, err := convReport(rows, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	wantRow(t, got, "convolution", "kernel", "GFLOP", "conv GFLOP/s", "sgemm GFLOP/s", "conv / sgemm time")
	wantRow(t, got, "r18 layer1 3x3", "packed", "0.100", "0.1", "0.1", "2.00x")
	if s, err := convReport(nil, 2, 3); s != "" || err != nil {
		t.Errorf("no rows: %q, %v", s, err)
	}
}

// TestE2EReport checks the summary arithmetic by hand: Go 30 s against
// PyTorch 60 s end to end is 0.50x; inference per image is (features_test
// + score) / test = (8 + 2) / 100 = 0.100 s.
func TestE2EReport(t *testing.T) {
	g := E2EResult{Impl: "go", Backbone: "wide_resnet50_2", D: 550, Train: 200, Test: 100, PeakRSSBytes: 3 << 30, ImageAUROC: 1, PixelAUROC: 0.98,
		Seconds:    map[string]float64{"decode": 5, "features_train": 10, "fit": 3, "finalize": 1, "features_test": 8, "score": 2, "metrics": 2, "total": 30, "pro": 1},
		CPUSeconds: map[string]float64{"total": 50}}
	tr := E2EResult{Impl: "torch", Backbone: "wide_resnet50_2", D: 550, Train: 200, Test: 100, PeakRSSBytes: 6 << 30, Threads: 2, Version: "1.13",
		Seconds:    map[string]float64{"decode": 10, "features_train": 20, "fit": 6, "features_test": 12, "score": 8, "metrics": 4, "total": 60},
		CPUSeconds: map[string]float64{"total": 200}}
	alone := E2EResult{Impl: "go", Backbone: "resnet18", D: 100, Test: 10, Seconds: map[string]float64{"total": 7, "features_test": 1}, CPUSeconds: map[string]float64{}}
	got, err := e2eReport([]E2EResult{g, alone}, []E2EResult{tr}, e2eMeta{Machine: testMachine, category: "bottle", size: 256})
	if err != nil {
		t.Fatal(err)
	}
	wantRow(t, got, "wide_resnet50_2 d=550", "30.0 s", "60.0 s", "0.50x", "0.25x", "0.100", "0.200", "3.00 GiB", "6.00 GiB", "1.000 / 0.980")
	wantRow(t, got, "resnet18 d=100", "7.0 s", "-", "-", "-", "0.100", "-", "-", "-", "0.000 / 0.000")
	// Per stage: one table per configuration, PyTorch cells "-" where it did not time the stage.
	if rows := tableRows(got, "backbone, training images"); len(rows) != 1 || !slices.Equal(rows[0][:4], []string{"backbone, training images", "10.00", "20.00", "0.50x"}) {
		t.Errorf("training backbone rows %q", rows)
	}
	if rows := tableRows(got, "not in total: PRO up to FPR 0.3 (Go)"); len(rows) != 1 || rows[0][2] != "-" || rows[0][3] != "-" {
		t.Errorf("PRO rows %q", rows)
	}
	if rows := tableRows(got, "of which after the last batch (factorisations / inversions)"); len(rows) != 1 {
		t.Errorf("finalize rows %q", rows)
	}
	if rows := tableRows(got, "**end to end** (sum of the above)"); len(rows) != 2 {
		t.Errorf("want a total row per configuration, got %q", rows)
	}
	if !strings.Contains(got, "PyTorch 1.13 (`scripts/bench_torch_e2e.py`), torch.set_num_threads(2)") {
		t.Errorf("PyTorch version line missing:\n%s", got)
	}
	wantMachine(t, got)
}

// TestMemoryReport: each curve is a table, with the machine block the
// other timing reports have.
func TestMemoryReport(t *testing.T) {
	o := MemoryOptions{E2EOptions: E2EOptions{Batch: 8}, Backbone: "wide_resnet50_2", OutPrefix: "reports/memory"}
	p := memoryPoint{n: 50, d: 550, crop: 224, positions: 3136, peak: 5 << 30, formula: 4 << 30, seconds: 14.2}
	q := p
	q.d, q.peak, q.formula = 100, 1<<30, 1<<29
	got, err := memoryReport(testMachine, o, []memoryPoint{p}, []memoryPoint{q, p}, []memoryPoint{p})
	if err != nil {
		t.Fatal(err)
	}
	if rows := tableRows(got, "50"); len(rows) != 4 || !slices.Equal(rows[0], []string{"50", "550", "3136", "5.00 GiB", "4.00 GiB", "14"}) ||
		!slices.Equal(rows[1], []string{"50", "100", "3136", "1.00 GiB", "0.50 GiB", "14"}) {
		t.Errorf("rows %q", rows)
	}
	for _, want := range []string{"## Against d", "](memory.png)", "](memory-d.png)", "](memory-positions.png)", "one batch of 8", "buffer of 64 images"} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	wantMachine(t, got)
}
