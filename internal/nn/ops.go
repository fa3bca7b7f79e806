package nn

import (
	"fmt"
	"math"

	"github.com/padim-go/padim/internal/tensor"
)

func sqrt64(v float64) float64 { return math.Sqrt(v) }

// Add adds src to dst element-wise in place (a residual connection) and returns dst.
func Add(dst, src *tensor.Tensor) *tensor.Tensor {
	if !dst.SameShape(src) {
		panic(fmt.Sprintf("nn: add %v and %v", dst, src))
	}
	parallelRange(len(dst.Data), elementwiseChunk, func(lo, hi int) {
		if simdEnabled {
			simdAdd(dst.Data[lo:hi], src.Data[lo:hi])
		} else {
			addGo(dst.Data[lo:hi], src.Data[lo:hi])
		}
	})
	return dst
}

// AddReLU is ReLU(Add(dst, src)) in one pass: the end of a ResNet block.
func AddReLU(dst, src *tensor.Tensor) *tensor.Tensor {
	if !dst.SameShape(src) {
		panic(fmt.Sprintf("nn: add %v and %v", dst, src))
	}
	parallelRange(len(dst.Data), elementwiseChunk, func(lo, hi int) {
		addReLURows(dst.Data[lo:hi], src.Data[lo:hi])
	})
	return dst
}

// addReLURows sets d[i] = max(d[i]+s[i], 0) for i < len(d) on the
// fastest kernel this build and CPU have.
func addReLURows(d, s []float32) {
	if simdEnabled {
		simdAddReLU(d, s)
	} else {
		addReLUGo(d, s)
	}
}

// AllFinite reports whether no element of x is NaN or infinite. It sums x
// in float64, where no sum of float32 values can overflow and any NaN or
// infinity carries through (+Inf + -Inf gives NaN), so the sum is finite
// exactly when every element is: one vectorised pass instead of two tests
// per element.
func AllFinite(x []float32) bool {
	var s float64
	if simdEnabled {
		s = simdSum64(x)
	} else {
		s = sum64Go(x)
	}
	return !math.IsNaN(s) && !math.IsInf(s, 0)
}

// sum64Go is the sum of x accumulated in float64, the pure-Go simdSum64.
// One running sum waits on each addition's latency; simdSum64 keeps 16.
func sum64Go(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	return s
}

// addGo sets d[i] += s[i] for i < len(d), the pure-Go simdAdd.
func addGo(d, s []float32) {
	s = s[:len(d)]
	for i := range d {
		d[i] += s[i]
	}
}

// addReLUGo sets d[i] = max(d[i]+s[i], 0) for i < len(d), the pure-Go simdAddReLU.
func addReLUGo(d, s []float32) {
	s = s[:len(d)]
	for i := range d {
		d[i] = relu32(d[i] + s[i])
	}
}

// max3Go sets d[i] = max(x[i], y[i], z[i]) for i < len(d), the pure-Go
// simdMax3.
func max3Go(d, x, y, z []float32) {
	x, y, z = x[:len(d)], y[:len(d)], z[:len(d)]
	for i := range d {
		d[i] = max(x[i], y[i], z[i])
	}
}

// scaleGo multiplies every element of d by f, the pure-Go simdScale.
func scaleGo(d []float32, f float32) {
	for i := range d {
		d[i] *= f
	}
}

// poolOutSize is the output size of a k x k pooling window along a side of n.
func poolOutSize(n, k, stride, pad int) int { return (n+2*pad-k)/stride + 1 }

// checkPool panics on a pooling geometry torch would reject.
func checkPool(x *tensor.Tensor, k, stride, pad int) (oh, ow int) {
	if k <= 0 || stride <= 0 || pad < 0 || 2*pad > k {
		panic(fmt.Sprintf("nn: pooling with kernel %d, stride %d, padding %d", k, stride, pad))
	}
	oh, ow = poolOutSize(x.H, k, stride, pad), poolOutSize(x.W, k, stride, pad)
	if oh <= 0 || ow <= 0 {
		panic(fmt.Sprintf("nn: %v is smaller than the %dx%d pooling window", x, k, k))
	}
	return oh, ow
}

// MaxPool2D is torch.nn.MaxPool2d(k, stride, pad): padding counts as -inf,
// and a NaN in a window makes that output NaN, as in torch.
//
// It is separable: each output row first takes the column-wise maximum of
// its k input rows into a scratch row, then the maximum of k neighbours
// along that row. Windows wholly inside the row take a loop without
// bounds tests, with k = 3 (ResNet's stem, 3x3 stride 2) unrolled.
func MaxPool2D(x *tensor.Tensor, k, stride, pad int) *tensor.Tensor {
	oh, ow := checkPool(x, k, stride, pad)
	// Every output element is written below, so a recycled buffer is fine.
	out := tensor.NewScratch(x.N, x.C, oh, ow)
	negInf := float32(math.Inf(-1))
	// Output columns whose window lies inside [0, W).
	lo := min(ceilDiv(pad, stride), ow)
	hi := max(min(floorDiv(x.W-k+pad, stride)+1, ow), lo)
	parallelFor(x.N*x.C, func(_, pi int) {
		buf := getScratch(2*x.W + 2)
		colMax, phases := (*buf)[:x.W], (*buf)[x.W:]
		in, dst := x.Data[pi*x.H*x.W:(pi+1)*x.H*x.W], out.Data[pi*oh*ow:(pi+1)*oh*ow]
		for oy := 0; oy < oh; oy++ {
			y0, y1 := max(oy*stride-pad, 0), min(oy*stride-pad+k, x.H)
			if y1-y0 == 3 {
				// The stem's 3x3 window: one pass over the three rows
				// instead of a copy and two passes over colMax.
				r0 := in[y0*x.W : (y0+1)*x.W]
				r1 := in[(y0+1)*x.W : (y0+2)*x.W]
				r2 := in[(y0+2)*x.W : (y0+3)*x.W]
				if simdEnabled {
					simdMax3(colMax, r0, r1, r2)
				} else {
					max3Go(colMax, r0, r1, r2)
				}
			} else {
				copy(colMax, in[y0*x.W:(y0+1)*x.W])
				for y := y0 + 1; y < y1; y++ {
					r := in[y*x.W : (y+1)*x.W]
					r = r[:len(colMax)]
					for i, v := range r {
						colMax[i] = max(colMax[i], v)
					}
				}
			}
			d := dst[oy*ow : (oy+1)*ow]
			edge := func(ox int) {
				m := negInf
				for ix := max(ox*stride-pad, 0); ix < min(ox*stride-pad+k, x.W); ix++ {
					m = max(m, colMax[ix])
				}
				d[ox] = m
			}
			for ox := 0; ox < lo; ox++ {
				edge(ox)
			}
			if hi <= lo {
				// No window fits inside the row: the edges cover it all.
			} else if k == 3 && stride == 2 {
				// The stem's 3x3/2 pool: d[lo+i] = max(src[2i], src[2i+1],
				// src[2i+2]), the max of three vectors once the even and
				// odd columns are split apart.
				n := hi - lo
				src := colMax[lo*stride-pad:][:2*n+1]
				even, odd := phases[:n+1], phases[n+1:2*n+1]
				splitPhases2(even, odd, src, 0)
				if simdEnabled {
					simdMax3(d[lo:hi], even, odd, even[1:])
				} else {
					max3Go(d[lo:hi], even, odd, even[1:])
				}
			} else if k == 3 {
				src := colMax[lo*stride-pad:]
				for i := range d[lo:hi] {
					j := i * stride
					t := src[j : j+3 : j+3]
					d[lo+i] = max(t[0], t[1], t[2])
				}
			} else {
				for ox := lo; ox < hi; ox++ {
					w := colMax[ox*stride-pad : ox*stride-pad+k]
					m := w[0]
					for _, v := range w[1:] {
						m = max(m, v)
					}
					d[ox] = m
				}
			}
			for ox := hi; ox < ow; ox++ {
				edge(ox)
			}
		}
		putScratch(buf)
	})
	return out
}

// AvgPool2D is torch.nn.AvgPool2d(k, stride, pad) with count_include_pad=True.
func AvgPool2D(x *tensor.Tensor, k, stride, pad int) *tensor.Tensor {
	oh, ow := checkPool(x, k, stride, pad)
	out := tensor.New(x.N, x.C, oh, ow)
	inv := 1 / float32(k*k)
	parallelFor(x.N*x.C, func(_, pi int) {
		in, dst := x.Data[pi*x.H*x.W:(pi+1)*x.H*x.W], out.Data[pi*oh*ow:(pi+1)*oh*ow]
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				var s float32
				for iy := max(oy*stride-pad, 0); iy < min(oy*stride-pad+k, x.H); iy++ {
					for ix := max(ox*stride-pad, 0); ix < min(ox*stride-pad+k, x.W); ix++ {
						s += in[iy*x.W+ix]
					}
				}
				dst[oy*ow+ox] = s * inv
			}
		}
	})
	return out
}

// GlobalAvgPool averages each channel plane: N x C x H x W -> N x C x 1 x 1.
// Sums run in float64 (in 16 partial sums with the assembly kernel), so
// the mean is the correctly rounded float32 of the plane's exact mean
// unless that lies within about plane*2^-53 (relative) of a rounding
// boundary, for any plane size a backbone produces.
func GlobalAvgPool(x *tensor.Tensor) *tensor.Tensor {
	out := tensor.New(x.N, x.C, 1, 1)
	plane := x.H * x.W
	parallelRange(x.N*x.C, max(1, elementwiseChunk/max(plane, 1)), func(lo, hi int) {
		for pi := lo; pi < hi; pi++ {
			p := x.Data[pi*plane : (pi+1)*plane]
			var s float64
			if simdEnabled {
				s = simdSum64(p)
			} else {
				s = sum64Go(p)
			}
			out.Data[pi] = float32(s / float64(plane))
		}
	})
	return out
}

// SqueezeExcite is torchvision's SqueezeExcitation as EfficientNet uses it:
// scale = sigmoid(Expand(SiLU(Reduce(avgpool(x))))); x *= scale per channel.
type SqueezeExcite struct {
	Reduce, Expand *Conv2D // 1x1 convolutions with bias
}

// Forward scales x in place and returns it.
func (s *SqueezeExcite) Forward(x *tensor.Tensor) *tensor.Tensor {
	return s.ForwardPooled(x, GlobalAvgPool(x))
}

// ForwardPooled is Forward given pooled = GlobalAvgPool(x), computed by
// the caller (EfficientNet's blocks pool each group of channels while it
// is still in cache).
func (s *SqueezeExcite) ForwardPooled(x, pooled *tensor.Tensor) *tensor.Tensor {
	if pooled.N != x.N || pooled.C != x.C || pooled.H != 1 || pooled.W != 1 {
		panic(fmt.Sprintf("nn: squeeze-excite of %v given pooled %v", x, pooled))
	}
	// The activations run over the whole vector of each: fused into the
	// convolutions they ran once per channel, a call on a single value
	// each (1% of EfficientNet-B5's time for the sigmoid alone).
	hidden := SiLU(s.Reduce.ForwardAct(pooled, ActNone))
	scale := Sigmoid(s.Expand.ForwardAct(hidden, ActNone))
	if scale.C != x.C {
		panic(fmt.Sprintf("nn: squeeze-excite produces %d scales for %d channels", scale.C, x.C))
	}
	plane := x.H * x.W
	parallelRange(x.N*x.C, max(1, elementwiseChunk/max(plane, 1)), func(lo, hi int) {
		for pi := lo; pi < hi; pi++ {
			p := x.Data[pi*plane : (pi+1)*plane]
			if simdEnabled {
				simdScale(p, scale.Data[pi])
			} else {
				scaleGo(p, scale.Data[pi])
			}
		}
	})
	return x
}
