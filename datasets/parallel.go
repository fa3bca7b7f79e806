package datasets

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/padim-go/padim/internal/tensor"
)

// LoadImages calls load for every path on up to workers goroutines
// (workers <= 0 means GOMAXPROCS) and returns the results in path order.
// Decoding and resampling a PNG is single-threaded work of a few
// milliseconds, so a batch decoded on both cores takes half the wall
// time. If loads fail, the error returned is that of the first failing
// path in order, whatever finished first, so the message does not depend
// on scheduling; loading stops early once a load has failed.
func LoadImages(paths []string, workers int, load func(path string) (*tensor.Tensor, error)) ([]*tensor.Tensor, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(paths))
	out := make([]*tensor.Tensor, len(paths))
	errs := make([]error, len(paths))
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= len(paths) {
					return
				}
				if out[i], errs[i] = load(paths[i]); errs[i] != nil {
					failed.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Paths returns the image paths of samples, in order.
func Paths(samples []Sample) []string {
	p := make([]string, len(samples))
	for i, s := range samples {
		p[i] = s.Path
	}
	return p
}
