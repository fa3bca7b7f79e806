package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []time.Duration
		want time.Duration
	}{
		{[]time.Duration{5}, 5},
		{[]time.Duration{9, 1, 5}, 5},
		{[]time.Duration{4, 1, 10, 2}, 3},
	}
	for _, tc := range tests {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestTimeRuns(t *testing.T) {
	calls := 0
	_, runs, err := timeRuns(context.Background(), 0, 3, func() error { calls++; return nil })
	if err != nil || runs != 3 || calls != 4 { // one warm-up call
		t.Fatalf("runs %d, calls %d, err %v; want 3 timed runs after 1 warm-up", runs, calls, err)
	}
	boom := errors.New("boom")
	if _, _, err := timeRuns(context.Background(), 0, 3, func() error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("error %v, want boom", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := timeRuns(ctx, time.Hour, 1, func() error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

// TestBackboneBenchTable checks the arithmetic of a row by hand: 8 images
// in 2 s are 4 img/s; 3 GFLOP per image makes 12 GFLOP/s; PyTorch taking
// 4 s for the same batch is 2 img/s, a ratio of 2.
func TestBackboneBenchTable(t *testing.T) {
	rows := []benchRow{
		{backbone: "resnet18", upTo: "layer3", batch: 8, flopsImage: 3e9, goTime: 2 * time.Second, torchTime: 4 * time.Second},
		{backbone: "efficientnet_b5", upTo: "block25", batch: 1, flopsImage: 2.5e9, goTime: time.Second},
	}
	got := backboneBenchTable(rows, benchMeta{threads: 2, gomaxprocs: 2, blas: "openblas", goVersion: "go1.x", torch: "1.13", size: 224, date: "today"})
	for _, want := range []string{
		"| resnet18 | layer3 | 8 | 3.00 | 4.00 | 12.0 | 2.00 | 2.00x |",
		"| efficientnet_b5 | block25 | 1 | 2.50 | 1.00 | 2.5 | - | - |",
		"torch.set_num_threads(2)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
	if strings.Index(got, "efficientnet_b5 |") > strings.Index(got, "resnet18 |") {
		t.Error("rows are not sorted by backbone")
	}
}

// TestE2EReport checks the summary arithmetic by hand: Go 30 s against
// PyTorch 60 s end to end is 0.50x; inference per image is (features_test
// + score) / test = (8 + 2) / 100 = 0.100 s.
func TestE2EReport(t *testing.T) {
	g := e2eResult{Impl: "go", Backbone: "wide_resnet50_2", D: 550, Train: 200, Test: 100, PeakRSSBytes: 3 << 30,
		Seconds:    map[string]float64{"decode": 5, "features_train": 10, "fit": 3, "features_test": 8, "score": 2, "metrics": 2, "total": 30},
		CPUSeconds: map[string]float64{"total": 50}}
	tr := e2eResult{Impl: "torch", Backbone: "wide_resnet50_2", D: 550, Train: 200, Test: 100, PeakRSSBytes: 6 << 30,
		Seconds:    map[string]float64{"decode": 10, "features_train": 20, "fit": 6, "features_test": 12, "score": 8, "metrics": 4, "total": 60},
		CPUSeconds: map[string]float64{"total": 200}}
	got := e2eReport([]e2eResult{g}, []e2eResult{tr}, e2eMeta{benchMeta: benchMeta{threads: 2}})
	for _, want := range []string{
		"| wide_resnet50_2 d=550 | 30.0 s | 60.0 s | 0.50x | 0.25x | 0.100 | 0.200 | 3.00 GiB | 6.00 GiB |",
		"| backbone, training images | 10.00 | 20.00 | 0.50x |",
		"| Mahalanobis + upsample + blur | 2.00 | 8.00 | 0.25x |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}

// TestFitFormulaBytes checks the formula on hand-worked cases.
func TestFitFormulaBytes(t *testing.T) {
	// d = 2: shift and sum 2+2 float64, one 2x2 panel of S (4 float64),
	// 4 images x 2 float32: 64 + 32 bytes.
	if got := fitFormulaBytes(1, 2, 4); got != 96 {
		t.Errorf("fitFormulaBytes(1, 2, 4) = %d, want 96", got)
	}
	// Wide-ResNet-50-2, d = 550: S has 17 full panels of 32 rows, 32 *
	// (550 - 32j) values each, and a last one of 6 x 6: 159972 float64;
	// with shift and sum, 3136 * 161072 * 8 = 4040974336 bytes, plus the
	// 64-image buffer 3136 * 64 * 550 * 4 = 441548800.
	if got := fitFormulaBytes(3136, 550, 64); got != 4040974336+441548800 {
		t.Errorf("fitFormulaBytes(3136, 550, 64) = %d, want %d", got, 4040974336+441548800)
	}
}

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		in   string
		name string
		d    int
		ok   bool
	}{
		{"resnet18:100", "resnet18", 100, true},
		{"wide_resnet50_2:550", "wide_resnet50_2", 550, true},
		{"resnet18", "", 0, false},
		{"resnet18:0", "", 0, false},
		{"vgg16:10", "", 0, false},
	} {
		name, d, err := parseConfig(tc.in)
		if (err == nil) != tc.ok || name != tc.name || d != tc.d {
			t.Errorf("parseConfig(%q) = %q, %d, %v", tc.in, name, d, err)
		}
	}
}

func TestPeakRSS(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc/self/status")
	}
	if got := peakRSS(); got < 1<<20 {
		t.Errorf("peakRSS() = %d bytes, want at least 1 MiB for a running Go test", got)
	}
}

// TestKeepFastest checks the merging of alternating rounds: each case
// keeps its fastest Go time with that round's run count, and the PyTorch
// time held is not touched; each convolution keeps its faster convolution
// and, independently, its faster sgemm.
func TestKeepFastest(t *testing.T) {
	first := []benchRow{
		{backbone: "a", batch: 1, goTime: 3 * time.Second, goRuns: 2, torchTime: 5 * time.Second},
		{backbone: "b", batch: 1, goTime: time.Second, goRuns: 4},
	}
	second := []benchRow{
		{backbone: "a", batch: 1, goTime: 2 * time.Second, goRuns: 3},
		{backbone: "b", batch: 1, goTime: 2 * time.Second, goRuns: 9},
	}
	got := keepFastestRows(keepFastestRows(nil, first), second)
	if got[0].goTime != 2*time.Second || got[0].goRuns != 3 || got[0].torchTime != 5*time.Second {
		t.Errorf("case a: %+v, want the second round's 2 s / 3 runs and PyTorch's 5 s", got[0])
	}
	if got[1].goTime != time.Second || got[1].goRuns != 4 {
		t.Errorf("case b: %+v, want the first round's 1 s / 4 runs", got[1])
	}

	convs := keepFastestConvs(nil, []convBenchRow{{convTime: 3, sgemmT: 1}})
	convs = keepFastestConvs(convs, []convBenchRow{{convTime: 2, sgemmT: 4}})
	if convs[0].convTime != 2 || convs[0].sgemmT != 1 {
		t.Errorf("conv row %+v, want conv 2 and sgemm 1", convs[0])
	}
}
