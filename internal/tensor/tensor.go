package tensor

import (
	"fmt"

	"github.com/padim-go/padim/nchw"
)

// Tensor is the public nchw.Tensor under its internal name: the kernels,
// the backbones and the models all pass the same type, so features cross
// the public API without a conversion or a copy. Its methods (Index, At,
// Image, Channel, ...) are declared in package nchw.
type Tensor = nchw.Tensor

// New returns a zeroed tensor of the given shape.
func New(n, c, h, w int) *Tensor { return nchw.New(n, c, h, w) }

// FromData wraps data (not copied) as a tensor, checking its length.
func FromData(n, c, h, w int, data []float32) (*Tensor, error) {
	return nchw.FromData(n, c, h, w, data)
}

// Stack concatenates 1 x C x H x W tensors along the batch axis.
func Stack(items []*Tensor) (*Tensor, error) {
	if len(items) == 0 {
		return nil, fmt.Errorf("tensor: stack of nothing")
	}
	f := items[0]
	out := New(0, f.C, f.H, f.W)
	for i, it := range items {
		if it.C != f.C || it.H != f.H || it.W != f.W {
			return nil, fmt.Errorf("tensor: item %d is %v, want ?x%dx%dx%d", i, it, f.C, f.H, f.W)
		}
		out.Data = append(out.Data, it.Data...)
		out.N += it.N
	}
	return out, nil
}
