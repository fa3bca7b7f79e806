package nn

import (
	"sync/atomic"
	"unsafe"

	"github.com/padim-go/padim/internal/blas"
	"github.com/padim-go/padim/internal/tensor"
)

// Winograd F(2x2, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional
// Neural Networks", 2016) computes each 2x2 output tile of a 3x3 stride-1
// convolution from a 4x4 input patch d as
//
//	Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A
//
// with
//
//	B^T = | 1  0 -1  0 |   G = |  1    0    0  |   A^T = | 1  1  1  0 |
//	      | 0  1  1  0 |       | 1/2  1/2  1/2 |         | 0  1 -1 -1 |
//	      | 0 -1  1  0 |       | 1/2 -1/2  1/2 |
//	      | 0  1  0 -1 |       |  0    0    1  |
//
// Summed over input channels, the element-wise product becomes 16
// independent GEMMs, one per position k of the 4x4 transformed tile:
// M[k] (OutC x T) = U[k] (OutC x InC) times V[k] (InC x T), where U is the
// transformed weights and V the transformed input patches of T tiles. Each
// output tile then costs 16 multiply-adds per input channel instead of 36,
// 2.25x fewer; the transforms themselves are additions only.

// winogradWeights is the transformed weight tensor of one Conv2D,
// U[k*OutC*InC + o*InC + i], k = 4*row + col of G g G^T. It remembers
// which Weight slice it was computed from, so that assigning a new slice
// to Conv2D.Weight is noticed.
type winogradWeights struct {
	src *float32 // &Weight[0] when computed
	n   int      // len(Weight) when computed
	u   []float32
	// packed holds the 16 OutC x InC matrices of u in the layout of the
	// packed GEMM kernels (packWeights), when those run the GEMMs.
	packed [16][]float32
}

// winogradMaxCols bounds the tiles (GEMM columns) of one block, whose
// transformed input and GEMM output take 16*cols*(InC+OutC) floats.
// BenchmarkWinogradCols at batch 8 put 128, 256 and 512 within noise of
// each other on the 256- and 512-channel shapes (68-80 and 75-107
// GFLOP/cpu-s, single goroutine) and 32 clearly below (43-49, 48-57);
// 128 keeps the buffers of the 256-channel blocks (4 MiB) nearest the
// 2 MiB L2. It is a variable so the benchmark can sweep it.
var winogradMaxCols = 128

// winogradMinCols is the fewest tiles per goroutine for which
// convWinograd cuts the tiles into blocks rather than splitting one block
// by channels.
const winogradMinCols = 64

// useWinograd reports whether ForwardAct runs c on x with Winograd
// F(2x2, 3x3) instead of im2col + GEMM: only 3x3, stride-1, pad-1
// ungrouped convolutions qualify, and only those with at least 256 input
// and output channels, the ones where it measured faster.
//
// BenchmarkWinograd, im2col vs Winograd, best of 5 runs of 10 ops each,
// 2 goroutines, OPENBLAS_CORETYPE=SkylakeX, on the shared 2-core machine
// under load 5-7 (runs differ by up to 1.5x, so only repeated verdicts
// count):
//
//	shape (batch)          im2col     winograd
//	wr50_l3 512ch 14² (8)  144 ms     103 ms    Winograd won 4 of 4 runs
//	wr50_l3 512ch 14² (1)  15.9 ms    16.4 ms   2 of 4 (single goroutine: 34 vs 43 GFLOP/cpu-s)
//	r18_l3  256ch 14² (8)  24.1 ms    28.0 ms   3 of 4 (other runs 49 vs 23, 38 vs 25 ms)
//	r18_l3  256ch 14² (1)  4.59 ms    4.98 ms   1 of 4 (single goroutine: 36 vs 40 GFLOP/cpu-s)
//	wr50_l1 128ch 56² (8)  162 ms     120 ms    1 of 3 (other runs 149 vs 178, 120 vs 123 ms)
//	r18_l2  128ch 28² (8)  42.7 ms    38.5 ms   1 of 3 (other runs 35 vs 48 ms)
//	r18_l1   64ch 56² (8)  30.8 ms    31.0 ms   1 of 3 (single goroutine: 41 vs 31 GFLOP/cpu-s)
//
// Winograd's 16 GEMMs per block have depth InC only, where single-threaded
// OpenBLAS reaches 60-70 GFLOP/s at 128 channels against 85-95 at 256-512,
// and its scalar Go transforms cost about 20-30 ns per tile and channel,
// comparable to the GEMM itself below 256 channels.
func useWinograd(c *Conv2D) bool {
	if c.Groups != 1 || c.KH != 3 || c.KW != 3 || c.Stride != 1 || c.PadH != 1 || c.PadW != 1 {
		return false
	}
	return c.InC >= winogradMinChannels && c.OutC >= winogradMinChannels
}

// winogradMinChannels is the narrowest convolution useWinograd accepts.
const winogradMinChannels = 256

// winogradU returns the transformed weights of c, computing them on first
// use. FoldBatchNorm drops them; a Weight slice replaced by another one is
// noticed by its address. Concurrent Forward calls may both compute the
// transform, each then using a complete one, so a plain atomic swap is
// enough.
func (c *Conv2D) winogradU() *winogradWeights {
	if w := (*winogradWeights)(atomic.LoadPointer(&c.winograd)); w != nil && w.n == len(c.Weight) && w.src == &c.Weight[0] {
		return w
	}
	w := &winogradWeights{src: &c.Weight[0], n: len(c.Weight), u: winogradTransformWeights(c.Weight, c.OutC, c.InC)}
	if usePacked(c) {
		// The packed copy replaces u, which would only cost memory
		// (16/9 of the 3x3 weights: 100 MB for Wide-ResNet-50-2).
		plane := c.OutC * c.InC
		for k := range w.packed {
			w.packed[k] = packWeights(w.u[k*plane:(k+1)*plane], c.OutC, c.InC)
		}
		w.u = nil
	}
	atomic.StorePointer(&c.winograd, unsafe.Pointer(w))
	return w
}

// dropCaches forgets the cached weight transforms (Winograd and packed),
// for code that changes Weight in place.
func (c *Conv2D) dropCaches() {
	atomic.StorePointer(&c.winograd, nil)
	atomic.StorePointer(&c.packed, nil)
}

// winogradTransformWeights computes U = G g G^T for each 3x3 filter g of
// weight (OutC x InC x 3 x 3), in float64 so that U is g's transform
// rounded once.
func winogradTransformWeights(weight []float32, outC, inC int) []float32 {
	u := make([]float32, 16*outC*inC)
	plane := outC * inC
	for o := 0; o < outC; o++ {
		for i := 0; i < inC; i++ {
			g := weight[(o*inC+i)*9 : (o*inC+i)*9+9]
			// t = G g (4 x 3)
			var t [4][3]float64
			for col := 0; col < 3; col++ {
				g0, g1, g2 := float64(g[col]), float64(g[3+col]), float64(g[6+col])
				t[0][col] = g0
				t[1][col] = (g0 + g1 + g2) / 2
				t[2][col] = (g0 - g1 + g2) / 2
				t[3][col] = g2
			}
			// t G^T (4 x 4)
			for r := 0; r < 4; r++ {
				t0, t1, t2 := t[r][0], t[r][1], t[r][2]
				v := [4]float64{t0, (t0 + t1 + t2) / 2, (t0 - t1 + t2) / 2, t2}
				for col, e := range v {
					u[(4*r+col)*plane+o*inC+i] = float32(e)
				}
			}
		}
	}
	return u
}

// convWinograd runs a 3x3 stride-1 pad-1 ungrouped convolution (useWinograd)
// as Winograd F(2x2, 3x3). The tiles of all images are numbered together,
// img-major then row-major, so late 14x14 planes of a batch still fill
// wide GEMMs.
//
// With enough tiles, they are cut into column blocks, each one work item
// of parallelFor: input transform, 16 single-threaded Sgemm calls and
// output transform with bias and activation, all in that goroutine's
// cache. With fewer than winogradMinCols tiles per goroutine (one 14x14
// image: 49 tiles), cutting the columns would leave GEMMs too narrow for
// OpenBLAS's kernels, so instead all tiles form one block whose input
// transform is split by input channel and whose GEMMs and output transform
// are split by output channel.
func convWinograd(c *Conv2D, x, out *tensor.Tensor, act Activation) {
	ww := c.winogradU()
	u := ww.u
	inC, outC := c.InC, c.OutC
	tilesH, tilesW := ceilDiv(x.H, 2), ceilDiv(x.W, 2)
	perImage := tilesH * tilesW
	total := x.N * perImage
	plane := outC * inC
	gemm := func(v, m []float32, vStride, mStride, o0, o1, n int) {
		if ww.packed[0] != nil {
			winogradPackedGemm(ww, inC, outC, v, m, vStride, mStride, o0, o1, n)
			return
		}
		for k := 0; k < 16; k++ {
			blas.Sgemm(false, false, o1-o0, n, inC, 1, u[k*plane+o0*inC:], inC, v[k*vStride:], n, 0, m[k*mStride+o0*n:], n)
		}
	}
	if w := Threads(); w > 1 && total < winogradMinCols*w {
		vStride, mStride := winogradPlaneStride(inC*total), winogradPlaneStride(outC*total)
		vBuf, mBuf := getScratch(16*vStride), getScratch(16*mStride)
		v, m := *vBuf, *mBuf
		inChunk, outChunk := ceilDiv(inC, w), ceilDiv(outC, w)
		if ww.packed[0] != nil {
			outChunk = ceilDiv(outChunk, packedMR) * packedMR // whole micro-tiles
		}
		parallelFor(w, func(_, i int) {
			winogradInput(v, vStride, x, i*inChunk, min((i+1)*inChunk, inC), 0, total, tilesW, perImage)
		})
		parallelFor(w, func(_, i int) {
			o0, o1 := i*outChunk, min((i+1)*outChunk, outC)
			if o0 < o1 {
				gemm(v, m, vStride, mStride, o0, o1, total)
				winogradOutput(out, m, mStride, c, act, o0, o1, 0, total, tilesW, perImage)
			}
		})
		putScratch(vBuf)
		putScratch(mBuf)
		return
	}
	cols, blocks := winogradTiling(total)
	parallelFor(blocks, func(_, b int) {
		j0 := b * cols
		j1 := min(j0+cols, total)
		n := j1 - j0
		vStride, mStride := winogradPlaneStride(inC*n), winogradPlaneStride(outC*n)
		vBuf, mBuf := getScratch(16*vStride), getScratch(16*mStride)
		v, m := *vBuf, *mBuf
		winogradInput(v, vStride, x, 0, inC, j0, j1, tilesW, perImage)
		gemm(v, m, vStride, mStride, 0, outC, n)
		winogradOutput(out, m, mStride, c, act, 0, outC, j0, j1, tilesW, perImage)
		putScratch(vBuf)
		putScratch(mBuf)
	})
}

// winogradPackedGemm is the 16 GEMMs of convWinograd on the packed
// kernels: for each k, rows [o0, o1) of M_k (OutC x n) = U_k V_k, V_k the
// InC x n transformed input at v[k*vStride:].
func winogradPackedGemm(ww *winogradWeights, inC, outC int, v, m []float32, vStride, mStride, o0, o1, n int) {
	offs := make([]int32, inC) // row ic of V_k starts ic*n floats in
	for ic := range offs {
		offs[ic] = int32(ic * n)
	}
	for k := 0; k < 16; k++ {
		a := ww.packed[k]
		vk, mk := v[k*vStride:], m[k*mStride:]
		for k0 := 0; k0 < inC; k0 += packedKC {
			kl := min(packedKC, inC-k0)
			flags := 0
			if k0 > 0 {
				flags = kernelLoad
			}
			for mb := o0 / packedMR; mb < o1/packedMR; mb++ {
				packedPanels(kl, &a[k0*outC+mb*packedMR*kl], vk, &offs[k0], mk[mb*packedMR*n:], n, n, flags, nil)
			}
		}
	}
}

// winogradPlaneStride is the distance, in floats, between consecutive k
// planes of s floats in the transform buffers. The transforms read or
// write all 16 planes at once; planes a multiple of 4 KiB apart would all
// map to the same L1 sets and evict each other (12-way L1), so each plane
// starts one cache line further along the 4 KiB page than the previous.
func winogradPlaneStride(s int) int { return ceilDiv(s, 1024)*1024 + 16 }

// winogradTiling cuts total tiles into blocks of at most winogradMaxCols,
// at least Threads() of them and a multiple of Threads() when they are
// few, so that no goroutine idles while another finishes a last block.
func winogradTiling(total int) (cols, blocks int) {
	w := Threads()
	blocks = ceilDiv(total, winogradMaxCols)
	if blocks < 4*w && blocks%w != 0 {
		blocks = ceilDiv(blocks, w) * w
	}
	blocks = min(blocks, total)
	cols = ceilDiv(total, blocks)
	return cols, ceilDiv(total, cols)
}

// winogradInput writes V = B^T d B of tiles [j0, j1) of input channels
// [c0, c1) into v, laid out v[k*stride + ch*n + (j-j0)], n = j1-j0. Tile j
// is image j/perImage, tile row (j%perImage)/tilesW, tile column
// j%tilesW; its patch d is the 4x4 input window whose top-left corner
// sits at (2*row-1, 2*col-1), zero outside the image.
func winogradInput(v []float32, stride int, x *tensor.Tensor, c0, c1, j0, j1, tilesW, perImage int) {
	n := j1 - j0
	h, w, ch := x.H, x.W, x.C
	// pad holds the four input rows under the border tiles of a run,
	// zero-padded where the patches reach past the image. Interior tiles
	// read the image rows directly.
	pw := 2*min(tilesW, n) + 2
	padBuf := getScratch(4 * pw)
	pad := *padBuf
	for j := j0; j < j1; {
		img, r := j/perImage, (j%perImage)/tilesW
		tx0 := j % tilesW
		tx1 := min(tilesW, tx0+j1-j)
		// Tiles [txA, txB) have their whole patch inside the image.
		txA, txB := tx1, tx1
		if r >= 1 && 2*r+2 < h {
			txA, txB = max(tx0, 1), min(tx1, (w-1)/2)
			txB = max(txA, txB)
		}
		for c := c0; c < c1; c++ {
			src := x.Data[(img*ch+c)*h*w : (img*ch+c+1)*h*w]
			o := c*n + j - j0 - tx0 // v offset of tile column 0
			if txA > tx0 {
				winogradInputPadded(v[o+tx0:], stride, src, h, w, r, tx0, txA, pad, pw)
			}
			if txB > txA {
				y := (2*r - 1) * w
				x0, x1 := 2*txA-1, 2*txB+1
				winogradInputRun(v[o+txA:], stride, txB-txA,
					src[y+x0:y+x1], src[y+w+x0:y+w+x1], src[y+2*w+x0:y+2*w+x1], src[y+3*w+x0:y+3*w+x1])
			}
			if tx1 > txB {
				winogradInputPadded(v[o+txB:], stride, src, h, w, r, txB, tx1, pad, pw)
			}
		}
		j += tx1 - tx0
	}
	putScratch(padBuf)
}

// winogradInputPadded transforms tiles [tx0, tx1) of tile row r of one
// h x w plane src, copying their four input rows into pad (four rows of
// pw floats) with zeros wherever the patches reach past the image.
func winogradInputPadded(v []float32, stride int, src []float32, h, w, r, tx0, tx1 int, pad []float32, pw int) {
	// Input columns [ix0, ix1) land at row[off:].
	ix0, ix1 := max(2*tx0-1, 0), min(2*tx1+1, w)
	off := ix0 - (2*tx0 - 1)
	span := 2*(tx1-tx0) + 2
	for dy := 0; dy < 4; dy++ {
		row := pad[dy*pw : dy*pw+span]
		if iy := 2*r - 1 + dy; iy >= 0 && iy < h {
			clear(row[:off])
			copy(row[off:], src[iy*w+ix0:iy*w+ix1])
			clear(row[off+ix1-ix0:])
		} else {
			clear(row)
		}
	}
	winogradInputRun(v, stride, tx1-tx0, pad[:span], pad[pw:pw+span], pad[2*pw:2*pw+span], pad[3*pw:3*pw+span])
}

// winogradInputRun transforms cnt consecutive patches whose four input
// rows are r0..r3 (column 2i of each is patch i's first column) into the
// 16 planes of v. Row q of B^T d is ra + sign*rb for one pair of input
// rows (r0-r2, r1+r2, r2-r1, r1-r3); one loop per row keeps six slices
// live, few enough for the registers.
func winogradInputRun(v []float32, stride, cnt int, r0, r1, r2, r3 []float32) {
	winogradInputRow(v, stride, cnt, r0, r2, -1)
	winogradInputRow(v[4*stride:], stride, cnt, r1, r2, 1)
	winogradInputRow(v[8*stride:], stride, cnt, r2, r1, -1)
	winogradInputRow(v[12*stride:], stride, cnt, r1, r3, -1)
}

// winogradInputRow writes row q of B^T d B, the four planes from v on:
// the row t = ra + sign*rb of B^T d, times B (columns t0-t2, t1+t2,
// t2-t1, t1-t3).
func winogradInputRow(v []float32, stride, cnt int, ra, rb []float32, sign float32) {
	v0 := v[:cnt]
	v1 := v[stride:][:len(v0)]
	v2 := v[2*stride:][:len(v0)]
	v3 := v[3*stride:][:len(v0)]
	for i := range v0 {
		a := ra[2*i : 2*i+4 : 2*i+4]
		b := rb[2*i : 2*i+4 : 2*i+4]
		t0, t1, t2, t3 := a[0]+sign*b[0], a[1]+sign*b[1], a[2]+sign*b[2], a[3]+sign*b[3]
		v0[i] = t0 - t2
		v1[i] = t1 + t2
		v2[i] = t2 - t1
		v3[i] = t1 - t3
	}
}

// winogradOutput turns the GEMM results m (laid out like v, OutC rows per
// k plane) of tiles [j0, j1) and output channels [o0, o1) into 2x2 output
// tiles Y = A^T m A, clipped at odd image edges, adding the bias and
// applying act while each output row segment is in cache.
func winogradOutput(out *tensor.Tensor, m []float32, stride int, c *Conv2D, act Activation, o0, o1, j0, j1, tilesW, perImage int) {
	n := j1 - j0
	oh, ow, oc := out.H, out.W, out.C
	// tmp holds the two rows of A^T m for a run of tiles, four
	// column-position arrays each, and the run's output rows when the last
	// column is clipped.
	run := min(tilesW, n)
	tmpBuf := getScratch(10 * run)
	tmp := *tmpBuf
	for j := j0; j < j1; {
		img, r := j/perImage, (j%perImage)/tilesW
		tx0 := j % tilesW
		tx1 := min(tilesW, tx0+j1-j)
		cnt := tx1 - tx0
		y0 := 2 * r
		x0, x1 := 2*tx0, min(2*tx1, ow)
		twoRows := y0+1 < oh
		for o := o0; o < o1; o++ {
			q := o*n + j - j0
			b := c.bias(o)
			dst := out.Data[(img*oc+o)*oh*ow : (img*oc+o+1)*oh*ow]
			// A^T m: row 0 is m's rows 0+1+2, row 1 is rows 1-2-3, for
			// each of the four columns.
			s := tmp[:8*cnt]
			for col := 0; col < 4; col++ {
				winogradOutputRows(s[col*cnt:(col+1)*cnt], s[(4+col)*cnt:(5+col)*cnt],
					m[q+col*stride:], m[q+(4+col)*stride:], m[q+(8+col)*stride:], m[q+(12+col)*stride:])
			}
			// Times A, plus bias and activation.
			winogradOutputRow(dst[y0*ow+x0:y0*ow+x1], s[:4*cnt], cnt, b, act, tmp[8*run:])
			if twoRows {
				winogradOutputRow(dst[(y0+1)*ow+x0:(y0+1)*ow+x1], s[4*cnt:8*cnt], cnt, b, act, tmp[8*run:])
			}
		}
		j += tx1 - tx0
	}
	putScratch(tmpBuf)
}

// winogradOutputRows sets s = m0+m1+m2 and t = m1-m2-m3 over len(s)
// tiles: one column of the two rows of A^T m.
func winogradOutputRows(s, t, m0, m1, m2, m3 []float32) {
	t = t[:len(s)]
	m0, m1, m2, m3 = m0[:len(s)], m1[:len(s)], m2[:len(s)], m3[:len(s)]
	for i := range s {
		s[i] = m0[i] + m1[i] + m2[i]
		t[i] = m1[i] - m2[i] - m3[i]
	}
}

// winogradOutputRow writes one output row of cnt tiles, dst (2*cnt values,
// or 2*cnt-1 when the last tile is clipped), from the four columns c of
// that row of A^T m: y[2i] = c0+c1+c2, y[2i+1] = c1-c2-c3, plus bias b,
// then act. spare holds 2*cnt values for the clipped case.
func winogradOutputRow(dst, c []float32, cnt int, b float32, act Activation, spare []float32) {
	full := dst
	if len(dst) < 2*cnt {
		full = spare[:2*cnt]
	}
	c0 := c[:cnt]
	c1 := c[cnt:][:len(c0)]
	c2 := c[2*cnt:][:len(c0)]
	c3 := c[3*cnt:][:len(c0)]
	if act == ActReLU {
		for i := range c0 {
			y := full[2*i : 2*i+2 : 2*i+2]
			y[0] = relu32(c0[i] + c1[i] + c2[i] + b)
			y[1] = relu32(c1[i] - c2[i] - c3[i] + b)
		}
	} else {
		for i := range c0 {
			y := full[2*i : 2*i+2 : 2*i+2]
			y[0] = c0[i] + c1[i] + c2[i] + b
			y[1] = c1[i] - c2[i] - c3[i] + b
		}
		applyAct(full, act)
	}
	if len(dst) < 2*cnt {
		copy(dst, full)
	}
}
