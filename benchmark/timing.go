package benchmark

import (
	"context"
	"slices"
	"time"
)

// timeRuns calls run once to warm up, then until both minTime has passed
// and minRuns runs were made, and returns the median run time and the
// number of timed runs.
func timeRuns(ctx context.Context, minTime time.Duration, minRuns int, run func() error) (time.Duration, int, error) {
	if err := run(); err != nil {
		return 0, 0, err
	}
	var times []time.Duration
	start := time.Now()
	for len(times) < max(minRuns, 1) || time.Since(start) < minTime {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		t0 := time.Now()
		if err := run(); err != nil {
			return 0, 0, err
		}
		times = append(times, time.Since(t0))
	}
	return median(times), len(times), nil
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// The host's speed drifts by tens of percent over minutes, so Go and
// PyTorch are timed in alternating rounds and each side keeps its fastest
// round: drift only ever slows a round down.

// keepFastestRows merges a new round's Go times into best, keeping each
// case's faster time (and the PyTorch times best already holds).
func keepFastestRows(best, round []backboneRow) []backboneRow {
	if best == nil {
		return round
	}
	for i := range best {
		if round[i].goTime < best[i].goTime {
			best[i].goTime, best[i].goRuns = round[i].goTime, round[i].goRuns
		}
	}
	return best
}

// keepFastestConvs merges a new round of the convolution table into best,
// keeping the faster convolution and the faster sgemm of each shape.
func keepFastestConvs(best, round []convRow) []convRow {
	if best == nil {
		return round
	}
	for i := range best {
		best[i].convTime = min(best[i].convTime, round[i].convTime)
		best[i].sgemmTime = min(best[i].sgemmTime, round[i].sgemmTime)
	}
	return best
}
