package nn

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
	"unsafe"

	"github.com/padim-go/padim/internal/tensor"
)

// winograd4Cases are convolutions the F(4x4, 3x3) kernel can run: tile rows of 7,
// 8, 14, 17 and 33 tiles (one partial group of 16 lanes, one whole one,
// two and more with tails), batches of 1 to 3, input channels below and
// above packedKC, with and without bias, enough tiles for the column
// blocks and few enough for the channel split.
var winograd4Cases = []convCase{
	{1, 8, 8, 28, 28, 3, 3, 1, 1, 1, 1, true},
	{2, 13, 16, 28, 32, 3, 3, 1, 1, 1, 1, false},
	{1, 20, 24, 56, 56, 3, 3, 1, 1, 1, 1, true},
	{3, 5, 8, 32, 68, 3, 3, 1, 1, 1, 1, true},
	{1, 130, 16, 28, 28, 3, 3, 1, 1, 1, 1, true},
	{1, 3, 8, 36, 132, 3, 3, 1, 1, 1, 1, false},
	{2, 64, 64, 28, 28, 3, 3, 1, 1, 1, 1, true},
}

func TestWinograd4MatchesReference(t *testing.T) {
	if !winograd512 || !packedEnabled {
		t.Skip(noAsm("AVX-512"))
	}
	defer SetThreads(SetThreads(0))
	for _, threads := range []int{1, 2, 3} {
		SetThreads(threads)
		for i, tc := range winograd4Cases {
			for _, act := range []Activation{ActNone, ActReLU, ActSiLU, ActSigmoid} {
				t.Run(fmt.Sprintf("threads%d/%v/%v", threads, tc, act), func(t *testing.T) {
					rng := rand.New(rand.NewSource(int64(i)))
					conv := tc.conv(rng)
					// Fewer than 64 channels would not be dispatched here,
					// but the kernel takes any count.
					if tc.h%4 != 0 || tc.w%4 != 0 || !usePacked(conv) {
						t.Fatalf("%v: F(4x4, 3x3) needs sides in 4s and whole micro-tiles", tc)
					}
					x := randTensor(rng, tc.n, tc.inC, tc.h, tc.w)
					out := tensor.New(x.N, conv.OutC, x.H, x.W)
					for i := range out.Data {
						out.Data[i] = float32(math.NaN()) // every output must be written
					}
					convWinograd4Residual(conv, x, out, act, nil)
					checkConv(t, conv, x, out, act, winograd4Tol)
				})
			}
		}
	}
}

// winograd4Tol is checkConv's error bound (relative to sum |x|*|w| per
// output) for F(4x4, 3x3). Its transforms scale by up to 5 (B^T) and 8
// (A^T) and its weight transform by 1/4 to 1/24, so each product term
// carries more rounding than F(2x2, 3x3)'s: these cases pass at 6e-6
// and fail at 4e-6 (F(2x2, 3x3) passes at 2e-6).
const winograd4Tol = 1e-5

// TestWinograd4WeightCache checks that the cached F(4x4, 3x3) weights
// follow the weights, after FoldBatchNorm and after a new Weight slice.
func TestWinograd4WeightCache(t *testing.T) {
	if !winograd512 || !packedEnabled {
		t.Skip(noAsm("AVX-512"))
	}
	rng := rand.New(rand.NewSource(12))
	tc := convCase{1, 64, 64, 28, 28, 3, 3, 1, 1, 1, 1, true}
	conv := tc.conv(rng)
	x := randTensor(rng, tc.n, tc.inC, tc.h, tc.w)
	if conv.KernelName(tc.h, tc.w) != "winograd4" {
		t.Fatalf("%v runs %s; the test needs F(4x4, 3x3)", tc, conv.KernelName(tc.h, tc.w))
	}
	checkConv(t, conv, x, conv.Forward(x), ActNone, winograd4Tol)
	gamma, beta, mean := randSlice(rng, tc.outC), randSlice(rng, tc.outC), randSlice(rng, tc.outC)
	variance := absSlice(randSlice(rng, tc.outC))
	if err := conv.FoldBatchNorm(gamma, beta, mean, variance, 1e-5); err != nil {
		t.Fatal(err)
	}
	t.Run("after FoldBatchNorm", func(t *testing.T) {
		checkConv(t, conv, x, conv.Forward(x), ActNone, winograd4Tol)
	})
	conv.Weight = randSlice(rng, len(conv.Weight))
	t.Run("after new Weight", func(t *testing.T) {
		checkConv(t, conv, x, conv.Forward(x), ActNone, winograd4Tol)
	})
}

// TestWinograd4ErrorRealistic measures F(4x4, 3x3)'s error against a
// float64 convolution on backbone-like magnitudes (post-ReLU activations,
// Kaiming-scaled weights), beside F(2x2, 3x3)'s and im2col's, and bounds
// it by the backbones' parity tolerance, max|err| / max|ref| <= 1e-4, with
// a 10x margin.
func TestWinograd4ErrorRealistic(t *testing.T) {
	if !winograd512 || !packedEnabled {
		t.Skip(noAsm("AVX-512"))
	}
	for _, tc := range []struct{ inC, outC, size int }{
		{64, 64, 28},
		{128, 16, 28},
		{256, 8, 28},
	} {
		t.Run(fmt.Sprintf("%dto%d_%dx%d", tc.inC, tc.outC, tc.size, tc.size), func(t *testing.T) {
			rng := rand.New(rand.NewSource(13))
			c := NewConv2D(tc.inC, tc.outC, 3, 1, 1, 1)
			std := math.Sqrt(2 / float64(9*tc.inC))
			for i := range c.Weight {
				c.Weight[i] = float32(std * rng.NormFloat64())
			}
			c.Bias = randSlice(rng, tc.outC)
			x := tensor.New(2, tc.inC, tc.size, tc.size)
			for i := range x.Data {
				x.Data[i] = float32(math.Abs(rng.NormFloat64()))
			}
			want := conv3x3Float64(c, x)
			outs := map[string]*tensor.Tensor{}
			for _, k := range []string{"F(4x4)", "F(2x2)", "im2col"} {
				outs[k] = tensor.New(2, tc.outC, tc.size, tc.size)
			}
			convWinograd4Residual(c, x, outs["F(4x4)"], ActNone, nil)
			convWinograd(c, x, outs["F(2x2)"], ActNone)
			convGemm(c, x, outs["im2col"], ActNone)
			maxRef := 0.0
			for _, w := range want {
				maxRef = max(maxRef, math.Abs(w))
			}
			errs := map[string]float64{}
			for k, o := range outs {
				for i, w := range want {
					errs[k] = max(errs[k], math.Abs(float64(o.Data[i])-w)/maxRef)
				}
			}
			t.Logf("max|err|/max|ref|: F(4x4) %.3g, F(2x2) %.3g, im2col %.3g", errs["F(4x4)"], errs["F(2x2)"], errs["im2col"])
			if errs["F(4x4)"] > 1e-5 {
				t.Fatalf("F(4x4, 3x3) max|err|/max|ref| = %.3g, want <= 1e-5", errs["F(4x4)"])
			}
		})
	}
}

// TestWinograd4Special checks that NaN and ±Inf in the input reach the
// outputs whose 3x3 window holds them, as in the direct convolution, and
// no others: each tile's transform mixes its whole 6x6 patch, so a NaN
// reaches every output of the tiles whose patch holds it, which is the
// direct convolution's set only up to the patch's margin; the test pins
// that every output whose window holds a NaN is NaN.
func TestWinograd4Special(t *testing.T) {
	if !winograd512 || !packedEnabled {
		t.Skip(noAsm("AVX-512"))
	}
	rng := rand.New(rand.NewSource(14))
	c := convCase{1, 8, 8, 28, 28, 3, 3, 1, 1, 1, 1, true}.conv(rng)
	x := randTensor(rng, 1, 8, 28, 28)
	x.Data[3*28*28+10*28+13] = float32(math.NaN())
	out := tensor.New(1, 8, 28, 28)
	convWinograd4Residual(c, x, out, ActNone, nil)
	for o := 0; o < 8; o++ {
		for y := 9; y <= 11; y++ {
			for xx := 12; xx <= 14; xx++ {
				if v := out.At(0, o, y, xx); v == v {
					t.Fatalf("channel %d (%d, %d) = %v: a NaN in its window did not reach it", o, y, xx, v)
				}
			}
		}
		if v := out.At(0, o, 20, 20); v != v {
			t.Fatalf("channel %d (20, 20) is NaN, far from the NaN input", o)
		}
	}
}

// TestWinograd4RowsLayout pins the field offsets of winograd4Rows that
// the input kernel addresses (asmgen/winograd4.go: w4Lead, w4Cur, w4Tmp).
func TestWinograd4RowsLayout(t *testing.T) {
	var r winograd4Rows
	for _, f := range []struct {
		name      string
		got, want uintptr
	}{
		{"row[1].step", unsafe.Offsetof(r.row) + unsafe.Sizeof(r.row[0]) + unsafe.Offsetof(r.row[0].step), 24},
		{"lead", unsafe.Offsetof(r.lead), 96},
		{"cur", unsafe.Offsetof(r.cur), 104},
		{"tmp", unsafe.Offsetof(r.tmp), 152},
	} {
		if f.got != f.want {
			t.Errorf("winograd4Rows.%s at byte %d, the kernel reads it at %d", f.name, f.got, f.want)
		}
	}
}
