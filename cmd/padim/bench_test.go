package main

import (
	"context"
	"errors"
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
