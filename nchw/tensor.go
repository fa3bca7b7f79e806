// Package nchw defines Tensor, the dense float32 N x C x H x W array in
// which images enter a backbone and features leave it. It is the one type
// the public API of backbones, padim and spade shares, so code outside this
// module can implement a backbone or hand its own features to a model.
//
// Tensor is a plain struct (shape and a row-major slice, as PyTorch stores
// a contiguous NCHW tensor) rather than an interface or an opaque handle:
// a caller builds one from its own slice without copying, and the
// implementations read Data directly on the hot path. The module's
// internal packages use the very same type (internal/tensor declares an
// alias of it and adds buffer recycling), so passing features between a
// backbone, padim and spade never converts or copies them.
package nchw

import "fmt"

// Tensor is a dense float32 array of shape N x C x H x W, stored row-major
// (W varies fastest): element (n, c, y, x) is Data[((n*C+c)*H+y)*W+x].
type Tensor struct {
	N, C, H, W int
	Data       []float32
}

// New returns a zeroed tensor of the given shape. A negative size panics,
// as make does.
func New(n, c, h, w int) *Tensor {
	if n < 0 || c < 0 || h < 0 || w < 0 {
		panic(fmt.Sprintf("nchw: negative shape %dx%dx%dx%d", n, c, h, w))
	}
	return &Tensor{N: n, C: c, H: h, W: w, Data: make([]float32, n*c*h*w)}
}

// FromData wraps data (not copied) as a tensor, checking its length.
func FromData(n, c, h, w int, data []float32) (*Tensor, error) {
	if n < 0 || c < 0 || h < 0 || w < 0 || n*c*h*w != len(data) {
		return nil, fmt.Errorf("nchw: %d values do not fill shape %dx%dx%dx%d", len(data), n, c, h, w)
	}
	return &Tensor{N: n, C: c, H: h, W: w, Data: data}, nil
}

// Len is the number of elements.
func (t *Tensor) Len() int { return t.N * t.C * t.H * t.W }

// Index is the flat offset of element (n, c, y, x).
func (t *Tensor) Index(n, c, y, x int) int { return ((n*t.C+c)*t.H+y)*t.W + x }

// At returns element (n, c, y, x).
func (t *Tensor) At(n, c, y, x int) float32 { return t.Data[t.Index(n, c, y, x)] }

// Set stores v at element (n, c, y, x).
func (t *Tensor) Set(n, c, y, x int, v float32) { t.Data[t.Index(n, c, y, x)] = v }

// Image returns the n-th item of the batch as a 1 x C x H x W view sharing memory.
func (t *Tensor) Image(n int) *Tensor {
	size := t.C * t.H * t.W
	return &Tensor{N: 1, C: t.C, H: t.H, W: t.W, Data: t.Data[n*size : (n+1)*size]}
}

// Images returns items start..end-1 of the batch as an (end-start) x C x H x W
// view sharing memory.
func (t *Tensor) Images(start, end int) *Tensor {
	size := t.C * t.H * t.W
	return &Tensor{N: end - start, C: t.C, H: t.H, W: t.W, Data: t.Data[start*size : end*size]}
}

// Channel returns the H*W plane of channel c of item n, sharing memory.
func (t *Tensor) Channel(n, c int) []float32 {
	plane := t.H * t.W
	off := (n*t.C + c) * plane
	return t.Data[off : off+plane]
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	d := make([]float32, len(t.Data))
	copy(d, t.Data)
	return &Tensor{N: t.N, C: t.C, H: t.H, W: t.W, Data: d}
}

// SameShape reports whether t and u have equal shapes.
func (t *Tensor) SameShape(u *Tensor) bool {
	return t.N == u.N && t.C == u.C && t.H == u.H && t.W == u.W
}

// Shape returns the shape as a slice, for messages and file headers.
func (t *Tensor) Shape() []int { return []int{t.N, t.C, t.H, t.W} }

// String describes the shape, not the values.
func (t *Tensor) String() string { return fmt.Sprintf("Tensor[%dx%dx%dx%d]", t.N, t.C, t.H, t.W) }
