package nn

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// checkParallelFor runs parallelFor over n items and checks that every
// item ran exactly once and every worker index was below the thread count.
func checkParallelFor(n int) error {
	counts := make([]atomic.Int32, n)
	var badWorker atomic.Int32
	parallelFor(n, func(worker, i int) {
		if worker < 0 || worker >= Threads() {
			badWorker.Store(int32(worker) + 1)
		}
		counts[i].Add(1)
	})
	for i := range counts {
		if c := counts[i].Load(); c != 1 {
			return fmt.Errorf("n=%d: item %d ran %d times", n, i, c)
		}
	}
	if w := badWorker.Load(); w != 0 {
		return fmt.Errorf("n=%d: worker index %d outside [0, %d)", n, w-1, Threads())
	}
	return nil
}

// TestParallelFor covers the worker pool's paths: jobs back to back (the
// helpers still polling), after a pause longer than helperSpin (parked
// helpers woken), with more threads than cores and than items, from
// several goroutines at once (all but one find the pool busy and spawn
// goroutines), and nested in a body.
func TestParallelFor(t *testing.T) {
	defer SetThreads(SetThreads(0))
	for _, threads := range []int{1, 2, 3, 8} {
		SetThreads(threads)
		t.Run(fmt.Sprintf("threads%d", threads), func(t *testing.T) {
			for _, n := range []int{0, 1, 2, 3, 7, 100} {
				if err := checkParallelFor(n); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(3 * helperSpin)
			if err := checkParallelFor(5); err != nil {
				t.Fatal("after the helpers parked:", err)
			}

			var wg sync.WaitGroup
			for g := 0; g < 4; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for r := 0; r < 50; r++ {
						if err := checkParallelFor(1 + r%9); err != nil {
							t.Error("concurrent callers:", err)
							return
						}
					}
				}()
			}
			wg.Wait()

			var total atomic.Int32
			parallelFor(4, func(_, _ int) {
				parallelFor(5, func(_, _ int) { total.Add(1) })
			})
			if got := total.Load(); got != 20 {
				t.Fatalf("nested parallelFor ran %d inner items, want 20", got)
			}
		})
	}
}

// TestForEachGroup checks that every item runs once, on up to Threads()
// goroutines, and that kernels called inside an item run on its
// goroutine alone (worker 0 for every inner item) when there are several
// items to share; a single item's kernels may use every goroutine.
func TestForEachGroup(t *testing.T) {
	defer SetThreads(SetThreads(0))
	for _, threads := range []int{1, 2, 3} {
		SetThreads(threads)
		t.Run(fmt.Sprintf("threads%d", threads), func(t *testing.T) {
			for _, n := range []int{0, 1, 2, 5, 40} {
				runs := make([]atomic.Int32, n)
				var inner, innerOff atomic.Int32
				ForEachGroup(n, func(i int) {
					runs[i].Add(1)
					parallelFor(7, func(worker, _ int) {
						inner.Add(1)
						if worker != 0 {
							innerOff.Add(1)
						}
					})
				})
				for i := range runs {
					if got := runs[i].Load(); got != 1 {
						t.Fatalf("%d items: item %d ran %d times", n, i, got)
					}
				}
				if inner.Load() != int32(7*n) {
					t.Fatalf("%d items: %d inner items, want %d", n, inner.Load(), 7*n)
				}
				if n >= 2 && innerOff.Load() != 0 {
					t.Fatalf("%d items: %d inner items ran off their item's goroutine", n, innerOff.Load())
				}
			}
			// After it, kernels use the goroutines again.
			if err := checkParallelFor(100); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestParallelRange checks that the chunks tile [0, n) exactly once.
func TestParallelRange(t *testing.T) {
	defer SetThreads(SetThreads(0))
	for _, threads := range []int{1, 2, 3} {
		SetThreads(threads)
		for _, tc := range []struct{ n, minChunk int }{{0, 1}, {1, 1}, {10, 1}, {10, 4}, {1000, 7}, {5, 100}} {
			seen := make([]atomic.Int32, tc.n)
			parallelRange(tc.n, tc.minChunk, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					seen[i].Add(1)
				}
			})
			for i := range seen {
				if c := seen[i].Load(); c != 1 {
					t.Fatalf("threads %d, %+v: element %d covered %d times", threads, tc, i, c)
				}
			}
		}
	}
}
