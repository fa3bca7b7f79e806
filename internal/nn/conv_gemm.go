package nn

import (
	"github.com/padim-go/padim/internal/blas"
	"github.com/padim-go/padim/internal/tensor"
)

// tileFloats bounds an im2col tile (K rows x tile columns) to 1 MiB, half
// of one core's L2 on the development machine, so that Sgemm's packing
// reads it from cache right after im2col wrote it.
const tileFloats = 1 << 18

// minTileCols keeps tiles wide enough for Sgemm's micro-kernels to run at
// full speed.
const minTileCols = 64

// convTiling decides how many column tiles each output plane of p pixels
// is cut into, given the GEMM depth k and the number of independent planes
// (images x groups). Tiles stay below tileFloats, and there are at least
// Threads() of them in total, in a multiple of Threads() when they are few,
// so no goroutine idles while another finishes a last big tile.
func convTiling(k, p, planes int) (cols, perPlane int) {
	w := Threads()
	cols = max(minTileCols, tileFloats/max(k, 1))
	perPlane = ceilDiv(p, cols)
	if total := planes * perPlane; total < 4*w && total%w != 0 {
		want := ceilDiv(total, w) * w // round total up to a multiple of w
		perPlane = ceilDiv(want, planes)
	}
	cols = ceilDiv(p, perPlane)
	if cols > 16 {
		cols = ceilDiv(cols, 16) * 16 // whole SIMD panels
	}
	return cols, ceilDiv(p, cols)
}

// convGemm runs a (possibly grouped) convolution as one GEMM per image,
// group and column tile: out[g] (OutC/G x tile) = W[g] (OutC/G x K) times
// im2col(x[g]) (K x tile), K = InC/G*KH*KW.
func convGemm(c *Conv2D, x, out *tensor.Tensor, act Activation) {
	icg, ocg := c.InC/c.Groups, c.OutC/c.Groups
	k := icg * c.KH * c.KW
	p := out.H * out.W
	inPlane := x.H * x.W
	pointwise := c.KH == 1 && c.KW == 1 && c.Stride == 1 && c.PadH == 0 && c.PadW == 0
	planes := x.N * c.Groups
	cols, perPlane := convTiling(k, p, planes)
	parallelFor(planes*perPlane, func(_, t int) {
		plane, tile := t/perPlane, t%perPlane
		img, g := plane/c.Groups, plane%c.Groups
		j0 := tile * cols
		j1 := min(j0+cols, p)
		n := j1 - j0
		in := x.Data[(img*c.InC+g*icg)*inPlane : (img*c.InC+(g+1)*icg)*inPlane]
		dst := out.Data[(img*c.OutC+g*ocg)*p:]
		w := c.Weight[g*ocg*k : (g+1)*ocg*k]
		if pointwise {
			blas.Sgemm(false, false, ocg, n, k, 1, w, k, in[j0:], inPlane, 0, dst[j0:], p)
		} else {
			buf := getScratch(k * n)
			im2colTile(*buf, in, x.H, x.W, c, out.W, j0, j1)
			blas.Sgemm(false, false, ocg, n, k, 1, w, k, *buf, n, 0, dst[j0:], p)
			putScratch(buf)
		}
		for o := 0; o < ocg; o++ {
			biasAct(dst[o*p+j0:o*p+j1], c.bias(g*ocg+o), act)
		}
	})
}

// im2colTile writes the K x (j1-j0) column matrix of output pixels
// [j0, j1) (flattened oy*ow+ox) of one group: row (ic, ky, kx) holds, for
// each of those pixels, the input value under that kernel tap, or 0 where
// the tap falls in the padding. in holds the group's input planes, h x w.
func im2colTile(dst, in []float32, h, w int, c *Conv2D, ow, j0, j1 int) {
	n := j1 - j0
	s := c.Stride
	icg := c.InC / c.Groups
	r := 0
	for ic := 0; ic < icg; ic++ {
		plane := in[ic*h*w : (ic+1)*h*w]
		for ky := 0; ky < c.KH; ky++ {
			for kx := 0; kx < c.KW; kx++ {
				row := dst[r*n : (r+1)*n]
				r++
				// Output columns whose tap ox*s-PadW+kx lands inside [0, w).
				oxLo := max(0, ceilDiv(c.PadW-kx, s))
				oxHi := min(ow, floorDiv(w-1+c.PadW-kx, s)+1)
				for j := j0; j < j1; {
					oy, ox0 := j/ow, j%ow
					ox1 := min(ow, ox0+j1-j)
					seg := row[j-j0 : j-j0+ox1-ox0]
					j += ox1 - ox0
					iy := oy*s - c.PadH + ky
					if iy < 0 || iy >= h {
						clear(seg)
						continue
					}
					lo := min(max(oxLo, ox0), ox1)
					hi := min(max(oxHi, lo), ox1)
					clear(seg[:lo-ox0])
					clear(seg[hi-ox0:])
					d := seg[lo-ox0 : hi-ox0]
					src := plane[iy*w : (iy+1)*w]
					ix := lo*s - c.PadW + kx
					if s == 1 {
						copy(d, src[ix:])
						continue
					}
					for i := range d {
						d[i] = src[ix]
						ix += s
					}
				}
			}
		}
	}
}

// ceilDiv is a/b rounded towards +infinity, for b > 0 and any sign of a.
func ceilDiv(a, b int) int { return -floorDiv(-a, b) }

// floorDiv is a/b rounded towards -infinity, for b > 0 and any sign of a.
func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
