package padim

import (
	"sync"
	"sync/atomic"

	"github.com/padim-go/padim/internal/blas"
)

// forPositions runs the function made by newWorker for every position
// 0..positions-1 on up to workers goroutines. Each goroutine calls newWorker
// once, so per-worker scratch lives in its closure. Positions are
// independent, so results do not depend on the number of workers.
func forPositions(positions, workers int, newWorker func() func(p int)) {
	// Parallelism comes from the goroutines; each BLAS call must stay on
	// its goroutine's core (see Threads in doc.go).
	blas.SetThreads(1)
	if workers > positions {
		workers = positions
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			do := newWorker()
			for {
				p := int(next.Add(1) - 1)
				if p >= positions {
					return
				}
				do(p)
			}
		}()
	}
	wg.Wait()
}
