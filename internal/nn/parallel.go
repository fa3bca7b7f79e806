package nn

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/padim-go/padim/internal/blas"
	"github.com/padim-go/padim/internal/tensor"
)

// threads is how many goroutines a kernel splits its work into; 0 means
// follow runtime.GOMAXPROCS.
var threads atomic.Int32

func init() { SetThreads(0) }

// SetThreads sets how many goroutines the kernels split each call into
// and returns the previous setting. n <= 0 (the default) means
// runtime.GOMAXPROCS(0), read at each call, so that go test -cpu and
// GOMAXPROCS are obeyed.
//
// The convolutions cut every GEMM into independent column tiles and give
// each goroutine its own tiles, each tile one single-threaded Sgemm call,
// so im2col, bias and activation run in parallel too and the same code
// parallelises the pure-Go (purego) build. OpenBLAS is therefore set to one
// thread here: if it also spawned n threads per call the machine would run
// n*n busy threads, and OpenBLAS's idle threads spin-wait, stealing the
// cores from the Go kernels (depthwise, pooling, activations) between
// GEMMs. BenchmarkConvThreading compares this with one goroutine calling a
// 2-thread OpenBLAS: on the shared 2-core development machine the two were
// within noise of each other in total (240 ms vs 228 ms over the GEMM
// shapes), each winning on some shapes. Code that calls blas directly with
// large matrices may call blas.SetThreads after this; it then must not
// run convolutions concurrently.
func SetThreads(n int) int {
	old := int(threads.Swap(int32(max(n, 0))))
	blas.SetThreads(1)
	return old
}

// Threads reports the number of goroutines the kernels use.
func Threads() int {
	if n := int(threads.Load()); n > 0 {
		return n
	}
	return runtime.GOMAXPROCS(0)
}

// parallelFor runs body(worker, i) for i in [0, n) on up to Threads()
// goroutines. Items are handed out one at a time from a shared counter, so
// unequal items balance themselves; worker is in [0, workers) and lets the
// body index per-goroutine scratch.
func parallelFor(n int, body func(worker, i int)) {
	w := Threads()
	if w > n {
		w = n
	}
	if w <= 1 {
		for i := 0; i < n; i++ {
			body(0, i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	wg.Add(w - 1)
	run := func(worker int) {
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			body(worker, i)
		}
	}
	for k := 1; k < w; k++ {
		go func(k int) {
			defer wg.Done()
			run(k)
		}(k)
	}
	run(0)
	wg.Wait()
}

// parallelRange splits [0, n) into about Threads() contiguous chunks of at
// least minChunk elements and runs body(lo, hi) on each concurrently. It is
// for element-wise kernels, where a chunk must be big enough to pay for a
// goroutine.
func parallelRange(n, minChunk int, body func(lo, hi int)) {
	w := Threads()
	if minChunk < 1 {
		minChunk = 1
	}
	if c := n / minChunk; c < w {
		w = c
	}
	if w <= 1 {
		body(0, n)
		return
	}
	chunk := (n + w - 1) / w
	var wg sync.WaitGroup
	wg.Add(w - 1)
	for k := 1; k < w; k++ {
		lo, hi := k*chunk, min((k+1)*chunk, n)
		go func() {
			defer wg.Done()
			if lo < hi {
				body(lo, hi)
			}
		}()
	}
	body(0, min(chunk, n))
	wg.Wait()
}

// getScratch returns a buffer of length n (contents undefined) for an
// im2col tile, a padded or phased copy, or a tile of output.
//
// Large buffers (megabytes, needed on every call, in sizes that repeat
// exactly from one call of a layer to the next) come from the tensor
// package's exact-size free lists: a sync.Pool hands back whichever buffer
// it has, often too small for the next layer's size, and is emptied by
// every garbage collection (padim.Fit collects after each batch), so most
// requests allocated fresh memory, which costs a page fault per 4 KiB on
// the machines this was measured on. Small ones (a padded plane of a
// depthwise convolution, taken once per plane) stay in a sync.Pool, whose
// per-core caches avoid the free lists' mutex: through the mutex,
// EfficientNet-B5 measured 4-8% slower.
func getScratch(n int) *[]float32 {
	if n >= scratchListMin {
		b := tensor.ScratchFloats(n)
		return &b
	}
	if p, ok := scratchPool.Get().(*[]float32); ok {
		if cap(*p) >= n {
			*p = (*p)[:n]
			return p
		}
		scratchPool.Put(p)
	}
	b := make([]float32, n)
	return &b
}

// putScratch hands back a buffer from getScratch.
func putScratch(p *[]float32) {
	if len(*p) >= scratchListMin {
		tensor.ReleaseFloats(*p)
		return
	}
	scratchPool.Put(p)
}

// scratchListMin is the smallest buffer (in floats, 1 MiB) taken from the
// free lists rather than scratchPool.
const scratchListMin = 1 << 18

var scratchPool sync.Pool
