package nn

import (
	"math"
	"sync/atomic"
	"unsafe"

	"github.com/padim-go/padim/internal/tensor"
)

// The packed convolution: out (OutC x pixels) = W (OutC x K) times the
// virtual im2col matrix (K x pixels), K = InC*KH*KW, computed by this
// package's own AVX-512 micro-kernels (gemm_amd64.s) without building the
// im2col matrix at all.
//
// Why not OpenBLAS: each tile's Sgemm call re-packs the weight matrix into
// OpenBLAS's internal layout, for a tile of a few hundred pixels, and the
// im2col copy multiplies the input by KH*KW in memory. Here the weights are
// packed once per Conv2D, in the order the micro-kernel reads them, and
// the input is copied once, zero-padded and split into stride phases, so
// that every row of the im2col matrix is a contiguous run of that copy.
//
// The trick. Split the padded input into s*s phase planes (s the stride),
// phase (py, px) holding padded pixels (r*s+py, c*s+px) as an Hph x Wph
// plane. Output pixel (oy, ox) under tap (ky, kx) reads padded pixel
// (oy*s+ky, ox*s+kx), which is pixel (oy+ky/s, ox+kx/s) of phase
// (ky%s, kx%s). Number the outputs on a grid Wph wide, g = oy*Wph + ox:
// then the tap reads element g + off(ic, ky, kx) of the phased copy, with
// off(ic, ky, kx) = plane offset of (ic, phase) + (ky/s)*Wph + kx/s, the
// same for every pixel. Row k of the im2col matrix is the phased copy
// shifted by off(k), and the micro-kernel takes the KH*KW*InC offsets as a
// table. The grid columns ox >= OW (Wph - OW of them, 1 or 2 for the
// backbones' 3x3 convolutions) are computed and dropped.
//
// Layout of the packed weights. The depth K is cut into blocks of
// packedKC rows. For depth block [k0, k0+kl) and channel block [8*mb,
// 8*mb+8), the kl x 8 panel a[k*8+r] = W[8*mb+r][k0+k] sits at offset
// k0*OutC + mb*8*kl.

// Flags of the micro-kernels: accumulate onto C, add a bias per row,
// apply ReLU. Bias and ReLU are applied on the last depth block, so the
// output is finished while it is still in registers.
const (
	kernelLoad = 1 << iota
	kernelBias
	kernelReLU
)

const (
	packedMR = 8  // output channels per micro-tile
	packedNR = 48 // pixels per full panel (three 16-lane vectors)
	packedKC = 96 // depth rows per block (see below)
)

// packedKC: one depth block of a 48-pixel B panel is 18 KB at 96 rows, so
// the panel and the A panels it meets share the 48 KB L1. Blocks of
// 64/96/128/256 rows were timed on the ResNet layers (alternating
// binaries, best of 3-10 rounds on the 2-core VM): 96 was 5-15% faster
// than 256 on the stride-2 layers, whose rows spread over four phase
// planes, and level with or faster than 256 on the stride-1 and Winograd
// ones, within the host's noise.

// packedTileFloats is the size of one tile's output (channels x pixels)
// that packedTiling aims for: 1 MB, half of one core's L2.
const packedTileFloats = 1 << 18

// usePacked reports whether convPacked can run c: the AVX-512 kernels
// exist, the convolution is ungrouped and its output channels fill whole
// micro-tiles (every convolution of the three backbones does except the
// squeeze-and-excitation ones, which run on 1x1 maps).
func usePacked(c *Conv2D) bool {
	return packedEnabled && c.Groups == 1 && c.OutC%packedMR == 0
}

// packedWeights is the cached packed form of a Conv2D's Weight.
type packedWeights struct {
	src *float32 // &Weight[0] when packed, to notice a replaced slice
	n   int
	a   []float32
}

// packedA returns c's weights in the micro-kernel layout, packing them on
// first use; see winogradU for the caching rules.
func (c *Conv2D) packedA() []float32 {
	if w := (*packedWeights)(atomic.LoadPointer(&c.packed)); w != nil && w.n == len(c.Weight) && w.src == &c.Weight[0] {
		return w.a
	}
	k := c.InC * c.KH * c.KW
	w := &packedWeights{src: &c.Weight[0], n: len(c.Weight), a: packWeights(c.Weight, c.OutC, k)}
	atomic.StorePointer(&c.packed, unsafe.Pointer(w))
	return w.a
}

// packWeights lays out w (m x k, row-major, m a multiple of packedMR) in
// depth blocks of packedKC and channel blocks of packedMR.
func packWeights(w []float32, m, k int) []float32 {
	dst := make([]float32, m*k)
	for k0 := 0; k0 < k; k0 += packedKC {
		kl := min(packedKC, k-k0)
		for mb := 0; mb < m/packedMR; mb++ {
			panel := dst[k0*m+mb*packedMR*kl : k0*m+(mb+1)*packedMR*kl]
			for r := 0; r < packedMR; r++ {
				row := w[(mb*packedMR+r)*k+k0 : (mb*packedMR+r)*k+k0+kl]
				for kk, v := range row {
					panel[kk*packedMR+r] = v
				}
			}
		}
	}
	return dst
}

// packedRows runs the micro-kernels for channel blocks [mb0, mb1) of one
// depth block of kl rows over n pixels: for each block, panels of packedNR
// pixels, the last one narrower (16, 32 or 48 wide, its last vector
// masked to the pixels that exist); a last panel of at most
// packedNarrowMax pixels goes to the narrow kernels instead, several
// channel blocks at a time. The packed A panel of block mb is a[mb*8*kl:]
// (packWeights' layout within the depth block); pixel j of depth row k of
// B is b[offs[k]+j]; pixel j of output channel o (counted from channel
// block 0) is c[o*ldc+j]; bias, when not nil, holds a bias per channel.
func packedRows(kl int, a []float32, mb0, mb1 int, b []float32, offs *int32, c []float32, ldc, n, flags int, bias []float32) {
	wide := n
	if tail := n % packedNR; tail > 0 && tail <= packedNarrowMax {
		wide -= tail
	}
	for q := 0; q < wide; q += packedNR {
		nq := min(packedNR, wide-q)
		width := panelWidth(nq)
		mask := 1<<(nq-(width-16)) - 1
		for mb := mb0; mb < mb1; mb++ {
			var bp *float32
			if bias != nil {
				bp = &bias[mb*packedMR]
			}
			packedKernel(width, kl, &a[mb*packedMR*kl], &b[q], offs, &c[mb*packedMR*ldc+q], ldc, mask, flags, bp)
		}
	}
	if wide < n {
		packedNarrow(kl, a, mb0, mb1, b[wide:], offs, c[wide:], ldc, n-wide, flags, bias)
	}
}

// packedNarrowMax is the widest last panel packedNarrow takes: at 8
// pixels its kernels do the 8x16 kernel's useful work with the same loads
// per channel block and half-width FMAs; below, fewer of both.
const packedNarrowMax = 8

// packedNarrow runs the last n <= packedNarrowMax pixels of channel blocks
// [mb0, mb1) (arguments as packedRows') on the narrow kernels, several
// blocks per call, then finishes the outputs as the wide kernels do in
// registers: plus C (kernelLoad), plus the bias, then ReLU.
func packedNarrow(kl int, a []float32, mb0, mb1 int, b []float32, offs *int32, c []float32, ldc, n, flags int, bias []float32) {
	var t [8 * 4 * packedNarrowMax]float32
	ps := packedMR * kl // floats between consecutive channel blocks' panels
	for mb := mb0; mb < mb1; {
		panels := narrowPanels(n)
		if mb1-mb < panels {
			panels = 1
		}
		narrowKernel(panels, n, kl, &a[mb*ps], ps, &b[0], offs, &t[0])
		// Output channel o of the call is t's lane o%8 of pixels
		// (o/8)*n .. (o/8)*n+n-1: a stride of 8 from t[8*(o/8)*n + o%8].
		for oc := 0; oc < panels*packedMR; oc++ {
			o := mb*packedMR + oc
			row := c[o*ldc : o*ldc+n]
			src := t[8*(oc/packedMR)*n+oc%packedMR:]
			switch flags {
			case 0:
				for j := range row {
					row[j] = src[8*j]
				}
			case kernelLoad:
				for j := range row {
					row[j] += src[8*j]
				}
			default:
				for j := range row {
					v := src[8*j]
					if flags&kernelLoad != 0 {
						v = row[j] + v
					}
					if flags&kernelBias != 0 {
						v += bias[o]
					}
					if flags&kernelReLU != 0 {
						v = relu32(v)
					}
					row[j] = v
				}
			}
		}
		mb += panels
	}
}

// panelWidth is the packed width of a panel of n pixels: n rounded up to
// whole 16-lane vectors.
func panelWidth(n int) int { return ceilDiv(n, 16) * 16 }

// packedGeometry is the phased-copy layout of one convolution on one
// input size.
type packedGeometry struct {
	direct   bool // 1x1, stride 1, no padding: the input is its own phased copy
	npy, npx int  // phases in use: min(s, KH) x min(s, KW) (a 1x1 stride-2 kernel reads one)
	hph, wph int  // phase plane size
	plane    int  // floats per input channel in the copy: npy*npx*hph*wph
	slack    int  // floats after the last plane that grid columns may read
	offs     []int32
	// Columns [colLo[px], colHi[px]) of every row of phase column px hold
	// input pixels; the rest is padding (not set when direct).
	colLo, colHi []int
}

func newPackedGeometry(c *Conv2D, h, w int) packedGeometry {
	s := c.Stride
	g := packedGeometry{direct: c.KH == 1 && c.KW == 1 && s == 1 && c.PadH == 0 && c.PadW == 0}
	if g.direct {
		g.npy, g.npx, g.hph, g.wph, g.plane = 1, 1, h, w, h*w
	} else {
		g.npy, g.npx = min(s, c.KH), min(s, c.KW)
		g.hph, g.wph = ceilDiv(h+2*c.PadH, s), ceilDiv(w+2*c.PadW, s)
		g.plane = g.npy * g.npx * g.hph * g.wph
		// The dropped grid columns of the last output row reach up to
		// (KW-1)/s + Wph - OW past the last plane's valid rows, and a
		// masked panel reads at most 47 pixels past the grid's end.
		g.slack = g.wph + packedNR
		// Phase px holds input columns x with (x+PadW)%s == px at index
		// (x+PadW)/s.
		g.colLo, g.colHi = make([]int, g.npx), make([]int, g.npx)
		for px := range g.npx {
			g.colLo[px] = max(0, ceilDiv(c.PadW-px, s))
			g.colHi[px] = max(g.colLo[px], min(g.wph, floorDiv(c.PadW+w-1-px, s)+1))
		}
	}
	g.offs = make([]int32, 0, c.InC*c.KH*c.KW)
	for ic := 0; ic < c.InC; ic++ {
		for ky := 0; ky < c.KH; ky++ {
			for kx := 0; kx < c.KW; kx++ {
				off := ic*g.plane + ((ky%s)*g.npx+kx%s)*g.hph*g.wph + (ky/s)*g.wph + kx/s
				g.offs = append(g.offs, int32(off))
			}
		}
	}
	return g
}

// packedTiling cuts the work of a convolution into tiles of whole output
// grid rows (gridRows rows of wph pixels per image) and, when the images
// do not give 2*Threads() such tiles, also into groups of output channels
// (mGroups, each a multiple of packedMR), so that both goroutines stay
// busy to the end without cutting the late stages' small grids into
// slivers.
//
// A tile reads all of the packed weights once (each 8-channel panel is
// reused across the tile's pixel panels from L1), so tiles should be wide;
// its output (m x pixels) stays in L2 across the depth blocks, so not too
// wide: about packedTileFloats/m pixels, between 2 and 24 panels. The
// rows are then shared evenly among the tiles of an image: cut at the
// target width, a 56-row grid gave tiles of 18, 18, 18 and 2 rows, and the
// goroutine that took the two first tiles of 18 worked 36 rows while the
// other worked 20, 29% longer than an even split.
func packedTiling(m, gridRows, wph, images int) (rows, perImage, mGroups int) {
	w := Threads()
	pixels := min(max(packedTileFloats/max(m, 1), 2*packedNR), 24*packedNR)
	rows = max(1, pixels/wph)
	perImage = ceilDiv(gridRows, rows)
	rows = ceilDiv(gridRows, perImage)
	perImage = ceilDiv(gridRows, rows)
	mGroups = 1
	if w == 1 {
		return rows, perImage, mGroups
	}
	// Too few tiles: split the output channels first, which keeps each
	// tile's pixels in whole 48-pixel panels (cutting a 14x14 grid in two
	// leaves 2-pixel tails), then, if the channels run out, the rows.
	for images*perImage*mGroups < 2*w && m/packedMR >= 2*mGroups {
		mGroups *= 2
	}
	// A few tiles must come in a multiple of the goroutines: three equal
	// tiles on two cores leave one idle for a third of the time, nine for
	// a ninth.
	if total := images * perImage * mGroups; total < 8*w && total%w != 0 {
		perImage = min(gridRows, ceilDiv(ceilDiv(total, w)*w, images*mGroups))
		rows = ceilDiv(gridRows, perImage)
		perImage = ceilDiv(gridRows, rows)
	}
	return rows, perImage, mGroups
}

// packedGroup returns the channel blocks [mb0, mb1) of group grp when
// blocks channel blocks are shared among groups: evenly, the group sizes
// differing by at most one (ceil-sized groups left 33 blocks in four
// groups as 9, 9, 9 and 6), the larger groups first. parallelFor hands
// the groups out in order, so the goroutines take the larger ones
// together and then the smaller: the 22 blocks of EfficientNet-B5's
// 14x14 projections in four groups, as 5, 6, 5 and 6, had left one
// goroutine 10 blocks and the other 12, and the caller waited 16% of
// those convolutions' time for its helper.
func packedGroup(blocks, groups, grp int) (mb0, mb1 int) {
	q, r := blocks/groups, blocks%groups
	mb0 = grp*q + min(grp, r)
	mb1 = mb0 + q
	if grp < r {
		mb1++
	}
	return mb0, mb1
}

// packedFits reports whether the offsets of c's phased copy of an h x w
// input fit the kernels' int32 table (inputs of several thousand pixels a
// side with hundreds of channels do not; they take the im2col path).
func packedFits(c *Conv2D, h, w int) bool {
	s := c.Stride
	plane := int64(min(s, c.KH)*min(s, c.KW)) * int64(ceilDiv(h+2*c.PadH, s)) * int64(ceilDiv(w+2*c.PadW, s))
	return int64(c.InC)*plane+int64(w)+packedNR < math.MaxInt32
}

// convPacked runs an ungrouped convolution (usePacked): it makes the
// phased copy of the input (planes spread over Threads() goroutines), then
// runs tiles of output grid rows on Threads() goroutines. A tile runs the
// micro-kernels over every depth block, channel block and 48-pixel panel,
// straight into the output or, when the grid has dropped columns, into a
// tile buffer whose valid columns are then copied out; the kernels add the
// bias and apply ReLU, SiLU and sigmoid run over the finished tile.
func convPacked(c *Conv2D, x, out *tensor.Tensor, act Activation) {
	convPackedResidual(c, x, out, act, nil)
}

// convPackedResidual is convPacked, then, when res is not nil,
// out = ReLU(out + res) (act must then be ActNone), applied to each
// finished tile while it is in cache.
func convPackedResidual(c *Conv2D, x, out *tensor.Tensor, act Activation, res *tensor.Tensor) {
	m := c.OutC
	k := c.InC * c.KH * c.KW
	p := out.H * out.W
	inPlane := x.H * x.W
	a := c.packedA()
	g := newPackedGeometry(c, x.H, x.W)
	rows, perImage, mGroups := packedTiling(m, out.H, g.wph, x.N)
	var phased *[]float32
	if !g.direct {
		phased = getScratch(x.N*c.InC*g.plane + g.slack)
		buf := *phased
		clear(buf[x.N*c.InC*g.plane:])
		parallelFor(x.N*c.InC, func(_, pi int) {
			padPhased2D(buf[pi*g.plane:(pi+1)*g.plane], x.Data[pi*inPlane:(pi+1)*inPlane], x.H, x.W, c.PadH, c.PadW, c.Stride, g)
		})
	}
	// The kernels add the bias and apply ReLU themselves; SiLU and
	// sigmoid, which need exp, run over each finished tile.
	lastFlags := 0
	if c.Bias != nil {
		lastFlags |= kernelBias
	}
	if act == ActReLU {
		lastFlags |= kernelReLU
	}
	parallelFor(x.N*perImage*mGroups, func(_, t int) {
		grp := t % mGroups
		t /= mGroups
		img, tile := t/perImage, t%perImage
		mb0, mb1 := packedGroup(m/packedMR, mGroups, grp)
		o0, o1 := mb0*packedMR, mb1*packedMR
		r0 := tile * rows
		r1 := min(r0+rows, out.H)
		j0, j1 := r0*g.wph, r1*g.wph // grid pixels of the tile
		n := j1 - j0
		var b []float32
		if g.direct {
			b = x.Data[img*c.InC*inPlane : (img+1)*c.InC*inPlane]
		} else {
			b = (*phased)[img*c.InC*g.plane:]
		}
		dst := out.Data[img*m*p : (img+1)*m*p]
		// The kernels write straight into the output when grid and output
		// coincide (no dropped columns), else into a tile buffer.
		inPlace := g.wph == out.W
		cbuf, ldc, cbase := dst, p, j0
		var tileBuf *[]float32
		if !inPlace {
			tileBuf = getScratch(m * n)
			cbuf, ldc, cbase = *tileBuf, n, 0
		}
		for k0 := 0; k0 < k; k0 += packedKC {
			kl := min(packedKC, k-k0)
			flags := 0
			if k0 > 0 {
				flags = kernelLoad
			}
			if k0+kl == k {
				flags |= lastFlags
			}
			packedRows(kl, a[k0*m:], mb0, mb1, b[j0:], &g.offs[k0], cbuf[cbase:], ldc, n, flags, c.Bias)
		}
		if !inPlace {
			tb := *tileBuf
			for o := o0; o < o1; o++ {
				for r := r0; r < r1; r++ {
					copy(dst[o*p+r*out.W:o*p+(r+1)*out.W], tb[o*n+(r-r0)*g.wph:])
				}
			}
			putScratch(tileBuf)
		}
		if act == ActSiLU || act == ActSigmoid { // the bias is in already
			for o := o0; o < o1; o++ {
				biasAct(dst[o*p+r0*out.W:o*p+r1*out.W], 0, act)
			}
		}
		if res != nil {
			rp := res.Data[img*m*p : (img+1)*m*p]
			for o := o0; o < o1; o++ {
				addReLURows(dst[o*p+r0*out.W:o*p+r1*out.W], rp[o*p+r0*out.W:])
			}
		}
	})
	if phased != nil {
		putScratch(phased)
	}
}

// padPhased2D writes the h x w plane src, zero-padded by padH rows and
// padW columns on each side, as the g.npy x g.npx phase planes of g:
// phase (py, px) at dst[(py*g.npx+px)*hph*wph:] holds padded pixel
// (r*s+py, c*s+px) at [r*wph+c], zero where that lies outside the padded
// plane. Phases beyond npy, npx are not needed by the kernel and skipped.
// g is newPackedGeometry's for this input size and padding.
func padPhased2D(dst, src []float32, h, w, padH, padW, s int, g packedGeometry) {
	ph := g.hph * g.wph
	for py := 0; py < g.npy; py++ {
		for r := 0; r < g.hph; r++ {
			rowBase := py*g.npx*ph + r*g.wph
			y := r*s + py - padH
			if y < 0 || y >= h {
				for px := 0; px < g.npx; px++ {
					clear(dst[rowBase+px*ph : rowBase+px*ph+g.wph])
				}
				continue
			}
			for px := 0; px < g.npx; px++ {
				row := dst[rowBase+px*ph : rowBase+px*ph+g.wph]
				clear(row[:g.colLo[px]])
				clear(row[g.colHi[px]:])
			}
			in := src[y*w : (y+1)*w]
			if s == 1 {
				copy(dst[rowBase+padW:rowBase+padW+w], in)
				continue
			}
			if s == 2 {
				var phase1 []float32 // nil: a 1x1 kernel reads phase 0 only
				if g.npx == 2 {
					phase1 = dst[rowBase+ph : rowBase+ph+g.wph]
				}
				splitPhases2(dst[rowBase:rowBase+g.wph], phase1, in, padW)
				continue
			}
			for px := 0; px < g.npx; px++ {
				row := dst[rowBase+px*ph:]
				c := g.colLo[px]
				x0 := c*s + px - padW // first input column of this phase
				for x := x0; x < w; x += s {
					row[c] = in[x]
					c++
				}
			}
		}
	}
}
