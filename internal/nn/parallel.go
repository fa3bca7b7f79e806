package nn

import (
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

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
// goroutines: the caller and helpers from the package's worker pool.
// Items are handed out one at a time from a shared counter, so unequal
// items balance themselves; worker is in [0, workers) and lets the body
// index per-goroutine scratch.
func parallelFor(n int, body func(worker, i int)) {
	w := min(Threads(), n)
	if w <= 1 || groupJobs.Load() > 0 {
		for i := 0; i < n; i++ {
			body(0, i)
		}
		return
	}
	j := &poolJob{n: n, body: body}
	if !pool.run(j, w) {
		spawnJob(j, w)
	}
}

// groupJobs counts the ForEachGroup calls running; while there is one,
// every parallelFor runs on its caller's goroutine alone.
var groupJobs atomic.Int32

// ForEachGroup runs body(i) for i in [0, n) on up to Threads()
// goroutines, items handed out one at a time, with every kernel body
// calls running on body's goroutine alone: each goroutine works through
// whole items, rather than all of them through each kernel call in turn.
// Meanwhile any other caller's kernels, and a ForEachGroup nested in
// body, also run on one goroutine, the cores being busy. A single item
// (or a single thread) runs on the caller with its kernels split over the
// goroutines as usual.
//
// It is for chains of kernels over independent pieces of data, such as
// EfficientNet's expansion and depthwise convolution on one group of
// channels (package backbones): each core then reads back from its own L2
// what it has just written, instead of half of it from the other core's,
// and the chain needs no hand-over between goroutines per kernel.
func ForEachGroup(n int, body func(i int)) {
	w := min(Threads(), n)
	if w <= 1 || groupJobs.Load() > 0 {
		for i := 0; i < n; i++ {
			body(i)
		}
		return
	}
	groupJobs.Add(1)
	defer groupJobs.Add(-1)
	j := &poolJob{n: n, body: func(_, i int) { body(i) }}
	if !pool.run(j, w) {
		spawnJob(j, w)
	}
}

// parallelRange splits [0, n) into about Threads() contiguous chunks of at
// least minChunk elements and runs body(lo, hi) on each concurrently. It is
// for element-wise kernels, where a chunk must be big enough to pay for
// handing it to another core.
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
	chunk := ceilDiv(n, w)
	parallelFor(ceilDiv(n, chunk), func(_, k int) {
		body(k*chunk, min((k+1)*chunk, n))
	})
}

// poolJob is one parallelFor call: items [0, n) of body, handed out by
// next; pending counts the goroutines still running it.
type poolJob struct {
	n       int
	body    func(worker, i int)
	next    atomic.Int64
	pending atomic.Int32
}

// work runs items of j until none are left.
func (j *poolJob) work(worker int) {
	for {
		i := int(j.next.Add(1) - 1)
		if i >= j.n {
			return
		}
		j.body(worker, i)
	}
}

// spawnJob runs j on the caller and w-1 new goroutines: what parallelFor
// does when the pool is busy with another caller's job.
func spawnJob(j *poolJob, w int) {
	var wg sync.WaitGroup
	wg.Add(w - 1)
	for k := 1; k < w; k++ {
		go func() {
			defer wg.Done()
			j.work(k)
		}()
	}
	j.work(0)
	wg.Wait()
}

// workerPool keeps helper goroutines between parallelFor calls.
//
// Why: a backbone's forward pass makes two or three parallel calls per
// layer, some only 100-300 µs long (ResNet-18's strided convolutions at
// batch 1). With a fresh goroutine per call, the other core has usually
// gone to sleep since the last call, and waking it (a futex and, on a
// virtual machine, an interrupt to a halted vCPU) took a measurable share
// of such a call. A helper instead polls for its next job for helperSpin
// after each one, yielding to any other runnable goroutine
// (runtime.Gosched) while it does, and only then parks on a channel.
//
// One caller owns the pool at a time (mu); a concurrent or nested
// parallelFor finds it held and spawns goroutines instead.
type workerPool struct {
	mu      sync.Mutex
	helpers []*poolHelper
}

// poolHelper is one helper goroutine. The caller hands it a job through
// slot; sleeping and wake are the parking handshake: whoever flips
// sleeping from true to false first owns the wake-up, and only the
// caller's flip sends on wake.
type poolHelper struct {
	worker   int
	slot     atomic.Pointer[poolJob]
	sleeping atomic.Bool
	wake     chan struct{}
}

var pool workerPool

// helperSpin is how long an idle helper polls before parking: longer than
// the gaps between the kernels of one forward pass, short against the
// gaps between images.
const helperSpin = 100 * time.Microsecond

// run runs j on the caller and w-1 helpers, or reports false at once when
// another goroutine holds the pool.
func (p *workerPool) run(j *poolJob, w int) bool {
	if !p.mu.TryLock() {
		return false
	}
	defer p.mu.Unlock()
	for len(p.helpers) < w-1 {
		h := &poolHelper{worker: len(p.helpers) + 1, wake: make(chan struct{}, 1)}
		p.helpers = append(p.helpers, h)
		go h.loop()
	}
	helpers := p.helpers[:w-1]
	j.pending.Store(int32(len(helpers)))
	for _, h := range helpers {
		h.slot.Store(j)
		if h.sleeping.CompareAndSwap(true, false) {
			h.wake <- struct{}{}
		}
	}
	j.work(0)
	// Take back the job from helpers that have not picked it up yet: the
	// items are all handed out, and a parked helper could take a wake-up's
	// time to notice.
	for _, h := range helpers {
		if h.slot.CompareAndSwap(j, nil) {
			j.pending.Add(-1)
		}
	}
	for j.pending.Load() > 0 {
		runtime.Gosched()
	}
	return true
}

// loop is a helper goroutine's life: run jobs as they come, poll between
// them for helperSpin, then park until woken.
func (h *poolHelper) loop() {
	for {
		idle := time.Now()
		for h.slot.Load() == nil && time.Since(idle) < helperSpin {
			runtime.Gosched()
		}
		if h.slot.Load() == nil {
			h.sleeping.Store(true)
			if h.slot.Load() == nil || !h.sleeping.CompareAndSwap(true, false) {
				// Parked, or a job arrived and the caller flipped sleeping
				// first: either way a wake-up is on its way.
				<-h.wake
			}
		}
		if j := h.slot.Swap(nil); j != nil {
			j.work(h.worker)
			j.pending.Add(-1)
		}
	}
}

// getScratch returns a buffer of length n (contents undefined) for an
// im2col tile, a padded or phased copy, or a tile of output.
//
// Buffers of scratchListMin floats and more (needed on every call, in
// sizes that repeat exactly from one call of a layer to the next) come
// from the tensor package's exact-size free lists. A single sync.Pool
// would hand back whichever buffer it has, often too small for the next
// layer's size, and is emptied by every garbage collection: through one,
// ResNet-18 at batch 1 allocates 14 MB per image, and zeroing it and
// faulting its pages in takes 12% of its single-threaded time (pprof:
// runtime.memclrNoHeapPointers under padPhased2D and mallocgcLarge).
// Small ones (a padded plane of a depthwise convolution, at most 116x116
// floats in the backbones, taken once per plane) come from sync.Pools by
// power-of-two size class, whose per-core caches avoid the free lists'
// mutex: through the mutex, EfficientNet-B5 measured 4-8% slower.
func getScratch(n int) *[]float32 {
	if n >= scratchListMin {
		b := tensor.ScratchFloats(n)
		return &b
	}
	class := bits.Len(uint(max(n, 1) - 1)) // buffers of this class hold 1<<class floats
	if p, ok := scratchPools[class].Get().(*[]float32); ok {
		*p = (*p)[:n]
		return p
	}
	b := make([]float32, n, 1<<class)
	return &b
}

// putScratch hands back a buffer from getScratch.
func putScratch(p *[]float32) {
	if len(*p) >= scratchListMin {
		tensor.ReleaseFloats(*p)
		return
	}
	scratchPools[bits.Len(uint(cap(*p)-1))].Put(p)
}

// scratchListMin is the smallest buffer (in floats, 128 KiB) taken from
// the free lists rather than scratchPools: above every depthwise plane,
// below every phased copy, tile buffer and Winograd buffer of the
// backbones' convolutions.
const scratchListMin = 1 << 15

// scratchPools holds the small buffers by size class, class c holding
// buffers of capacity 1<<c, so that any buffer a pool hands back fits the
// request: with one pool for all sizes, EfficientNet-B5's padded planes,
// from 6x6 to 116x116, mostly miss and are allocated anew.
var scratchPools [16]sync.Pool
