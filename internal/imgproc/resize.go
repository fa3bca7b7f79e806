package imgproc

import "fmt"

// linearTaps is the pair of source indices and weights that produce one
// output coordinate of a 1-D linear resize.
type linearTaps struct {
	i0, i1 int
	w0, w1 float32
}

// bilinearTaps computes, for each of out output coordinates, the two source
// coordinates and weights PyTorch's align_corners=False rule gives:
//
//	src = (dst + 0.5) * in/out - 0.5, clamped below at 0,
//	i0 = floor(src), i1 = min(i0+1, in-1), w1 = src - i0, w0 = 1 - w1.
//
// The arithmetic is float32 as in PyTorch's CPU kernel for float32 tensors,
// so results agree to the last bit or two.
func bilinearTaps(in, out int) []linearTaps {
	taps := make([]linearTaps, out)
	scale := float32(in) / float32(out)
	for d := range taps {
		src := scale*(float32(d)+0.5) - 0.5
		if src < 0 {
			src = 0
		}
		i0 := int(src)
		if i0 > in-1 {
			i0 = in - 1
		}
		lambda := src - float32(i0)
		if lambda > 1 {
			lambda = 1
		}
		i1 := i0
		if i0 < in-1 {
			i1 = i0 + 1
		}
		taps[d] = linearTaps{i0: i0, i1: i1, w0: 1 - lambda, w1: lambda}
	}
	return taps
}

// ResizeBilinear resizes the h x w image src to oh x ow exactly as
// torch.nn.functional.interpolate(x, size=(oh, ow), mode="bilinear",
// align_corners=False) does: each output pixel centre is mapped back into
// the source grid, the four nearest source pixels are blended, and
// coordinates outside the grid are clamped to its border. It works for both
// up- and downsampling (no antialiasing, as in PyTorch's default).
//
// It returns a new slice of oh*ow values and panics if len(src) != h*w or a
// size is not positive.
func ResizeBilinear(src []float32, h, w, oh, ow int) []float32 {
	if h <= 0 || w <= 0 || oh <= 0 || ow <= 0 {
		panic(fmt.Sprintf("imgproc: ResizeBilinear %dx%d -> %dx%d: sizes must be positive", h, w, oh, ow))
	}
	if len(src) != h*w {
		panic(fmt.Sprintf("imgproc: ResizeBilinear: %d values for a %dx%d image", len(src), h, w))
	}
	rows := bilinearTaps(h, oh)
	cols := bilinearTaps(w, ow)
	dst := make([]float32, oh*ow)
	for y, ry := range rows {
		top := src[ry.i0*w : ry.i0*w+w]
		bot := src[ry.i1*w : ry.i1*w+w]
		out := dst[y*ow : y*ow+ow]
		for x, cx := range cols {
			// Same association as PyTorch's kernel: blend along x within
			// each source row, then blend the two rows along y.
			t := top[cx.i0]*cx.w0 + top[cx.i1]*cx.w1
			b := bot[cx.i0]*cx.w0 + bot[cx.i1]*cx.w1
			out[x] = t*ry.w0 + b*ry.w1
		}
	}
	return dst
}

// UpsampleNearest enlarges the h x w image src by an integer factor, each
// source pixel becoming a factor x factor block. For integer factors this is
// what torch.nn.functional.interpolate(mode="nearest") computes.
// It returns a new slice of h*factor * w*factor values and panics on
// inconsistent sizes.
func UpsampleNearest(src []float32, h, w, factor int) []float32 {
	if h <= 0 || w <= 0 || factor <= 0 {
		panic(fmt.Sprintf("imgproc: UpsampleNearest %dx%d by %d: sizes must be positive", h, w, factor))
	}
	if len(src) != h*w {
		panic(fmt.Sprintf("imgproc: UpsampleNearest: %d values for a %dx%d image", len(src), h, w))
	}
	ow := w * factor
	dst := make([]float32, h*factor*ow)
	for y := 0; y < h; y++ {
		first := dst[y*factor*ow : (y*factor+1)*ow]
		row := src[y*w : y*w+w]
		for x, v := range row {
			block := first[x*factor : x*factor+factor]
			for i := range block {
				block[i] = v
			}
		}
		for r := 1; r < factor; r++ {
			copy(dst[(y*factor+r)*ow:(y*factor+r+1)*ow], first)
		}
	}
	return dst
}
