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
// the backbone shapes it was measured faster on, with and without the
// AVX-512 kernels, F(4x4, 3x3) on the 56x56 and 28x28 ones with them, and
// that ForwardAct then really runs the kernel it names: its output is bit
// for bit that kernel's and not the im2col kernel's.
func TestWinogradSelected(t *testing.T) {
	defer SetThreads(SetThreads(2))
	for _, tc := range []struct {
		name               string
		inC, outC, size, k int
		stride, pad, group int
		want512, wantGo    bool // with the AVX-512 kernels, without them
		want4              bool // F(4x4, 3x3), with the AVX-512 kernels
	}{
		{"r18_l3_3x3", 256, 256, 14, 3, 1, 1, 1, true, true, false},
		{"wr50_l2_3x3", 256, 256, 28, 3, 1, 1, 1, true, true, true},
		{"wr50_l3_3x3", 512, 512, 14, 3, 1, 1, 1, true, true, false},
		{"r18_l1_3x3", 64, 64, 56, 3, 1, 1, 1, true, false, true},
		{"r18_l2_3x3", 128, 128, 28, 3, 1, 1, 1, true, false, true},
		{"wr50_l1_3x3", 128, 128, 56, 3, 1, 1, 1, true, false, true},
		{"24x24: F(2x2)", 128, 128, 24, 3, 1, 1, 1, true, false, false},
		{"30x30: F(2x2)", 128, 128, 30, 3, 1, 1, 1, true, false, false},
		{"narrow output", 256, 128, 14, 3, 1, 1, 1, true, false, false},
		{"narrower", 48, 64, 14, 3, 1, 1, 1, false, false, false},
		{"outputs not in micro-tiles", 64, 68, 28, 3, 1, 1, 1, false, false, false},
		{"stride2", 256, 256, 28, 3, 2, 1, 1, false, false, false},
		{"no padding", 256, 256, 14, 3, 1, 0, 1, false, false, false},
		{"5x5", 256, 256, 14, 5, 1, 2, 1, false, false, false},
		{"grouped", 256, 256, 14, 3, 1, 1, 2, false, false, false},
		{"depthwise", 256, 256, 14, 3, 1, 1, 256, false, false, false},
	} {
		fast := winograd512 && packedEnabled
		want, want4 := tc.wantGo, false
		if fast {
			want, want4 = tc.want512, tc.want4
		}
		// The rule without the AVX-512 kernels holds on any machine.
		func() {
			defer func(old bool) { winograd512 = old }(winograd512)
			winograd512 = false
			c := NewConv2D(tc.inC, tc.outC, tc.k, tc.stride, tc.pad, tc.group)
			if got := useWinograd(c); got != tc.wantGo {
				t.Errorf("%s: useWinograd without the AVX-512 kernels = %v, want %v", tc.name, got, tc.wantGo)
			}
			if useWinograd4(c, tc.size, tc.size) {
				t.Errorf("%s: useWinograd4 without the AVX-512 kernels", tc.name)
			}
		}()
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(11))
			c := NewConv2D(tc.inC, tc.outC, tc.k, tc.stride, tc.pad, tc.group)
			c.Weight = randSlice(rng, len(c.Weight))
			c.Bias = randSlice(rng, tc.outC)
			x := randTensor(rng, 1, tc.inC, tc.size, tc.size)
			if got := useWinograd(c); got != want {
				t.Fatalf("useWinograd = %v, want %v (AVX-512 kernels: %v)", got, want, fast)
			}
			if got := useWinograd4(c, tc.size, tc.size); got != want4 {
				t.Fatalf("useWinograd4 = %v, want %v (AVX-512 kernels: %v)", got, want4, fast)
			}
			if !want {
				return
			}
			got := c.ForwardAct(x, ActReLU)
			wino, gemm := tensor.New(1, c.OutC, got.H, got.W), tensor.New(1, c.OutC, got.H, got.W)
			kernel := "F(2x2, 3x3)"
			if want4 {
				kernel = "F(4x4, 3x3)"
				convWinograd4Residual(c, x, wino, ActReLU, nil)
			} else {
				convWinograd(c, x, wino, ActReLU)
			}
			convGemm(c, x, gemm, ActReLU)
			differs := false
			for i, v := range got.Data {
				if math.Float32bits(v) != math.Float32bits(wino.Data[i]) {
					t.Fatalf("element %d: ForwardAct %v, Winograd %s kernel %v: not that path", i, v, kernel, wino.Data[i])
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

// TestWinogradTransformKernels compares the AVX-512 input and output
// transforms with the pure-Go loops, bit for bit, on runs of 1 to 50 tiles
// (whole groups of 16 and every tail), three channels per call, clipped
// and unclipped rows, a missing bottom row, every activation and a
// residual, and inputs holding NaN, ±Inf and -0. Both compute each value
// with the same additions in the same order.
func TestWinogradTransformKernels(t *testing.T) {
	if !winograd512 {
		t.Skip(noAsm("AVX-512"))
	}
	rng := rand.New(rand.NewSource(7))
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1)), 0}
	fill := func(d []float32) {
		for i := range d {
			if rng.Intn(40) == 0 {
				d[i] = special[rng.Intn(len(special))]
			} else {
				d[i] = float32(rng.NormFloat64())
			}
		}
	}
	same := func(a, b float32) bool {
		return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b
	}
	run := func(use bool, f func()) {
		defer func(old bool) { winograd512 = old }(winograd512)
		winograd512 = use
		f()
	}
	for cnt := 1; cnt <= 50; cnt++ {
		// Input: a run of cnt tiles from every possible position of a
		// tile row (first, middle and last tile columns, odd and even
		// widths), in three channels of the second of two images, with
		// rows above and below the image.
		for _, w := range []int{2*cnt - 1, 2 * cnt, 2*cnt + 5} {
			tilesW := ceilDiv(w, 2)
			for _, tx0 := range []int{0, 1, tilesW - cnt} {
				if tx0 < 0 || tx0+cnt > tilesW {
					continue
				}
				const chans, inC, h = 3, 5, 3
				x := tensor.New(2, inC, h, w)
				fill(x.Data)
				perImage := ceilDiv(h, 2) * tilesW
				zeros := make([]float32, 2*tilesW+2)
				for r := 0; r < ceilDiv(h, 2); r++ {
					j0 := perImage + r*tilesW + tx0
					stride := (1+chans)*cnt + 3 // the layout counts channels from 0
					want, got := make([]float32, 16*stride), make([]float32, 16*stride)
					for i := range got {
						got[i], want[i] = -7, -7
					}
					run(false, func() { winogradInput(want, stride, x, zeros, 1, 1+chans, j0, j0+cnt, tilesW, perImage) })
					run(true, func() { winogradInput(got, stride, x, zeros, 1, 1+chans, j0, j0+cnt, tilesW, perImage) })
					for i := range got {
						if !same(got[i], want[i]) {
							t.Fatalf("input transform, %d tiles from column %d of tile row %d, width %d: plane %d offset %d = %v, want %v",
								cnt, tx0, r, w, i/stride, i%stride, got[i], want[i])
						}
					}
				}
			}
		}
		stride := cnt + 3
		// Output: three channels in one call of the kernel, each checked
		// against the Go loop run channel by channel.
		const chans = 3
		mRow := 16*stride + 5
		m := make([]float32, (chans-1)*mRow+15*stride+cnt)
		fill(m)
		bias := make([]float32, chans)
		for _, clipped := range []bool{false, true} {
			for _, twoRows := range []bool{true, false} {
				// The last case adds a residual, as a ResNet block's end does.
				for ai, act := range []Activation{ActNone, ActReLU, ActSiLU, ActSigmoid, ActNone} {
					width := 2 * cnt
					if clipped {
						width--
					}
					// Channel ch's top row at ch*plane+1, its bottom row
					// width+1 floats on: one float before, between and after
					// the rows catches a store outside them.
					off, below, plane := 1, width+1, 2*(width+1)+2
					if !twoRows {
						below = -1
					}
					var res []float32
					if ai == 4 {
						res = make([]float32, chans*plane)
						fill(res)
					}
					for ch := range bias {
						bias[ch] = float32(rng.NormFloat64())
					}
					outs := [2][]float32{}
					for k, use := range []bool{false, true} {
						buf := make([]float32, chans*plane)
						for i := range buf {
							buf[i] = -9
						}
						if use {
							winogradOutputTiles(buf, res, off, below, width, plane, m, stride, mRow, cnt, bias, act == ActReLU || res != nil)
							if act == ActSiLU || act == ActSigmoid {
								for ch := 0; ch < chans; ch++ {
									applyAct(buf[ch*plane+off:ch*plane+off+width], act)
									if twoRows {
										applyAct(buf[ch*plane+off+below:ch*plane+off+below+width], act)
									}
								}
							}
						} else {
							for ch := 0; ch < chans; ch++ {
								p := buf[ch*plane : (ch+1)*plane]
								top := p[off : off+width]
								var bottom, resTop, resBottom []float32
								if twoRows {
									bottom = p[off+below : off+below+width]
								}
								if res != nil {
									rp := res[ch*plane : (ch+1)*plane]
									resTop = rp[off : off+width]
									if twoRows {
										resBottom = rp[off+below : off+below+width]
									}
								}
								winogradOutputRun(top, bottom, m[ch*mRow:], stride, cnt, bias[ch], act, resTop, resBottom, make([]float32, 10*cnt))
							}
						}
						outs[k] = buf
					}
					for i := range outs[0] {
						if !same(outs[1][i], outs[0][i]) {
							t.Fatalf("output transform, %d tiles, width %d, two rows %v, %v, residual %v: channel %d float %d = %v, want %v",
								cnt, width, twoRows, act, res != nil, i/plane, i%plane, outs[1][i], outs[0][i])
						}
					}
				}
			}
		}
	}
}
