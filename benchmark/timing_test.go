package benchmark

import (
	"context"
	"errors"
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

// TestKeepFastest checks the merging of alternating rounds: each case
// keeps its fastest Go time with that round's run count, and the anchors'
// times held are not touched; each convolution keeps its faster convolution
// and, independently, its faster sgemm.
func TestKeepFastest(t *testing.T) {
	first := []backboneRow{
		{backbone: "a", batch: 1, goTime: 3 * time.Second, goRuns: 2, anchorTime: [numAnchors]time.Duration{anchorTorch: 5 * time.Second}},
		{backbone: "b", batch: 1, goTime: time.Second, goRuns: 4},
	}
	second := []backboneRow{
		{backbone: "a", batch: 1, goTime: 2 * time.Second, goRuns: 3},
		{backbone: "b", batch: 1, goTime: 2 * time.Second, goRuns: 9},
	}
	got := keepFastestRows(keepFastestRows(nil, first), second)
	if got[0].goTime != 2*time.Second || got[0].goRuns != 3 || got[0].anchorTime[anchorTorch] != 5*time.Second {
		t.Errorf("case a: %+v, want the second round's 2 s / 3 runs and PyTorch's 5 s", got[0])
	}
	if got[1].goTime != time.Second || got[1].goRuns != 4 {
		t.Errorf("case b: %+v, want the first round's 1 s / 4 runs", got[1])
	}

	convs := keepFastestConvs(nil, []convRow{{convTime: 3, sgemmTime: 1}})
	convs = keepFastestConvs(convs, []convRow{{convTime: 2, sgemmTime: 4}})
	if convs[0].convTime != 2 || convs[0].sgemmTime != 1 {
		t.Errorf("conv row %+v, want conv 2 and sgemm 1", convs[0])
	}
}
