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
}

// winogradMaxCols bounds the tiles (GEMM columns) of one block. A block's
// transformed input and GEMM output, 16*cols*(InC+OutC) floats, then stay
// within a core's 2 MiB L2 for the ResNet-18 widths; see BenchmarkWinograd.
var winogradMaxCols = 128

// useWinograd reports whether ForwardAct runs c on x with Winograd
// F(2x2, 3x3) instead of im2col + GEMM: only 3x3, stride-1, pad-1
// ungrouped convolutions qualify, and only where it measured faster.
func useWinograd(c *Conv2D, x *tensor.Tensor) bool {
	if c.Groups != 1 || c.KH != 3 || c.KW != 3 || c.Stride != 1 || c.PadH != 1 || c.PadW != 1 {
		return false
	}
	return c.InC >= 32 && c.OutC >= 32
}

// winogradU returns the transformed weights of c, computing them on first
// use. FoldBatchNorm drops them; a Weight slice replaced by another one is
// noticed by its address. Concurrent Forward calls may both compute the
// transform, each then using a complete one, so a plain atomic swap is
// enough.
func (c *Conv2D) winogradU() []float32 {
	if w := (*winogradWeights)(atomic.LoadPointer(&c.winograd)); w != nil && w.n == len(c.Weight) && w.src == &c.Weight[0] {
		return w.u
	}
	w := &winogradWeights{src: &c.Weight[0], n: len(c.Weight), u: winogradTransformWeights(c.Weight, c.OutC, c.InC)}
	atomic.StorePointer(&c.winograd, unsafe.Pointer(w))
	return w.u
}

// dropWinograd forgets the cached weight transform, for code that changes
// Weight in place.
func (c *Conv2D) dropWinograd() { atomic.StorePointer(&c.winograd, nil) }

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
// img-major then row-major, and cut into column blocks, so late 14x14
// planes of a batch still fill wide GEMMs. Each block is one work item of
// parallelFor: input transform, 16 single-threaded Sgemm calls and output
// transform with bias and activation, all in that goroutine's cache.
func convWinograd(c *Conv2D, x, out *tensor.Tensor, act Activation) {
	u := c.winogradU()
	inC, outC := c.InC, c.OutC
	tilesH, tilesW := ceilDiv(x.H, 2), ceilDiv(x.W, 2)
	perImage := tilesH * tilesW
	total := x.N * perImage
	cols, blocks := winogradTiling(total)
	plane := outC * inC
	parallelFor(blocks, func(_, b int) {
		j0 := b * cols
		j1 := min(j0+cols, total)
		n := j1 - j0
		vBuf := getScratch(16 * inC * n)
		mBuf := getScratch(16 * outC * n)
		v, m := *vBuf, *mBuf
		winogradInput(v, x, j0, j1, tilesW, perImage)
		for k := 0; k < 16; k++ {
			blas.Sgemm(false, false, outC, n, inC, 1, u[k*plane:], inC, v[k*inC*n:], n, 0, m[k*outC*n:], n)
		}
		winogradOutput(out, m, c, act, j0, j1, tilesW, perImage)
		putScratch(vBuf)
		putScratch(mBuf)
	})
}

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

// winogradInput writes V = B^T d B of tiles [j0, j1) of every input
// channel into v, laid out v[k*C*n + ch*n + (j-j0)], n = j1-j0. Tile j is
// image j/perImage, tile row (j%perImage)/tilesW, tile column j%tilesW;
// its patch d is the 4x4 input window whose top-left corner sits at
// (2*row-1, 2*col-1), zero outside the image.
func winogradInput(v []float32, x *tensor.Tensor, j0, j1, tilesW, perImage int) {
	n := j1 - j0
	h, w, ch := x.H, x.W, x.C
	stride := ch * n // distance between the k planes of v
	// pad holds the four input rows of one tile row, zero-padded by one
	// column on the left and up to three on the right, so every patch is
	// read without bounds tests.
	pw := 2*tilesW + 2
	padBuf := getScratch(4 * pw)
	pad := *padBuf
	for j := j0; j < j1; {
		img, r := j/perImage, (j%perImage)/tilesW
		tx0 := j % tilesW
		tx1 := min(tilesW, tx0+j1-j)
		for c := 0; c < ch; c++ {
			src := x.Data[(img*ch+c)*h*w : (img*ch+c+1)*h*w]
			for dy := 0; dy < 4; dy++ {
				row := pad[dy*pw : (dy+1)*pw]
				clear(row)
				if iy := 2*r - 1 + dy; iy >= 0 && iy < h {
					copy(row[1:], src[iy*w:(iy+1)*w])
				}
			}
			r0, r1, r2, r3 := pad[:pw], pad[pw:2*pw], pad[2*pw:3*pw], pad[3*pw:4*pw]
			base := c*n + j - j0 - tx0
			for tx := tx0; tx < tx1; tx++ {
				p := 2 * tx
				// Rows of B^T d, one 4-vector per output row.
				a0, a1, a2, a3 := r0[p]-r2[p], r0[p+1]-r2[p+1], r0[p+2]-r2[p+2], r0[p+3]-r2[p+3]
				b0, b1, b2, b3 := r1[p]+r2[p], r1[p+1]+r2[p+1], r1[p+2]+r2[p+2], r1[p+3]+r2[p+3]
				e0, e1, e2, e3 := r2[p]-r1[p], r2[p+1]-r1[p+1], r2[p+2]-r1[p+2], r2[p+3]-r1[p+3]
				f0, f1, f2, f3 := r1[p]-r3[p], r1[p+1]-r3[p+1], r1[p+2]-r3[p+2], r1[p+3]-r3[p+3]
				o := base + tx
				// Times B: columns combined the same way.
				v[o] = a0 - a2
				v[o+stride] = a1 + a2
				v[o+2*stride] = a2 - a1
				v[o+3*stride] = a1 - a3
				v[o+4*stride] = b0 - b2
				v[o+5*stride] = b1 + b2
				v[o+6*stride] = b2 - b1
				v[o+7*stride] = b1 - b3
				v[o+8*stride] = e0 - e2
				v[o+9*stride] = e1 + e2
				v[o+10*stride] = e2 - e1
				v[o+11*stride] = e1 - e3
				v[o+12*stride] = f0 - f2
				v[o+13*stride] = f1 + f2
				v[o+14*stride] = f2 - f1
				v[o+15*stride] = f1 - f3
			}
		}
		j += tx1 - tx0
	}
	putScratch(padBuf)
}

// winogradOutput turns the GEMM results m (laid out like v, with OutC
// rows) of tiles [j0, j1) into 2x2 output tiles Y = A^T m A, clipped at
// odd image edges, then adds the bias and applies act to each output row
// segment while it is in cache.
func winogradOutput(out *tensor.Tensor, m []float32, c *Conv2D, act Activation, j0, j1, tilesW, perImage int) {
	n := j1 - j0
	oh, ow, oc := out.H, out.W, out.C
	stride := oc * n
	for j := j0; j < j1; {
		img, r := j/perImage, (j%perImage)/tilesW
		tx0 := j % tilesW
		tx1 := min(tilesW, tx0+j1-j)
		y0 := 2 * r
		x0, x1 := 2*tx0, min(2*tx1, ow)
		twoRows := y0+1 < oh
		for o := 0; o < oc; o++ {
			dst := out.Data[(img*oc+o)*oh*ow : (img*oc+o+1)*oh*ow]
			row0 := dst[y0*ow : (y0+1)*ow]
			var row1 []float32
			if twoRows {
				row1 = dst[(y0+1)*ow : (y0+2)*ow]
			}
			base := o*n + j - j0 - tx0
			for tx := tx0; tx < tx1; tx++ {
				q := base + tx
				m0, m1, m2, m3 := m[q], m[q+stride], m[q+2*stride], m[q+3*stride]
				m4, m5, m6, m7 := m[q+4*stride], m[q+5*stride], m[q+6*stride], m[q+7*stride]
				m8, m9, m10, m11 := m[q+8*stride], m[q+9*stride], m[q+10*stride], m[q+11*stride]
				m12, m13, m14, m15 := m[q+12*stride], m[q+13*stride], m[q+14*stride], m[q+15*stride]
				// A^T m: row 0 = m row 0 + 1 + 2, row 1 = m row 1 - 2 - 3.
				s0, s1, s2, s3 := m0+m4+m8, m1+m5+m9, m2+m6+m10, m3+m7+m11
				t0, t1, t2, t3 := m4-m8-m12, m5-m9-m13, m6-m10-m14, m7-m11-m15
				p := 2 * tx
				if p+1 < ow {
					row0[p], row0[p+1] = s0+s1+s2, s1-s2-s3
					if twoRows {
						row1[p], row1[p+1] = t0+t1+t2, t1-t2-t3
					}
				} else {
					row0[p] = s0 + s1 + s2
					if twoRows {
						row1[p] = t0 + t1 + t2
					}
				}
			}
			b := c.bias(o)
			biasAct(row0[x0:x1], b, act)
			if twoRows {
				biasAct(row1[x0:x1], b, act)
			}
		}
		j += tx1 - tx0
	}
}
