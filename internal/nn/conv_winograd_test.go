package nn

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/padim-go/padim/internal/tensor"
)

// winogradCases are 3x3 stride-1 pad-1 convolutions with odd and even
// sizes (odd ones leave a clipped last tile row or column), planes smaller
// than one tile, batches of 1 to 3, and channel counts that are not
// multiples of anything.
var winogradCases = []convCase{
	{1, 4, 6, 11, 13, 3, 3, 1, 1, 1, 1, true},
	{1, 5, 3, 8, 8, 3, 3, 1, 1, 1, 1, false},
	{2, 7, 5, 9, 6, 3, 3, 1, 1, 1, 1, true},
	{3, 3, 11, 7, 7, 3, 3, 1, 1, 1, 1, true},
	{3, 13, 9, 10, 5, 3, 3, 1, 1, 1, 1, false},
	{2, 6, 4, 1, 1, 3, 3, 1, 1, 1, 1, true},
	{1, 6, 4, 1, 5, 3, 3, 1, 1, 1, 1, true},
	{2, 6, 4, 2, 3, 3, 3, 1, 1, 1, 1, true},
	{1, 1, 1, 4, 4, 3, 3, 1, 1, 1, 1, true},
	// Several blocks of winogradMaxCols tiles, one ending mid tile row.
	{3, 37, 33, 21, 23, 3, 3, 1, 1, 1, 1, true},
	{1, 70, 35, 30, 29, 3, 3, 1, 1, 1, 1, true},
	// Output channels in whole 8-channel blocks: the GEMMs run on the
	// packed kernels (with AVX-512), also split by output channel, and
	// with more than packedKC input channels.
	{1, 20, 16, 9, 9, 3, 3, 1, 1, 1, 1, true},
	{2, 300, 24, 12, 11, 3, 3, 1, 1, 1, 1, true},
	{3, 9, 32, 30, 29, 3, 3, 1, 1, 1, 1, true},
}

func TestWinogradMatchesReference(t *testing.T) {
	defer SetThreads(SetThreads(0))
	defer func(old bool) { packedEnabled = old }(packedEnabled)
	for _, packed := range []bool{false, packedEnabled} {
		packedEnabled = packed
		for _, threads := range []int{1, 2, 3} {
			SetThreads(threads)
			for i, tc := range winogradCases {
				for _, act := range []Activation{ActNone, ActReLU, ActSiLU, ActSigmoid} {
					t.Run(fmt.Sprintf("packed=%v/threads%d/%v/%v", packed, threads, tc, act), func(t *testing.T) {
						rng := rand.New(rand.NewSource(int64(i)))
						conv := tc.conv(rng)
						x := randTensor(rng, tc.n, tc.inC, tc.h, tc.w)
						out := tensor.New(x.N, conv.OutC, x.H, x.W)
						convWinograd(conv, x, out, act)
						if got := conv.winogradU().packed[0] != nil; got != (packed && tc.outC%packedMR == 0) {
							t.Fatalf("packed GEMM weights present: %v", got)
						}
						checkConv(t, conv, x, out, act, winogradTol)
					})
				}
			}
		}
	}
}

// winogradTol is the error bound of checkConv (relative to sum |x|*|w|
// per output) for Winograd: the one the im2col and depthwise tests use.
// The transforms add a few roundings per product term (B^T d B sums up to
// 4 values of d twice, G g G^T scales weights by up to 9/4), which stays
// well inside it: these cases also pass at 2e-6.
const winogradTol = 1e-5

// TestWinogradSelected checks that the dispatch rule picks Winograd for
// the backbone shapes it was measured faster on, and that ForwardAct then
// really runs it: its output is bit for bit the Winograd kernel's and not
// the im2col kernel's.
func TestWinogradSelected(t *testing.T) {
	defer SetThreads(SetThreads(2))
	for _, tc := range []struct {
		name               string
		inC, outC, size, k int
		stride, pad, group int
		want               bool
	}{
		{"r18_l3_3x3", 256, 256, 14, 3, 1, 1, 1, true},
		{"wr50_l2_3x3", 256, 256, 28, 3, 1, 1, 1, true},
		{"wr50_l3_3x3", 512, 512, 14, 3, 1, 1, 1, true},
		{"r18_l1_3x3", 64, 64, 56, 3, 1, 1, 1, false},
		{"r18_l2_3x3", 128, 128, 28, 3, 1, 1, 1, false},
		{"wr50_l1_3x3", 128, 128, 56, 3, 1, 1, 1, false},
		{"narrow output", 256, 128, 14, 3, 1, 1, 1, false},
		{"stride2", 256, 256, 28, 3, 2, 1, 1, false},
		{"no padding", 256, 256, 14, 3, 1, 0, 1, false},
		{"5x5", 256, 256, 14, 5, 1, 2, 1, false},
		{"grouped", 256, 256, 14, 3, 1, 1, 2, false},
		{"depthwise", 256, 256, 14, 3, 1, 1, 256, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(11))
			c := NewConv2D(tc.inC, tc.outC, tc.k, tc.stride, tc.pad, tc.group)
			c.Weight = randSlice(rng, len(c.Weight))
			c.Bias = randSlice(rng, tc.outC)
			x := randTensor(rng, 1, tc.inC, tc.size, tc.size)
			if got := useWinograd(c); got != tc.want {
				t.Fatalf("useWinograd = %v, want %v", got, tc.want)
			}
			if !tc.want {
				return
			}
			got := c.ForwardAct(x, ActReLU)
			wino, gemm := tensor.New(1, c.OutC, got.H, got.W), tensor.New(1, c.OutC, got.H, got.W)
			convWinograd(c, x, wino, ActReLU)
			convGemm(c, x, gemm, ActReLU)
			differs := false
			for i, v := range got.Data {
				if math.Float32bits(v) != math.Float32bits(wino.Data[i]) {
					t.Fatalf("element %d: ForwardAct %v, Winograd kernel %v: not the Winograd path", i, v, wino.Data[i])
				}
				differs = differs || v != gemm.Data[i]
			}
			if !differs {
				t.Fatal("Winograd and im2col outputs are identical: cannot tell which kernel ran")
			}
		})
	}
}

// TestWinogradWeightCache checks that the cached weight transform follows
// the weights: after FoldBatchNorm rescales them in place, and after a new
// Weight slice is assigned.
func TestWinogradWeightCache(t *testing.T) {
	rng := rand.New(rand.NewSource(12))
	tc := convCase{2, 256, 260, 5, 6, 3, 3, 1, 1, 1, 1, true}
	conv := tc.conv(rng)
	x := randTensor(rng, tc.n, tc.inC, tc.h, tc.w)
	if !useWinograd(conv) {
		t.Fatalf("%v does not take the Winograd path; the test needs one that does", tc)
	}
	checkConv(t, conv, x, conv.Forward(x), ActNone, winogradTol)
	gamma, beta, mean := randSlice(rng, tc.outC), randSlice(rng, tc.outC), randSlice(rng, tc.outC)
	variance := absSlice(randSlice(rng, tc.outC))
	if err := conv.FoldBatchNorm(gamma, beta, mean, variance, 1e-5); err != nil {
		t.Fatal(err)
	}
	t.Run("after FoldBatchNorm", func(t *testing.T) {
		checkConv(t, conv, x, conv.Forward(x), ActNone, winogradTol)
	})
	conv.Weight = randSlice(rng, len(conv.Weight))
	t.Run("after new Weight", func(t *testing.T) {
		checkConv(t, conv, x, conv.Forward(x), ActNone, winogradTol)
	})
}

// conv3x3Float64 is the direct 3x3 pad-1 convolution accumulated in
// float64, the exact answer up to one final rounding.
func conv3x3Float64(c *Conv2D, x *tensor.Tensor) []float64 {
	out := make([]float64, x.N*c.OutC*x.H*x.W)
	for n := 0; n < x.N; n++ {
		for o := 0; o < c.OutC; o++ {
			for y := 0; y < x.H; y++ {
				for xx := 0; xx < x.W; xx++ {
					sum := float64(c.bias(o))
					for i := 0; i < c.InC; i++ {
						for ky := 0; ky < 3; ky++ {
							iy := y - 1 + ky
							if iy < 0 || iy >= x.H {
								continue
							}
							for kx := 0; kx < 3; kx++ {
								ix := xx - 1 + kx
								if ix < 0 || ix >= x.W {
									continue
								}
								sum += float64(x.At(n, i, iy, ix)) * float64(c.Weight[((o*c.InC+i)*3+ky)*3+kx])
							}
						}
					}
					out[((n*c.OutC+o)*x.H+y)*x.W+xx] = sum
				}
			}
		}
	}
	return out
}

// TestWinogradErrorRealistic measures Winograd's and im2col's error
// against a float64 convolution on backbone-like magnitudes: post-ReLU
// activations (|N(0,1)|) and Kaiming-scaled weights, as after BatchNorm
// folding. It bounds both by the backbones' parity tolerance, max|err| /
// max|ref| <= 1e-4, with a 10x margin, and logs the numbers.
func TestWinogradErrorRealistic(t *testing.T) {
	for _, tc := range []struct{ inC, outC, size int }{
		{64, 64, 20},
		{256, 64, 14},
		{512, 16, 14},
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
			wino, gemm := tensor.New(2, tc.outC, tc.size, tc.size), tensor.New(2, tc.outC, tc.size, tc.size)
			convWinograd(c, x, wino, ActNone)
			convGemm(c, x, gemm, ActNone)
			var maxRef, maxWino, maxGemm, maxRelWino float64
			for i, w := range want {
				maxRef = max(maxRef, math.Abs(w))
				ew, eg := math.Abs(float64(wino.Data[i])-w), math.Abs(float64(gemm.Data[i])-w)
				maxWino, maxGemm = max(maxWino, ew), max(maxGemm, eg)
				if math.Abs(w) > 0.1 {
					maxRelWino = max(maxRelWino, ew/math.Abs(w))
				}
			}
			t.Logf("max|err|/max|ref|: winograd %.3g, im2col %.3g; winograd elementwise relative (|ref| > 0.1) %.3g",
				maxWino/maxRef, maxGemm/maxRef, maxRelWino)
			if maxWino/maxRef > 1e-5 {
				t.Fatalf("winograd max|err|/max|ref| = %.3g, want <= 1e-5", maxWino/maxRef)
			}
		})
	}
}
