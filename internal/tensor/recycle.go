package tensor

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
)

// A network's forward pass allocates a new tensor per layer, of the same
// few sizes on every call. Fresh large allocations are expensive here:
// Go zeroes them, and when the runtime has returned the pages to the
// kernel each first touch is a page fault. Measured on the development
// machine: allocating and touching one 256 x 56 x 56 output took 0.87 ms,
// a fifth of the 1x1 convolution that fills it. NewScratch and Release let
// the backbones hand intermediate buffers back for the next layer or the
// next image batch instead.

// MaxRecycledBytes bounds the memory the free lists keep; buffers released
// beyond it are left to the garbage collector.
const MaxRecycledBytes = 1 << 30

var recycler struct {
	sync.Mutex
	free  map[int][][]float32 // by length
	bytes int64
}

// poison, when set, fills every recycled buffer with NaN before it is
// handed out, so a kernel that reads its output before writing it (relying
// on New's zeroing) produces NaN instead of a plausible wrong value.
var poison atomic.Bool

// SetPoisonRecycled turns NaN-filling of recycled buffers on or off and
// returns the previous setting. It is for tests.
func SetPoisonRecycled(on bool) bool { return poison.Swap(on) }

// NewScratch returns a tensor of the given shape whose contents are
// undefined: a recycled buffer when one of that length was released,
// otherwise a new (zeroed) one. It is for outputs that the caller
// overwrites entirely.
func NewScratch(n, c, h, w int) *Tensor {
	if n < 0 || c < 0 || h < 0 || w < 0 {
		panic(fmt.Sprintf("tensor: negative shape %dx%dx%dx%d", n, c, h, w))
	}
	size := n * c * h * w
	recycler.Lock()
	var data []float32
	if list := recycler.free[size]; len(list) > 0 {
		data = list[len(list)-1]
		list[len(list)-1] = nil
		recycler.free[size] = list[:len(list)-1]
		recycler.bytes -= int64(4 * size)
	}
	recycler.Unlock()
	if data == nil {
		data = make([]float32, size)
	} else if poison.Load() {
		nan := float32(math.NaN())
		for i := range data {
			data[i] = nan
		}
	}
	return &Tensor{N: n, C: c, H: h, W: w, Data: data}
}

// ScratchFloats returns a buffer of n float32 with undefined contents from
// the same free lists as NewScratch, for kernels' temporary buffers (padded
// copies, tiles) whose sizes repeat exactly from one call of a layer to
// the next. Hand it back with ReleaseFloats.
func ScratchFloats(n int) []float32 { return NewScratch(1, 1, 1, n).Data }

// ReleaseFloats hands a buffer from ScratchFloats (or any buffer nothing
// else refers to) back for reuse, under Release's rules.
func ReleaseFloats(s []float32) { Release(&Tensor{N: 1, C: 1, H: 1, W: len(s), Data: s}) }

// Release hands t's buffer back for reuse by NewScratch and empties t.
// The caller must hold the only reference to the buffer: nothing may read
// or write t.Data, or any slice of it, afterwards. Release(nil) is a no-op.
func Release(t *Tensor) {
	if t == nil || cap(t.Data) == 0 {
		return
	}
	data := t.Data[:cap(t.Data)]
	*t = Tensor{}
	size := len(data)
	recycler.Lock()
	defer recycler.Unlock()
	if recycler.bytes+int64(4*size) > MaxRecycledBytes {
		return
	}
	if recycler.free == nil {
		recycler.free = map[int][][]float32{}
	}
	recycler.free[size] = append(recycler.free[size], data)
	recycler.bytes += int64(4 * size)
}

// RecycledBytes reports how much memory the free lists hold.
func RecycledBytes() int64 {
	recycler.Lock()
	defer recycler.Unlock()
	return recycler.bytes
}
