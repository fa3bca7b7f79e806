package nn

import (
	"fmt"
	"math"
	"math/rand"
	"slices"

	"github.com/padim-go/padim/internal/tensor"
	"testing"
)

// TestDepthwise512Plane checks the AVX-512 block kernels, through
// depthwise512Plane, bit for bit against the AVX2 row kernel (both add
// the taps in order with float32 FMAs), on plane widths that use every
// vector count with full and partial last vectors, heights that use every
// block of rows and leave remainders, and the backbones' tap patterns;
// the guards around the output catch writes outside the plane.
func TestDepthwise512Plane(t *testing.T) {
	if !simd512 {
		t.Skip(noAsm("AVX-512F"))
	}
	rng := rand.New(rand.NewSource(512))
	for _, k := range []int{1, 3, 5} {
		for _, stride := range []int{1, 2} {
			for _, ow := range []int{1, 7, 14, 16, 17, 28, 33, 48, 56, 64, 65, 112, 130} {
				for _, oh := range []int{1, 3, 7, 8, 14, 15} {
					t.Run(fmt.Sprintf("k%d_s%d_%dx%d", k, stride, oh, ow), func(t *testing.T) {
						checkDepthwise512Plane(t, rng, k, stride, oh, ow)
					})
				}
			}
		}
	}
}

func checkDepthwise512Plane(t *testing.T, rng *rand.Rand, k, stride, oh, ow int) {
	// The padded, phased plane of convDepthwise: rows of rowLen floats,
	// tap (ky, kx) of output row oy at (oy*s+ky)*rowLen + (kx%s)*phaseLen + kx/s.
	wp := (ow-1)*stride + k
	hp := (oh-1)*stride + k
	phaseLen := ceilDiv(wp, stride)
	rowLen := stride * phaseLen
	var offs []int
	w := make([]float32, 0, k*k)
	for ky := range k {
		for kx := range k {
			offs = append(offs, ky*rowLen+(kx%stride)*phaseLen+kx/stride)
			w = append(w, float32(rng.NormFloat64()))
		}
	}
	// The source ends right after the last element the last row reads,
	// followed by NaN guards that would show in an output read past it.
	n := (oh-1)*stride*rowLen + slices.Max(offs) + ow
	if n > hp*rowLen {
		t.Fatalf("test geometry reads %d floats of a %d-float plane", n, hp*rowLen)
	}
	src, checkSrc := guarded(t, n, 5, func(int) float32 { return float32(rng.NormFloat64()) })
	b := float32(rng.NormFloat64())
	want := make([]float32, oh*ow)
	for oy := range oh {
		simdDepthwiseRow(want[oy*ow:(oy+1)*ow], src[oy*stride*rowLen:], offs, w, b)
	}
	got, check := guarded(t, oh*ow, 3, func(int) float32 { return 0 })
	depthwise512Plane(got, oh, ow, src, stride*rowLen, offs, w, b)
	check()
	checkSrc()
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("output (%d, %d) = %v, the row kernel gives %v", i/ow, i%ow, got[i], want[i])
		}
	}
}

// TestDepthwiseEdgeMasked checks convDepthwise's stride-1 path over the
// unpadded planes (the edge-masked AVX-512 kernels) against its AVX2 path
// over padded planes: the same FMAs in the same order, the padding's
// zeros replaced by skipped lanes, so the values are equal (a zero's sign
// aside), on sizes from a single pixel (all rows at the border) to planes
// of several column chunks, through ForwardAct with SiLU, on groups of
// channels (convDepthwiseEdge) of all sizes.
func TestDepthwiseEdgeMasked(t *testing.T) {
	if !simd512 {
		t.Skip(noAsm("AVX-512F"))
	}
	rng := rand.New(rand.NewSource(513))
	for _, k := range []int{3, 5} {
		for _, h := range []int{1, 2, 3, 6, 14, 17} {
			for _, w := range []int{1, 3, 14, 16, 28, 33, 56, 64, 65, 112, 130} {
				t.Run(fmt.Sprintf("k%d_%dx%d", k, h, w), func(t *testing.T) {
					// Five channels: the larger planes run in groups of
					// three or four channels and a last, smaller group.
					c := &Conv2D{InC: 5, OutC: 5, KH: k, KW: k, Stride: 1, PadH: k / 2, PadW: k / 2, Groups: 5,
						Weight: randSlice(rng, 5*k*k), Bias: randSlice(rng, 5)}
					if g := dwEdgeGroup(h * w); h*w > 1600 && (g >= 5 || g < 3) {
						t.Fatalf("%dx%d planes in groups of %d channels: the test wants 3 or 4", h, w, g)
					}
					// The backbones' widths must take the path; others may
					// fall back to padding (a middle vector at the right edge).
					if _, ok := newDWEdgePlan(c, h, w); !ok && (w == 14 || w == 28 || w == 56 || w == 112) {
						t.Fatalf("no edge-masked plan for %dx%d", h, w)
					}
					x := randTensor(rng, 2, 5, h, w)
					got := c.ForwardAct(x, ActSiLU)
					var want *tensor.Tensor
					withSIMD512(false, func() { want = c.ForwardAct(x, ActSiLU) })
					for i := range want.Data {
						if got.Data[i] != want.Data[i] {
							t.Fatalf("element %d: %v, the padded path gives %v", i, got.Data[i], want.Data[i])
						}
					}
				})
			}
		}
	}
}

// TestDepthwiseEdgePlanCache checks that a convolution reuses its
// edge-masked plan while the input size and its geometry stay the same,
// and makes a new one (or none) when either changes, every output
// matching the reference convolution.
func TestDepthwiseEdgePlanCache(t *testing.T) {
	if !simd512 {
		t.Skip(noAsm("AVX-512F"))
	}
	rng := rand.New(rand.NewSource(514))
	c := &Conv2D{InC: 4, OutC: 4, KH: 5, KW: 5, Stride: 1, PadH: 2, PadW: 2, Groups: 4,
		Weight: randSlice(rng, 4*25), Bias: randSlice(rng, 4)}
	check := func(h, w int) *dwEdgePlan {
		t.Helper()
		x := randTensor(rng, 1, 4, h, w)
		got := c.ForwardAct(x, ActNone)
		oh, ow := c.OutSize(h, w)
		want := tensor.New(1, 4, oh, ow)
		conv2DReference(c, x, want)
		for i := range want.Data {
			if d := math.Abs(float64(got.Data[i] - want.Data[i])); d > 1e-5 {
				t.Fatalf("%dx%d, stride %d: element %d = %v, want %v", h, w, c.Stride, i, got.Data[i], want.Data[i])
			}
		}
		return (*dwEdgePlan)(c.dwPlan)
	}
	first := check(14, 14)
	if first == nil || first.h != 14 {
		t.Fatalf("no 14x14 plan cached after a 14x14 call: %v", first)
	}
	if again := check(14, 14); again != first {
		t.Fatal("a second 14x14 call made a new plan")
	}
	other := check(28, 20)
	if other == first || other.h != 28 || other.w != 20 {
		t.Fatal("a 28x20 call did not plan for 28x20")
	}
	c.Stride = 2 // no edge-masked plan applies: the padded path runs
	check(28, 20)
	c.Stride, c.PadH, c.PadW = 1, 1, 1 // a 5x5 kernel with pads of 1 shrinks the output
	check(28, 20)
	c.PadH, c.PadW = 2, 2
	if p := check(28, 20); p != other {
		t.Fatal("back to the first geometry, the cached 28x20 plan was replaced")
	}
}
