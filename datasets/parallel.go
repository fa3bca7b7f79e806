package datasets

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/padim-go/padim/nchw"
)

// LoadImages calls load for every path on up to workers goroutines
// (workers <= 0 means GOMAXPROCS) and returns the results in path order.
// Decoding and resampling a PNG is single-threaded work of a few
// milliseconds, so a batch decoded on both cores takes half the wall
// time. If loads fail, the error returned is that of the first failing
// path in order, whatever finished first, so the message does not depend
// on scheduling; loading stops early once a load has failed.
func LoadImages(paths []string, workers int, load func(path string) (*nchw.Tensor, error)) ([]*nchw.Tensor, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(paths))
	out := make([]*nchw.Tensor, len(paths))
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

// Batch is one batch made by Prefetch: the value loaded for items
// [Start, End), or the error that stopped loading.
type Batch[T any] struct {
	Start, End int
	Value      T
	Err        error
}

// Prefetch loads the batches of n items, size at a time, by calling
// load(start, end) on a goroutine one batch ahead of the receiver: while
// the caller runs the backbone on batch i, batch i+1 is decoded, filling
// the moments the backbone's own goroutines leave a core idle instead of
// adding the decoding to the run. The channel closes after the last batch,
// after the first error (sent as a Batch with Err set) or when ctx is
// done; stop ends the goroutine early (it finishes the batch it is
// loading) and must be called.
func Prefetch[T any](ctx context.Context, n, size int, load func(start, end int) (T, error)) (batches <-chan Batch[T], stop func()) {
	out := make(chan Batch[T], 1)
	done := make(chan struct{})
	go func() {
		defer close(out)
		for start := 0; start < n; start += size {
			if ctx.Err() != nil {
				return
			}
			b := Batch[T]{Start: start, End: min(start+size, n)}
			b.Value, b.Err = load(b.Start, b.End)
			select {
			case out <- b:
			case <-done:
				return
			}
			if b.Err != nil {
				return
			}
		}
	}()
	var once sync.Once
	return out, func() { once.Do(func() { close(done) }) }
}

// Receive waits for the next batch from Prefetch or for ctx to be done,
// whichever comes first, so an interrupted run does not first wait for a
// batch still being decoded (seconds with large images). ok is false when
// the channel is closed; err is ctx's error when ctx ended the wait or
// is done when the channel closes (Prefetch closes it on cancellation).
func Receive[T any](ctx context.Context, batches <-chan Batch[T]) (b Batch[T], ok bool, err error) {
	select {
	case <-ctx.Done():
		return b, false, ctx.Err()
	case b, ok = <-batches:
		if !ok {
			// Prefetch also closes the channel when ctx is done, and
			// select picks at random between two ready cases: a closed
			// channel after a cancellation is the cancellation.
			return b, false, ctx.Err()
		}
		return b, true, nil
	}
}

// Paths returns the image paths of samples, in order.
func Paths(samples []Sample) []string {
	p := make([]string, len(samples))
	for i, s := range samples {
		p[i] = s.Path
	}
	return p
}
