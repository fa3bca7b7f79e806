package nn

import (
	"runtime"
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
// transformed input and GEMM output take 16*cols*(InC+OutC) floats. Blocks
// come in whole 48-tile panels of the packed kernels (winogradTiling): a
// block of 112 tiles left a 16-wide panel holding a seventh of its
// columns, and the 16-wide kernel does a third of the 48-wide one's work
// per step for much more than a third of its time. The packed GEMMs ran
// at 143-158 GFLOP/s on blocks of 48, 96 and 144 tiles up to 256 channels
// (one goroutine), and two panels per block share the tiles of a 56x56
// plane evenly between two goroutines (9 blocks, 8 of 96 tiles), where
// three panels left one goroutine a fifth less work (6 blocks, the last
// of 64). It is a variable so the benchmark can sweep it.
var winogradMaxCols = 2 * packedNR

// winogradMinCols is the fewest tiles per goroutine for which
// convWinograd cuts the tiles into blocks rather than splitting one block
// by channels.
const winogradMinCols = 64

// useWinograd reports whether ForwardAct runs c on x with Winograd
// F(2x2, 3x3) instead of a direct GEMM: only 3x3, stride-1, pad-1
// ungrouped convolutions qualify, and only those with enough input and
// output channels for the 16 GEMMs of depth InC to outweigh the
// transforms.
//
// With the AVX-512 transforms and packed GEMM kernels, from 64 channels:
// BenchmarkWinograd (one goroutine, bias + ReLU, time per convolution)
// put Winograd ahead of the packed kernel on every 3x3 stride-1 backbone
// shape: 1.3-1.6x at 64 and 128 channels on 56x56 and 28x28, 1.2-1.6x at
// 256 and 512 on 14x14 at batch 8, and 1.0-1.2x at batch 1, where 14x14
// gives only 49 tiles.
//
// Without them (scalar Go transforms, OpenBLAS GEMMs), from 256 channels:
// BenchmarkWinograd, im2col vs Winograd, 2 goroutines, measured under
// load, found Winograd ahead at 512 channels on 14x14 at batch 8 (4 of 4
// runs), level at 256-512 channels at batch 1, and no steady verdict at
// 64-128 channels, where the scalar transforms, 20-30 ns per tile and
// channel, cost about as much as the GEMM itself.
func useWinograd(c *Conv2D) bool {
	if c.Groups != 1 || c.KH != 3 || c.KW != 3 || c.Stride != 1 || c.PadH != 1 || c.PadW != 1 {
		return false
	}
	least := winogradMinChannels
	if winograd512 && usePacked(c) {
		least = winogradMinChannels512
	}
	return c.InC >= least && c.OutC >= least
}

// winogradMinChannels and winogradMinChannels512 are the narrowest
// convolutions useWinograd accepts without and with the AVX-512 kernels.
const (
	winogradMinChannels    = 256
	winogradMinChannels512 = 64
)

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
	atomic.StorePointer(&c.winograd4, nil)
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
// runWinograd schedules the blocks of tiles on the goroutines.
func convWinograd(c *Conv2D, x, out *tensor.Tensor, act Activation) {
	convWinogradResidual(c, x, out, act, nil)
}

// convWinogradResidual is convWinograd, then, when res is not nil,
// out = ReLU(out + res) (act must then be ActNone), applied to each run of
// output rows right after its output transform writes it.
func convWinogradResidual(c *Conv2D, x, out *tensor.Tensor, act Activation, res *tensor.Tensor) {
	ww := c.winogradU()
	u := ww.u
	inC, outC := c.InC, c.OutC
	tilesH, tilesW := ceilDiv(x.H, 2), ceilDiv(x.W, 2)
	perImage := tilesH * tilesW
	total := x.N * perImage
	plane := outC * inC
	gemm := func(v, m []float32, vStride, mStride, o0, o1, n int) {
		if ww.packed[0] != nil {
			winogradPackedGemm(ww.packed[:], inC, outC, v, m, vStride, mStride, o0, o1, n)
			return
		}
		for k := 0; k < 16; k++ {
			blas.Sgemm(false, false, o1-o0, n, inC, 1, u[k*plane+o0*inC:], inC, v[k*vStride:], n, 0, m[k*mStride+o0*n:], n)
		}
	}
	// Rows of zeros above and below the image, for the input transform.
	zBuf := getScratch(2*tilesW + 2)
	defer putScratch(zBuf)
	zeros := *zBuf
	clear(zeros)
	align := 1
	if ww.packed[0] != nil {
		align = packedMR
	}
	runWinograd(winogradRun{
		planes: 16, inC: inC, outC: outC, total: total, maxCols: winogradMaxCols, align: align,
		input: func(v []float32, stride, c0, c1, j0, j1 int) {
			winogradInput(v, stride, x, zeros, c0, c1, j0, j1, tilesW, perImage)
		},
		gemm: gemm,
		output: func(m []float32, stride, o0, o1, j0, j1 int) {
			winogradOutput(out, res, m, stride, c, act, o0, o1, j0, j1, tilesW, perImage)
		},
	})
}

// winogradRun is one Winograd convolution as runWinograd schedules it:
// planes transformed planes, total tiles numbered across the batch, and
// the three steps on a range of input channels, output channels and
// tiles. v and m hold the transformed input and the GEMM results, plane
// k at k*stride, channel rows of n = j1-j0 tiles.
type winogradRun struct {
	planes, inC, outC, total int
	maxCols                  int // tiles per block at most (winogradTiling)
	align                    int // output channels split in multiples of this
	input                    func(v []float32, stride, c0, c1, j0, j1 int)
	gemm                     func(v, m []float32, vStride, mStride, o0, o1, n int)
	output                   func(m []float32, stride, o0, o1, j0, j1 int)
}

// runWinograd runs r on Threads() goroutines. With enough tiles, they are
// cut into column blocks (winogradTiling), each one work item of
// parallelFor: input transform, single-threaded GEMMs and output transform,
// all in that goroutine's cache. With fewer than winogradMinCols tiles per
// goroutine (one 14x14 image: 49 tiles of 2x2), cutting the columns would
// leave GEMMs too narrow, so instead all tiles form one block whose input
// transform is split by input channel and whose GEMMs and output
// transform are split by output channel.
func runWinograd(r winogradRun) {
	if w := Threads(); w > 1 && r.total < winogradMinCols*w {
		vStride, mStride := winogradPlaneStride(r.inC*r.total), winogradPlaneStride(r.outC*r.total)
		vBuf, mBuf := getScratch(r.planes*vStride), getScratch(r.planes*mStride)
		v, m := *vBuf, *mBuf
		inChunk := ceilDiv(r.inC, w)
		outChunk := ceilDiv(ceilDiv(r.outC, w), r.align) * r.align
		parallelFor(w, func(_, i int) {
			r.input(v, vStride, i*inChunk, min((i+1)*inChunk, r.inC), 0, r.total)
		})
		parallelFor(w, func(_, i int) {
			o0, o1 := i*outChunk, min((i+1)*outChunk, r.outC)
			if o0 < o1 {
				r.gemm(v, m, vStride, mStride, o0, o1, r.total)
				r.output(m, mStride, o0, o1, 0, r.total)
			}
		})
		putScratch(vBuf)
		putScratch(mBuf)
		return
	}
	cols, blocks := winogradTiling(r.total, r.maxCols)
	parallelFor(blocks, func(_, b int) {
		j0 := b * cols
		j1 := min(j0+cols, r.total)
		n := j1 - j0
		vStride, mStride := winogradPlaneStride(r.inC*n), winogradPlaneStride(r.outC*n)
		vBuf, mBuf := getScratch(r.planes*vStride), getScratch(r.planes*mStride)
		v, m := *vBuf, *mBuf
		r.input(v, vStride, 0, r.inC, j0, j1)
		r.gemm(v, m, vStride, mStride, 0, r.outC, n)
		r.output(m, mStride, 0, r.outC, j0, j1)
		putScratch(vBuf)
		putScratch(mBuf)
	})
}

// winogradPackedGemm is the GEMMs of convWinograd (16) or convWinograd4
// (36) on the packed kernels: for each plane k of packed, rows [o0, o1)
// of M_k (OutC x n) = U_k V_k, V_k the InC x n transformed input at
// v[k*vStride:].
func winogradPackedGemm(packed [][]float32, inC, outC int, v, m []float32, vStride, mStride, o0, o1, n int) {
	offs := make([]int32, inC) // row ic of V_k starts ic*n floats in
	for ic := range offs {
		offs[ic] = int32(ic * n)
	}
	for k, a := range packed {
		vk, mk := v[k*vStride:], m[k*mStride:]
		for k0 := 0; k0 < inC; k0 += packedKC {
			kl := min(packedKC, inC-k0)
			flags := 0
			if k0 > 0 {
				flags = kernelLoad
			}
			packedRows(kl, a[k0*outC:], o0/packedMR, o1/packedMR, vk, &offs[k0], mk, n, n, flags, nil)
		}
	}
}

// winogradPlaneStride is the distance, in floats, between consecutive k
// planes of s floats in the transform buffers. The transforms read or
// write all 16 planes at once; planes a multiple of 4 KiB apart would all
// map to the same L1 sets and evict each other (12-way L1), so each plane
// starts one cache line further along the 4 KiB page than the previous.
func winogradPlaneStride(s int) int { return ceilDiv(s, 1024)*1024 + 16 }

// winogradTiling cuts total tiles into blocks of at most maxCols, whole
// packedNR-tile panels each but the last, at least Threads() of them and
// a multiple of Threads() when they are few, so that no goroutine idles
// while another finishes a last block.
func winogradTiling(total, maxCols int) (cols, blocks int) {
	w := Threads()
	panels := ceilDiv(total, packedNR)
	perBlock := max(1, maxCols/packedNR)
	blocks = ceilDiv(panels, perBlock)
	if blocks < 4*w && blocks%w != 0 {
		blocks = ceilDiv(blocks, w) * w
	}
	blocks = min(blocks, panels)
	cols = ceilDiv(panels, blocks) * packedNR
	return cols, ceilDiv(total, cols)
}

// winogradRows describes, for the AVX-512 input transform, the four input
// rows of a run of tiles in the first channel it transforms: for each
// row, where it starts (the image column of the run's first tile, or
// column 0 when that lies left of the image) and the bytes from it to the
// same row of the next channel; a row above or below the image points at
// zeros and steps 0. lead is 1 when the run starts left of the image. The
// kernel advances the pointers channel by channel, and reads columns past
// the image as zero through its lane masks.
type winogradRows struct {
	row  [4]winogradRow
	lead int
}

// winogradRow is one input row of a run for the input kernels: the
// address of its first float and the bytes to the same row of the next
// channel. The address is a uintptr, not a pointer: the kernels advance it
// channel by channel, past the end of the tensor after the last channel,
// and a pointer field holding that value is a bad pointer to the garbage
// collector (the write barrier of the next store into the field reported
// it). The caller keeps the tensor and the zeros alive (runtime.KeepAlive)
// until the kernel returns; both live in the heap, which does not move.
type winogradRow struct {
	p    uintptr
	step int
}

// setWinogradRows points rows[q] at image row y0+q of channel ch0 of
// image img of x, from column max(x0, 0), or at zeros (step 0) when that
// row lies above or below the image, and returns lead: 1 when x0 < 0. The
// run's floats [lo, hi) from column x0 lie inside the image; chans
// channels are read.
func setWinogradRows(rows []winogradRow, x *tensor.Tensor, zeros []float32, img, ch0, chans, y0, x0, lo, hi int) (lead int) {
	h, w, plane := x.H, x.W, x.H*x.W
	first := (img*x.C + ch0) * plane
	for q := range rows {
		rows[q] = winogradRow{p: uintptr(unsafe.Pointer(&zeros[0]))}
		if y := y0 + q; y >= 0 && y < h {
			start := first + y*w + max(x0, 0)
			// The last channel's row holds every float the masks let
			// through.
			_ = x.Data[start+(chans-1)*plane+hi-lo-1]
			rows[q] = winogradRow{p: uintptr(unsafe.Pointer(&x.Data[start])), step: 4 * plane}
		}
	}
	if x0 < 0 {
		return 1
	}
	return 0
}

// winogradInput writes V = B^T d B of tiles [j0, j1) of input channels
// [c0, c1) of x into v, laid out v[k*stride + ch*n + (j-j0)], n = j1-j0.
// Tile j is image j/perImage, tile row (j%perImage)/tilesW, tile column
// j%tilesW; its patch d is the 4x4 input window whose top-left corner sits
// at (2*row-1, 2*col-1), zero outside the image. zeros holds at least
// 2*tilesW+2 zeros, the rows above and below the image.
func winogradInput(v []float32, stride int, x *tensor.Tensor, zeros []float32, c0, c1, j0, j1, tilesW, perImage int) {
	if c0 >= c1 {
		return
	}
	n := j1 - j0
	h, w, plane := x.H, x.W, x.H*x.W
	// Five lane masks per group of 16 tiles; a row of up to 128 tiles
	// (a 256-pixel-wide image) keeps them on the stack.
	var maskBuf [5 * 8]uint16
	masks := maskBuf[:0]
	var pad []float32 // the pure-Go path's four zero-padded rows
	if !winograd512 {
		padBuf := getScratch(4 * (2*tilesW + 2))
		defer putScratch(padBuf)
		pad = *padBuf
	}
	for j := j0; j < j1; {
		img, r := j/perImage, (j%perImage)/tilesW
		tx0 := j % tilesW
		cnt := min(tilesW, tx0+j1-j) - tx0
		vr := v[c0*n+j-j0:]
		// Run floats [lo, hi) from the column left of the first tile
		// (image column x0) lie inside the image.
		x0 := 2*tx0 - 1
		lo, hi := max(0, -x0), min(w-x0, 2*cnt+2)
		first := (img*x.C + c0) * plane // channel c0 of the image
		if !winograd512 {
			span := 2*cnt + 2
			for ch := c0; ch < c1; ch++ {
				for q := 0; q < 4; q++ {
					row := pad[q*span : (q+1)*span]
					clear(row)
					if y := 2*r - 1 + q; y >= 0 && y < h {
						base := first + (ch-c0)*plane + y*w + x0
						copy(row[lo:hi], x.Data[base+lo:base+hi])
					}
				}
				winogradInputRun(vr[(ch-c0)*n:], stride, cnt, pad[:span], pad[span:2*span], pad[2*span:3*span], pad[3*span:4*span])
			}
			j += cnt
			continue
		}
		var rows winogradRows
		rows.lead = setWinogradRows(rows.row[:], x, zeros, img, c0, c1-c0, 2*r-1, x0, lo, hi)
		_, _ = zeros[2*cnt+1], vr[(c1-c0-1)*n+15*stride+cnt-1]
		lanes := func(o int) uint16 { return laneMask(o, lo, hi) }
		groups := ceilDiv(cnt, 16)
		masks = masks[:0]
		for g := 0; g < groups; g++ {
			st := uint16(1<<min(16, cnt-16*g) - 1)
			masks = append(masks, lanes(32*g), lanes(32*g+16), lanes(32*g+2), lanes(32*g+18), st)
		}
		winogradInput16(&vr[0], stride, n, &rows, &masks[0], groups, c1-c0)
		runtime.KeepAlive(x)
		runtime.KeepAlive(zeros)
		j += cnt
	}
}

// winogradOutputTiles writes, on the AVX-512 kernel, the output rows of
// cnt tiles in len(bias) channels from the GEMM results m (16 planes
// stride apart; channel ch's tile i at [ch*mRow+i]). Channel ch's top row
// starts at dst[ch*plane+off] and holds width floats, 2*cnt, or 2*cnt-1
// when the last tile is clipped by the image's odd width; its bottom row
// starts below floats further on, below < 0 when the tiles' bottom row
// lies below the image. It adds bias[ch], then, when res is not nil, the
// residual at the same places in res, and applies ReLU when relu is set.
// One call covers all the channels, so the Go-to-assembly call and its
// checks are paid once per run of tiles rather than once per channel.
func winogradOutputTiles(dst, res []float32, off, below, width, plane int, m []float32, stride, mRow, cnt int, bias []float32, relu bool) {
	chans := len(bias)
	if cnt <= 0 || chans == 0 {
		return
	}
	if width != 2*cnt && width != 2*cnt-1 || off < 0 || plane < 0 || mRow < 0 {
		panic("nn: winogradOutputTiles: rows do not match the tiles")
	}
	// The last channel's bottom (or only) row ends past every other float
	// the kernel touches.
	end := (chans-1)*plane + off + max(below, 0) + width
	_ = dst[end-1]
	if res != nil {
		_ = res[end-1]
	}
	_ = m[(chans-1)*mRow+15*stride+cnt-1]
	// Whole groups store 32 floats per row unmasked: a clipped last tile
	// moves its group into the masked tail.
	groups := cnt / 16
	if width < 2*cnt {
		groups = (cnt - 1) / 16
	}
	var ld, lo, hi int
	if c := cnt - 16*groups; c > 0 {
		w := width - 32*groups
		ld, lo, hi = 1<<c-1, 1<<min(w, 16)-1, 1<<max(w-16, 0)-1
	}
	var y1, r0, r1 *float32
	if below >= 0 {
		y1 = &dst[off+below]
	}
	if res != nil {
		r0 = &res[off]
		if below >= 0 {
			r1 = &res[off+below]
		}
	}
	r := 0
	if relu {
		r = 1
	}
	winogradOutput16(&dst[off], y1, &m[0], stride, groups, &bias[0], r, ld, lo, hi, r0, r1, chans, 4*plane, 4*mRow)
}

// laneMask is the load mask of the 16 floats o..o+15 of a run whose
// floats [lo, hi) lie inside the image: bit l is set when float o+l is.
func laneMask(o, lo, hi int) uint16 {
	var m uint16
	for l := 0; l < 16; l++ {
		if f := o + l; f >= lo && f < hi {
			m |= 1 << l
		}
	}
	return m
}

// biasRange returns the biases of output channels [o0, o1), zeros when c
// has none, and the function that returns their buffer to the pool.
func (c *Conv2D) biasRange(o0, o1 int) ([]float32, func()) {
	if c.Bias != nil {
		return c.Bias[o0:o1], func() {}
	}
	zb := getScratch(o1 - o0)
	clear(*zb)
	return *zb, func() { putScratch(zb) }
}

// winogradInputRun transforms cnt consecutive patches whose four input
// rows are r0..r3 (column 2i of each is patch i's first column) into the
// 16 planes of v, in Go. Row q of B^T d is ra + sign*rb for one pair of
// input rows (r0-r2, r1+r2, r2-r1, r1-r3); one loop per row keeps six
// slices live, few enough for the registers.
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
func winogradOutput(out, res *tensor.Tensor, m []float32, stride int, c *Conv2D, act Activation, o0, o1, j0, j1, tilesW, perImage int) {
	if o0 >= o1 {
		return
	}
	n := j1 - j0
	oh, ow, oc := out.H, out.W, out.C
	plane := oh * ow
	if winograd512 {
		bias, release := c.biasRange(o0, o1)
		defer release()
		relu := act == ActReLU || res != nil
		for j := j0; j < j1; {
			img, r := j/perImage, (j%perImage)/tilesW
			tx0 := j % tilesW
			tx1 := min(tilesW, tx0+j1-j)
			y0, x0, x1 := 2*r, 2*tx0, min(2*tx1, ow)
			below := -1
			if y0+1 < oh {
				below = ow
			}
			first := (img*oc + o0) * plane
			var rd []float32
			if res != nil {
				rd = res.Data[first:]
			}
			winogradOutputTiles(out.Data[first:], rd, y0*ow+x0, below, x1-x0, plane, m[o0*n+j-j0:], stride, n, tx1-tx0, bias, relu)
			if act != ActNone && act != ActReLU {
				for o := o0; o < o1; o++ {
					dst := out.Data[(img*oc+o)*plane : (img*oc+o+1)*plane]
					applyAct(dst[y0*ow+x0:y0*ow+x1], act)
					if below >= 0 {
						applyAct(dst[(y0+1)*ow+x0:(y0+1)*ow+x1], act)
					}
				}
			}
			j += tx1 - tx0
		}
		return
	}
	tmpBuf := getScratch(10 * min(tilesW, n)) // winogradOutputRun's tmp
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
			dst := out.Data[(img*oc+o)*plane : (img*oc+o+1)*plane]
			top := dst[y0*ow+x0 : y0*ow+x1]
			var bottom []float32
			if twoRows {
				bottom = dst[(y0+1)*ow+x0 : (y0+1)*ow+x1]
			}
			var resTop, resBottom []float32
			if res != nil {
				rp := res.Data[(img*oc+o)*plane : (img*oc+o+1)*plane]
				resTop = rp[y0*ow+x0 : y0*ow+x1]
				if bottom != nil {
					resBottom = rp[(y0+1)*ow+x0 : (y0+1)*ow+x1]
				}
			}
			winogradOutputRun(top, bottom, m[o*n+j-j0:], stride, cnt, c.bias(o), act, resTop, resBottom, tmp)
		}
		j += tx1 - tx0
	}
	putScratch(tmpBuf)
}

// winogradOutputRun writes, in Go, the output rows top and bottom (nil
// when the tiles' bottom row lies below the image) of cnt tiles from the
// GEMM results m (16 planes stride apart, tile i at [i]), adding b and
// applying act: top holds 2*cnt floats, or 2*cnt-1 when the last tile is
// clipped by an odd image width, and so does bottom. With residual rows
// resTop and resBottom (act then ActNone), it adds them after b and
// applies ReLU, the end of a ResNet block. tmp holds 10*cnt floats: the
// two rows of A^T m, four column arrays each, and a clipped row. It
// computes every value with the additions of winogradOutputTiles, in the
// same order.
func winogradOutputRun(top, bottom, m []float32, stride, cnt int, b float32, act Activation, resTop, resBottom []float32, tmp []float32) {
	// A^T m: row 0 is m's rows 0+1+2, row 1 is rows 1-2-3, for each of the
	// four columns.
	s := tmp[:8*cnt]
	for col := 0; col < 4; col++ {
		winogradOutputRows(s[col*cnt:(col+1)*cnt], s[(4+col)*cnt:(5+col)*cnt],
			m[col*stride:], m[(4+col)*stride:], m[(8+col)*stride:], m[(12+col)*stride:])
	}
	// Times A, plus bias and activation.
	winogradOutputRow(top, s[:4*cnt], cnt, b, act, tmp[8*cnt:])
	if bottom != nil {
		winogradOutputRow(bottom, s[4*cnt:8*cnt], cnt, b, act, tmp[8*cnt:])
	}
	if resTop != nil {
		addReLURows(top, resTop)
		if bottom != nil {
			addReLURows(bottom, resBottom)
		}
	}
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
