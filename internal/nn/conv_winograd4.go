package nn

import (
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/padim-go/padim/internal/tensor"
)

// Winograd F(4x4, 3x3) (Lavin & Gray 2016) is F(2x2, 3x3) with 4x4
// output tiles from 6x6 input patches d:
//
//	Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A
//
// with
//
//	B^T = | 4  0 -5  0  1  0 |   G = |  1/4     0     0  |
//	      | 0 -4 -4  1  1  0 |       | -1/6  -1/6  -1/6  |
//	      | 0  4 -4 -1  1  0 |       | -1/6   1/6  -1/6  |
//	      | 0 -2 -1  2  1  0 |       | 1/24  1/12   1/6  |
//	      | 0  2 -1 -2  1  0 |       | 1/24 -1/12   1/6  |
//	      | 0  4  0 -5  0  1 |       |   0     0     1   |
//
//	A^T = | 1  1  1  1  1  0 |
//	      | 0  1 -1  2 -2  0 |
//	      | 0  1  1  4  4  0 |
//	      | 0  1 -1  8 -8  1 |
//
// Summed over input channels this is 36 GEMMs, one per position of the
// 6x6 transformed tile, and each output pixel costs 36/16 = 2.25
// multiply-adds per input channel instead of the 4 of F(2x2, 3x3) and the
// 9 of the direct convolution. The transforms now scale by 2, 4, 5 and 8,
// so rounding grows: TestWinograd4Error measures it against the float64
// convolution.
//
// It runs only on the AVX-512 transforms and packed GEMM kernels, and only
// on planes whose sides are multiples of 4 and at least 28
// (useWinograd4): ResNet's 56x56 and 28x28 stages at 224x224. On 14x14
// a 4x4 tiling would compute 16x16 outputs for 14x14, and the transformed
// weights (36 planes against 16) would be read for only 16 tiles per
// image; those layers keep F(2x2, 3x3).

// winograd4MinSide is the smallest plane side useWinograd4 accepts.
const winograd4MinSide = 28

// winograd4MaxCols bounds the tiles of one block, whose transformed input
// and GEMM output take 36*cols*(InC+OutC) floats, 2.25 times F(2x2,
// 3x3)'s at the same cols. One 48-tile panel per block kept them nearer
// the core: BenchmarkWinograd at batch 8, alternating runs on a noisy
// host, timed Wide-ResNet-50-2's 128-channel 56x56 convolution at 14.7
// and 15.2 ms with one panel against 18.1 and 17.3 ms with two (ResNet-18's
// 64-channel one at 3.8-5.0 against 4.5-4.9 ms). A variable so that the
// benchmark can sweep it.
var winograd4MaxCols = packedNR

// useWinograd4 reports whether ForwardAct runs c on an h x w input with
// Winograd F(4x4, 3x3): a convolution useWinograd accepts, the AVX-512
// kernels, and sides that are multiples of 4, at least winograd4MinSide.
func useWinograd4(c *Conv2D, h, w int) bool {
	return winograd512 && usePacked(c) && useWinograd(c) &&
		h%4 == 0 && w%4 == 0 && h >= winograd4MinSide && w >= winograd4MinSide
}

// winograd4Weights is the transformed weight tensor of one Conv2D for
// F(4x4, 3x3), packed for the GEMM kernels: plane k = 6*row + col of
// G g G^T, an OutC x InC matrix in packWeights' layout. Like
// winogradWeights, it remembers the Weight slice it came from.
type winograd4Weights struct {
	src    *float32
	n      int
	packed [36][]float32
}

// winograd4U returns the packed F(4x4, 3x3) weights of c, computing them
// on first use, under the rules of winogradU.
func (c *Conv2D) winograd4U() *winograd4Weights {
	if w := (*winograd4Weights)(atomic.LoadPointer(&c.winograd4)); w != nil && w.n == len(c.Weight) && w.src == &c.Weight[0] {
		return w
	}
	w := &winograd4Weights{src: &c.Weight[0], n: len(c.Weight)}
	u := winograd4TransformWeights(c.Weight, c.OutC, c.InC)
	plane := c.OutC * c.InC
	for k := range w.packed {
		w.packed[k] = packWeights(u[k*plane:(k+1)*plane], c.OutC, c.InC)
	}
	atomic.StorePointer(&c.winograd4, unsafe.Pointer(w))
	return w
}

// winograd4TransformWeights computes U = G g G^T for each 3x3 filter g of
// weight (OutC x InC x 3 x 3) in float64, so that U is g's transform
// rounded once: u[k*OutC*InC + o*InC + i], k = 6*row + col.
func winograd4TransformWeights(weight []float32, outC, inC int) []float32 {
	g6 := [6][3]float64{
		{1.0 / 4, 0, 0},
		{-1.0 / 6, -1.0 / 6, -1.0 / 6},
		{-1.0 / 6, 1.0 / 6, -1.0 / 6},
		{1.0 / 24, 1.0 / 12, 1.0 / 6},
		{1.0 / 24, -1.0 / 12, 1.0 / 6},
		{0, 0, 1},
	}
	u := make([]float32, 36*outC*inC)
	plane := outC * inC
	for o := 0; o < outC; o++ {
		for i := 0; i < inC; i++ {
			g := weight[(o*inC+i)*9 : (o*inC+i)*9+9]
			var t [6][3]float64 // G g
			for r := 0; r < 6; r++ {
				for col := 0; col < 3; col++ {
					t[r][col] = g6[r][0]*float64(g[col]) + g6[r][1]*float64(g[3+col]) + g6[r][2]*float64(g[6+col])
				}
			}
			for r := 0; r < 6; r++ { // (G g) G^T
				for col := 0; col < 6; col++ {
					e := t[r][0]*g6[col][0] + t[r][1]*g6[col][1] + t[r][2]*g6[col][2]
					u[(6*r+col)*plane+o*inC+i] = float32(e)
				}
			}
		}
	}
	return u
}

// convWinograd4Residual runs a convolution useWinograd4 accepts as
// Winograd F(4x4, 3x3), scheduled by runWinograd like F(2x2, 3x3): tiles
// of all images numbered together, cut into column blocks or, with too
// few tiles, one block split by channels. With res, out = ReLU(out + res).
func convWinograd4Residual(c *Conv2D, x, out *tensor.Tensor, act Activation, res *tensor.Tensor) {
	ww := c.winograd4U()
	packed := ww.packed[:]
	inC, outC := c.InC, c.OutC
	tilesW := x.W / 4
	perImage := (x.H / 4) * tilesW
	total := x.N * perImage
	// Rows of zeros above and below the image, for the input transform.
	zBuf := getScratch(4*tilesW + 2)
	defer putScratch(zBuf)
	zeros := *zBuf
	clear(zeros)
	runWinograd(winogradRun{
		planes: 36, inC: inC, outC: outC, total: total, maxCols: winograd4MaxCols, align: packedMR,
		input: func(v []float32, stride, c0, c1, j0, j1 int) {
			winograd4Input(v, stride, x, zeros, c0, c1, j0, j1, tilesW, perImage)
		},
		gemm: func(v, m []float32, vStride, mStride, o0, o1, n int) {
			winogradPackedGemm(packed, inC, outC, v, m, vStride, mStride, o0, o1, n)
		},
		output: func(m []float32, stride, o0, o1, j0, j1 int) {
			winograd4Output(out, res, m, stride, c, act, o0, o1, j0, j1, tilesW, perImage)
		},
	})
}

// winograd4Rows describes, for winograd4Input16, the six input rows of a
// run of tiles in the first channel it transforms (as winogradRows does
// the four of F(2x2, 3x3)), followed by the kernel's own row cursors and
// its 36-vector scratch area.
type winograd4Rows struct {
	row  [6]winogradRow
	lead int
	cur  [6]uintptr
	tmp  [36 * 16]float32
}

// winograd4Input writes V = B^T d B of tiles [j0, j1) of input channels
// [c0, c1) of x into v, laid out v[k*stride + ch*n + (j-j0)], n = j1-j0,
// k < 36. Tile j is image j/perImage, tile row (j%perImage)/tilesW, tile
// column j%tilesW; its patch d is the 6x6 window whose top-left corner
// sits at (4*row-1, 4*col-1), zero outside the image. zeros holds at
// least 4*tilesW+2 zeros, the rows above and below the image.
func winograd4Input(v []float32, stride int, x *tensor.Tensor, zeros []float32, c0, c1, j0, j1, tilesW, perImage int) {
	if c0 >= c1 {
		return
	}
	n := j1 - j0
	w := x.W
	var rows winograd4Rows
	var maskBuf [6 * 8]uint16 // six masks per group of 16 tiles
	for j := j0; j < j1; {
		img, r := j/perImage, (j%perImage)/tilesW
		tx0 := j % tilesW
		cnt := min(tilesW, tx0+j1-j) - tx0
		vr := v[c0*n+j-j0:]
		// Run floats [lo, hi) from the column left of the first tile
		// (image column x0) lie inside the image.
		x0 := 4*tx0 - 1
		lo, hi := max(0, -x0), min(w-x0, 4*cnt+2)
		rows.lead = setWinogradRows(rows.row[:], x, zeros, img, c0, c1-c0, 4*r-1, x0, lo, hi)
		_, _ = zeros[4*cnt+1], vr[(c1-c0-1)*n+35*stride+cnt-1]
		lanes := func(o int) uint16 { return laneMask(o, lo, hi) }
		groups := ceilDiv(cnt, 16)
		masks := maskBuf[:0]
		for g := 0; g < groups; g++ {
			st := uint16(1<<min(16, cnt-16*g) - 1)
			masks = append(masks, lanes(64*g), lanes(64*g+16), lanes(64*g+32), lanes(64*g+48), lanes(64*g+64), st)
		}
		winograd4Input16(&vr[0], stride, n, &rows, &masks[0], groups, c1-c0)
		runtime.KeepAlive(x)
		runtime.KeepAlive(zeros)
		j += cnt
	}
}

// winograd4Output turns the GEMM results m (36 planes stride apart, OutC
// rows of n = j1-j0 tiles each) of tiles [j0, j1) and output channels
// [o0, o1) into 4x4 output tiles Y = A^T m A, adding the bias and
// applying act (with res: adding it, then ReLU) while each run of output
// rows is in cache.
func winograd4Output(out, res *tensor.Tensor, m []float32, stride int, c *Conv2D, act Activation, o0, o1, j0, j1, tilesW, perImage int) {
	if o0 >= o1 {
		return
	}
	n := j1 - j0
	oh, ow, oc := out.H, out.W, out.C
	plane := oh * ow
	bias, release := c.biasRange(o0, o1)
	defer release()
	var tmp [24 * 16]float32
	relu := act == ActReLU || res != nil
	for j := j0; j < j1; {
		img, r := j/perImage, (j%perImage)/tilesW
		tx0 := j % tilesW
		cnt := min(tilesW, tx0+j1-j) - tx0
		first := (img*oc + o0) * plane
		var rd []float32
		if res != nil {
			rd = res.Data[first:]
		}
		off := 4*r*ow + 4*tx0
		winograd4OutputTiles(out.Data[first:], rd, off, ow, plane, m[o0*n+j-j0:], stride, n, cnt, bias, relu, &tmp)
		if act != ActNone && act != ActReLU {
			for o := o0; o < o1; o++ {
				p := out.Data[(img*oc+o)*plane : (img*oc+o+1)*plane]
				for y := 0; y < 4; y++ {
					applyAct(p[off+y*ow:off+y*ow+4*cnt], act)
				}
			}
		}
		j += cnt
	}
}

// winograd4OutputTiles writes, on the AVX-512 kernel, the four output rows
// of cnt tiles in len(bias) channels from the GEMM results m (36 planes
// stride apart; channel ch's tile i at [ch*mRow+i]). Channel ch's row y
// starts at dst[ch*plane+off+y*ow] and takes 4*cnt floats. It adds
// bias[ch], then, when res is not nil, the residual at the same places in
// res, and applies ReLU when relu is set.
func winograd4OutputTiles(dst, res []float32, off, ow, plane int, m []float32, stride, mRow, cnt int, bias []float32, relu bool, tmp *[24 * 16]float32) {
	chans := len(bias)
	if cnt <= 0 || chans == 0 {
		return
	}
	if off < 0 || ow < 4*cnt || plane < 0 || mRow < 0 {
		panic("nn: winograd4OutputTiles: rows do not match the tiles")
	}
	end := (chans-1)*plane + off + 3*ow + 4*cnt // past the last float written
	_ = dst[end-1]
	if res != nil {
		_ = res[end-1]
	}
	_ = m[(chans-1)*mRow+35*stride+cnt-1]
	groups := cnt / 16
	var ld, st int
	if c := cnt - 16*groups; c > 0 {
		ld = 1<<c - 1
		for v := 0; v < 4; v++ {
			st |= (1<<min(16, max(0, 4*c-16*v)) - 1) << (16 * v)
		}
	}
	var r0 *float32
	if res != nil {
		r0 = &res[off]
	}
	r := 0
	if relu {
		r = 1
	}
	winograd4Output16(&dst[off], &m[0], stride, groups, &bias[0], r, ld, st, r0, chans, 4*plane, 4*mRow, 4*ow, &tmp[0])
}
