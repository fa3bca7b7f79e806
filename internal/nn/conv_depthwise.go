package nn

import (
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"unsafe"

	"github.com/padim-go/padim/internal/tensor"
)

// convDepthwise runs a convolution with one input channel per output
// channel directly, one (image, channel) plane per work item.
//
// Each plane is first copied into a zero-padded buffer whose rows are
// split into Stride phases: phase q holds padded columns q, q+s, q+2s, ...
// Output column ox under tap kx reads padded column ox*s+kx, which is
// element ox+kx/s of phase kx%s, so for every tap the inputs of a whole
// output row are one contiguous slice. The inner loops are then plain
// multiply-adds over equal-length slices: no padding tests, no strided
// indexing, and bounds checks hoisted out by the compiler.
//
// With AVX-512, a stride-1 convolution with a same-size output skips the
// copy: the edge-masked kernels read the plane itself (see newDWEdgePlan).
func convDepthwise(c *Conv2D, x, out *tensor.Tensor, act Activation) {
	s := c.Stride
	hp, wp := x.H+2*c.PadH, x.W+2*c.PadW
	phaseLen := ceilDiv(wp, s)
	rowLen := s * phaseLen
	// Offset of tap kx's slice within a padded row, computed once: the
	// divisions by a variable stride cost more than a row's arithmetic.
	tapOff := make([]int, c.KW)
	for kx := range tapOff {
		tapOff[kx] = (kx%s)*phaseLen + kx/s
	}
	if simd512 {
		if plan := c.dwEdgePlan(x.H, x.W); plan != nil {
			convDepthwiseEdge(c, x, out, act, plan)
			return
		}
	}
	var offs []int
	if simdEnabled {
		offs = simdTapOffsets(c, out, tapOff, hp, rowLen)
	}
	parallelFor(x.N*c.InC, func(_, pi int) {
		ch := pi % c.InC
		buf := getScratch(hp * rowLen)
		padded := *buf
		padPhased(padded, x.Data[pi*x.H*x.W:(pi+1)*x.H*x.W], x.H, x.W, c.PadH, c.PadW, s, phaseLen)
		kernel := c.Weight[ch*c.KH*c.KW : (ch+1)*c.KH*c.KW]
		dst := out.Data[pi*out.H*out.W : (pi+1)*out.H*out.W]
		b := c.bias(ch)
		if offs != nil {
			if simd512 {
				depthwise512Plane(dst, out.H, out.W, padded, s*rowLen, offs, kernel, b)
			} else {
				for oy := 0; oy < out.H; oy++ {
					simdDepthwiseRow(dst[oy*out.W:(oy+1)*out.W], padded[oy*s*rowLen:], offs, kernel, b)
				}
			}
			applyAct(dst, act)
			putScratch(buf)
			return
		}
		for oy := 0; oy < out.H; oy++ {
			d := dst[oy*out.W : (oy+1)*out.W]
			for i := range d {
				d[i] = b
			}
			for ky := 0; ky < c.KH; ky++ {
				row := padded[(oy*s+ky)*rowLen : (oy*s+ky+1)*rowLen]
				tap := func(kx int) []float32 { return row[tapOff[kx] : tapOff[kx]+len(d)] }
				wrow := kernel[ky*c.KW : (ky+1)*c.KW]
				switch c.KW {
				case 3:
					dwRow3(d, tap(0), tap(1), tap(2), wrow[0], wrow[1], wrow[2])
				case 5:
					dwRow5(d, tap(0), tap(1), tap(2), tap(3), tap(4), wrow[0], wrow[1], wrow[2], wrow[3], wrow[4])
				default:
					for kx, wv := range wrow {
						dwRow1(d, tap(kx), wv)
					}
				}
			}
			applyAct(d, act)
		}
		putScratch(buf)
	})
}

// simdTapOffsets prepares convDepthwise's assembly row kernel (used when
// simdEnabled), which computes a whole output row over all KH*KW taps at once,
// the row's accumulators staying in registers, instead of KH passes of
// dwRow3/dwRow5 over it. Tap t = ky*KW+kx of output row oy reads the
// padded plane from (oy*s)*rowLen + offs[t], offs[t] = ky*rowLen +
// tapOff[kx], in the kernel's own (ky, kx) order.
//
// The activation runs once per plane rather than per row: rows of the
// late stages are 7 to 28 wide, and a plane (at most 112x112 floats here)
// is still in L2.
//
// Measured back to back against the Go path on the loaded development
// machine (BenchmarkConv, GFLOP/cpu-s, ReLU fused): b5_dw3x3_112 2.4 ->
// 7.4, b5_dw3x3_56 2.3-2.5 -> 5.5-6.5, b5_dw5x5_28 2.1-3.7 -> 8.1-10.9,
// b5_dw5x5_14 1.7-2.5 -> 4.7-7.4, the strided b5_dw3x3s2_112 only 1.5-1.7
// -> 2.4-2.8: after this kernel padPhased and the output's zeroing take
// most of the time.
func simdTapOffsets(c *Conv2D, out *tensor.Tensor, tapOff []int, hp, rowLen int) []int {
	s := c.Stride
	offs := make([]int, 0, c.KH*c.KW)
	for ky := 0; ky < c.KH; ky++ {
		for kx := 0; kx < c.KW; kx++ {
			offs = append(offs, ky*rowLen+tapOff[kx])
		}
	}
	// The last row's taps must end inside the padded plane: the kernel
	// reads without bounds checks.
	if last := (out.H-1)*s*rowLen + slices.Max(offs) + out.W; last > hp*rowLen {
		panic(fmt.Sprintf("nn: depthwise geometry reads %d floats of a %d-float padded plane", last, hp*rowLen))
	}
	return offs
}

// dw512MaxLog2Rows is log2 of the most rows an AVX-512 depthwise block of
// nv vectors computes: 8 rows of one or two vectors, 4 of three or four
// (16 accumulators).
func dw512MaxLog2Rows(nv int) int {
	if nv <= 2 {
		return 3
	}
	return 2
}

// dw512Log2Rows is log2 of the rows of the largest block of nv vectors
// that fits in the rows left.
func dw512Log2Rows(nv, left int) int {
	l := dw512MaxLog2Rows(nv)
	for 1<<l > left {
		l--
	}
	return l
}

// depthwise512Plane computes the oh x ow output plane dst from the padded,
// phased plane (output row oy reading from padded[oy*rowStep:], tap t at
// offs[t] further, as for simdDepthwiseRow) with the AVX-512 block
// kernels: column chunks of up to 4 vectors (64 outputs), each cut into
// blocks of as many rows as 16 accumulators allow (8 rows of a 14- or
// 28-wide plane, 4 of a 56-wide one).
//
// A row at a time, as the AVX2 kernel runs, a 14-wide row of a 5x5
// convolution costs 25 weight broadcasts and loop steps for 25 FMAs;
// in blocks of 8 rows the same overhead serves 200 (EfficientNet-B5
// measured 5% less CPU time per image, docs/performance.md).
func depthwise512Plane(dst []float32, oh, ow int, padded []float32, rowStep int, offs []int, w []float32, b float32) {
	for c0 := 0; c0 < ow; c0 += 64 {
		cw := min(64, ow-c0)
		nv := ceilDiv(cw, 16)
		mask := uint64(1)<<(cw-16*(nv-1)) - 1
		for oy := 0; oy < oh; {
			l := dw512Log2Rows(nv, oh-oy)
			dw512Block(nv, l, &dst[oy*ow+c0], &padded[oy*rowStep+c0], ow, rowStep, mask, offs, w, b)
			oy += 1 << l
		}
	}
}

// dwEdgePlan lays out a stride-1, same-size depthwise convolution for the
// edge-masked kernels on an h x w plane: tap t = ky*KW+kx reads
// src[(oy+ky-PadH)*w + ox+kx-PadW] for output (oy, ox), at offs[t] from
// the output's own position; and the kernel calls of one plane, column
// chunk by column chunk (as depthwise512Plane cuts them).
type dwEdgePlan struct {
	h, w  int
	conv  [5]int // KH, KW, PadH, PadW, Stride of the convolution planned
	offs  []int
	calls []dwEdgeCall // the kernel calls of one plane, in order
}

// dwEdgeCall is one kernel call of a dwEdgePlan: a block of 2^l rows
// (l < 0: a border pair of two rows) of nv vectors starting at element
// off of the plane, over taps [t0, t1) with their lane masks edges.
type dwEdgeCall struct {
	nv, l, off, t0, t1 int
	store              uint64
	edges              []uint32
}

// dwEdgeChunk is one column chunk of a plane while newDWEdgePlan lays out
// its calls: output columns [c0, c0+16*nv) cut to the plane.
type dwEdgeChunk struct {
	c0, nv int
	store  uint64   // lanes of the last vector inside the plane
	edges  []uint32 // first and last vector's lanes per tap
	// pairs are the two rows at the top and at the bottom of a 5x5
	// convolution's plane, run together by the border-pair kernels.
	pairs []dwBorderPair
}

// dwBorderPair is output rows oy and oy+1 over taps [t0, t1), the union
// of their taps over existing input rows, with lane masks per tap and row
// (simdDW512BorderV*).
type dwBorderPair struct {
	oy, t0, t1 int
	edges      []uint32
}

// newDWEdgePlan plans c on an h x w input, or reports false when the
// edge-masked kernels do not apply: a stride other than 1, an output of
// another size than the input, or middle vectors that would need masks
// too (pads of 16 columns and more).
//
// Why not pad: copying each plane into a zero-padded buffer took 7% of
// EfficientNet-B5's time, more than the masks cost (two mask loads per
// tap, shared by every row of a block).
func newDWEdgePlan(c *Conv2D, h, w int) (dwEdgePlan, bool) {
	if c.Stride != 1 || 2*c.PadH != c.KH-1 || 2*c.PadW != c.KW-1 {
		return dwEdgePlan{}, false
	}
	p := dwEdgePlan{h: h, w: w, conv: [5]int{c.KH, c.KW, c.PadH, c.PadW, c.Stride}}
	for ky := 0; ky < c.KH; ky++ {
		for kx := 0; kx < c.KW; kx++ {
			p.offs = append(p.offs, (ky-c.PadH)*w+kx-c.PadW)
		}
	}
	// lanes is the mask of vector v's lanes (output columns c0+16v+l)
	// whose input column under tap kx lies in [0, w).
	lanes := func(c0, v, kx int) uint32 {
		var m uint32
		for l := 0; l < 16; l++ {
			if col := c0 + 16*v + l + kx - c.PadW; col >= 0 && col < w {
				m |= 1 << l
			}
		}
		return m
	}
	for c0 := 0; c0 < w; c0 += 64 {
		cw := min(64, w-c0)
		ch := dwEdgeChunk{c0: c0, nv: ceilDiv(cw, 16)}
		ch.store = uint64(1)<<(cw-16*(ch.nv-1)) - 1
		for ky := 0; ky < c.KH; ky++ {
			for kx := 0; kx < c.KW; kx++ {
				for v := 1; v < ch.nv-1; v++ {
					if lanes(c0, v, kx) != 0xffff {
						return dwEdgePlan{}, false
					}
				}
				ch.edges = append(ch.edges, lanes(c0, 0, kx), lanes(c0, ch.nv-1, kx))
			}
		}
		// The pairs at the top and the bottom, when they do not overlap:
		// on the 14- and 28-wide planes of EfficientNet-B5, one call per
		// pair instead of one per row took the border rows from 2.5% of
		// the network's CPU time to 0.6% (pprof, one goroutine).
		if c.PadH == 2 && ch.nv <= 2 && h >= 4 { // simdDW512BorderV1, V2
			for _, oy := range []int{0, h - 2} {
				ch.pairs = append(ch.pairs, borderPair(c, h, oy, func(kx int) (uint32, uint32) {
					return lanes(c0, 0, kx), lanes(c0, ch.nv-1, kx)
				}))
			}
		}
		p.calls = append(p.calls, p.chunkCalls(c, &ch)...)
	}
	return p, true
}

// chunkCalls lays out the kernel calls of column chunk ch. Rows whose
// taps all read existing input rows run in blocks, as in
// depthwise512Plane; the PadH rows at the top and the bottom run over the
// taps of the existing rows only, a contiguous run of them (taps are
// ordered by row): one by one, or two together where the chunk has a
// border pair.
func (p *dwEdgePlan) chunkCalls(c *Conv2D, ch *dwEdgeChunk) []dwEdgeCall {
	var calls []dwEdgeCall
	h := p.h
	for oy := 0; oy < h; {
		if bp := ch.pairAt(oy); bp != nil {
			calls = append(calls, dwEdgeCall{nv: ch.nv, l: -1, off: oy*p.w + ch.c0, t0: bp.t0, t1: bp.t1, store: ch.store, edges: bp.edges})
			oy += 2
			continue
		}
		l, t0, t1 := 0, 0, len(p.offs)
		if oy < c.PadH || oy >= h-c.PadH {
			t0 = max(0, c.PadH-oy) * c.KW
			t1 = min(c.KH, h+c.PadH-oy) * c.KW
		} else {
			l = dw512Log2Rows(ch.nv, h-c.PadH-oy)
		}
		calls = append(calls, dwEdgeCall{nv: ch.nv, l: l, off: oy*p.w + ch.c0, t0: t0, t1: t1, store: ch.store, edges: ch.edges[2*t0 : 2*t1]})
		oy += 1 << l
	}
	return calls
}

// dwEdgePlan returns c's edge-masked plan for an h x w input, or nil when
// the edge-masked kernels do not apply, reusing the plan c's last call
// made when the size and c's geometry are the same: a plan is a few
// hundred calls with their masks, and making it anew for every call had
// taken 2% of EfficientNet-B5's time (pprof, one goroutine).
func (c *Conv2D) dwEdgePlan(h, w int) *dwEdgePlan {
	conv := [5]int{c.KH, c.KW, c.PadH, c.PadW, c.Stride}
	if p := (*dwEdgePlan)(atomic.LoadPointer(&c.dwPlan)); p != nil && p.h == h && p.w == w && p.conv == conv {
		return p
	}
	p, ok := newDWEdgePlan(c, h, w)
	if !ok {
		return nil
	}
	atomic.StorePointer(&c.dwPlan, unsafe.Pointer(&p))
	return &p
}

// borderPair lays out output rows oy and oy+1 of c on an h-row plane for
// the border-pair kernels; lanes gives a tap's first and last vector masks.
func borderPair(c *Conv2D, h, oy int, lanes func(kx int) (uint32, uint32)) dwBorderPair {
	var lo, hi [2]int // each row's taps over existing input rows, in kernel rows
	for r := range 2 {
		lo[r] = max(0, c.PadH-(oy+r))
		hi[r] = min(c.KH, h+c.PadH-(oy+r))
	}
	bp := dwBorderPair{oy: oy, t0: min(lo[0], lo[1]) * c.KW, t1: max(hi[0], hi[1]) * c.KW}
	for t := bp.t0; t < bp.t1; t++ {
		ky, kx := t/c.KW, t%c.KW
		first, last := lanes(kx)
		for r := range 2 {
			if ky >= lo[r] && ky < hi[r] {
				bp.edges = append(bp.edges, first, last)
			} else {
				bp.edges = append(bp.edges, 0, 0)
			}
		}
	}
	return bp
}

// convDepthwiseEdge runs c (stride 1, same-size output) with the
// edge-masked kernels of plan, on groups of channels of one image at a
// time: each kernel call runs its block of rows on every channel of the
// group, so that the Go side of a call (arguments, the plan's walk) is paid
// once per group rather than once per plane, and the activation runs over
// the group's planes at once.
func convDepthwiseEdge(c *Conv2D, x, out *tensor.Tensor, act Activation, plan *dwEdgePlan) {
	plane := x.H * x.W
	kk := c.KH * c.KW
	g := dwEdgeGroup(plane)
	groups := ceilDiv(c.InC, g)
	bias := c.Bias
	if bias == nil {
		bias = make([]float32, c.InC)
	}
	parallelFor(x.N*groups, func(_, gi int) {
		img, ch0 := gi/groups, gi%groups*g
		n := min(g, c.InC-ch0)
		lo, hi := (img*c.InC+ch0)*plane, (img*c.InC+ch0+n)*plane
		dst := out.Data[lo:hi]
		depthwiseEdgePlanes(dst, x.Data[lo:hi], plan, c.Weight[ch0*kk:(ch0+n)*kk], bias[ch0:ch0+n])
		applyAct(dst, act)
	})
}

// dwEdgeGroup is how many channels of h x w = plane pixels
// convDepthwiseEdge runs per group: about dwEdgeGroupFloats of input (and
// as much output), so that a group's planes stay in L2 from one block of
// rows to the next; one channel for planes as large or larger.
func dwEdgeGroup(plane int) int {
	return max(1, dwEdgeGroupFloats/plane)
}

// dwEdgeGroupFloats: 8K floats, 32 KB of input, 41 planes of 14x14, 10
// of 28x28.
const dwEdgeGroupFloats = 8 << 10

// depthwiseEdgePlanes computes the output planes dst of len(bias)
// channels from their unpadded input planes src (both plan.h x plan.w
// each, one after the other), with their weights wts (KH*KW per channel)
// and biases, running plan's calls in order.
func depthwiseEdgePlanes(dst, src []float32, p *dwEdgePlan, wts, bias []float32) {
	chans, plane, kk := len(bias), p.h*p.w, len(p.offs)
	if chans == 0 || len(dst) != chans*plane || len(src) != chans*plane || len(wts) != chans*kk {
		panic(fmt.Sprintf("nn: depthwise planes: %d channels, %d and %d floats of planes of %d, %d weights of %d taps",
			chans, len(dst), len(src), plane, len(wts), kk))
	}
	for i := range p.calls {
		cl := &p.calls[i]
		d, s, w := &dst[cl.off], &src[cl.off], &wts[cl.t0]
		offs := p.offs[cl.t0:cl.t1]
		if cl.l < 0 {
			dw512BorderBlock(cl.nv, d, s, p.w, p.w, cl.store, offs, w, &bias[0], cl.edges, chans, plane, kk)
		} else {
			dw512EdgeBlock(cl.nv, cl.l, d, s, p.w, p.w, cl.store, offs, w, &bias[0], cl.edges, chans, plane, kk)
		}
	}
}

// pairAt returns the border pair starting at output row oy, if any.
func (ch *dwEdgeChunk) pairAt(oy int) *dwBorderPair {
	for i := range ch.pairs {
		if ch.pairs[i].oy == oy {
			return &ch.pairs[i]
		}
	}
	return nil
}

// padPhased copies the h x w plane src into dst with pad rows/columns of
// zeros around it, each padded row stored as s phases of phaseLen values
// (see convDepthwise).
func padPhased(dst, src []float32, h, w, padH, padW, s, phaseLen int) {
	rowLen := s * phaseLen
	wp := w + 2*padW
	clear(dst[:padH*rowLen])
	clear(dst[(padH+h)*rowLen:])
	if s == 1 {
		padRows1(dst[padH*rowLen:(padH+h)*rowLen], src, w, padW, rowLen)
		return
	}
	for y := 0; y < h; y++ {
		in := src[y*w : (y+1)*w]
		out := dst[(padH+y)*rowLen : (padH+y+1)*rowLen]
		switch s {
		case 2:
			// Padded column pc goes to phase pc&1, index pc>>1. Walking
			// the input in pairs makes that two branch-free stores.
			clear(out)
			splitPhases2(out[:phaseLen], out[phaseLen:], in, padW)
			continue
		}
		for q := 0; q < s; q++ {
			ph := out[q*phaseLen : (q+1)*phaseLen]
			i := 0
			for pc := q; pc < wp; pc += s {
				if ix := pc - padW; ix >= 0 && ix < w {
					ph[i] = in[ix]
				} else {
					ph[i] = 0
				}
				i++
			}
			clear(ph[i:])
		}
	}
}

// padRows1 copies the rows of w values of src into the rows of rowLen
// values of dst at column padW, zeroing the columns around them. The
// right pad of a row and the left pad of the next are one run of
// rowLen-w zeros, 2 to 4 in the backbones, written by a plain loop: two
// clear calls per row of 14 to 112 values took a third of the copy's time.
func padRows1(dst, src []float32, w, padW, rowLen int) {
	h := len(dst) / rowLen
	gap := rowLen - w
	for i := 0; i < padW; i++ {
		dst[i] = 0
	}
	for y := 0; y < h; y++ {
		row := dst[y*rowLen+padW:]
		copy(row[:w], src[y*w:(y+1)*w])
		// Up to the next row's data, or to the end of the last row.
		z := row[w:min(w+gap, len(row))]
		for i := 0; i < len(z); i++ {
			z[i] = 0
		}
	}
}

// splitPhases2 writes the input row in, padded by padW on the left, into
// its two stride-2 phases: padded column pc goes to phase pc&1 (phase0 or
// phase1) at index pc>>1. Walking the input in pairs makes that two
// branch-free stores per pair; with AVX2, simdSplit2 takes 8 pairs per
// step. A nil phase is not wanted and not written (a 1x1 stride-2
// convolution reads one phase); padding entries are left as they are.
func splitPhases2(phase0, phase1, in []float32, padW int) {
	w := len(in)
	first, second := phase0, phase1 // phases of the even and odd input columns
	if padW&1 == 1 {
		first, second = second, first
	}
	pairs := w >> 1
	if first != nil {
		first = first[padW>>1:][:pairs+w&1]
	}
	if second != nil {
		second = second[(padW+1)>>1:][:pairs]
	}
	j := 0
	if simdEnabled && pairs >= 8 {
		j = simdSplit2(firstOrNil(first), firstOrNil(second), &in[0], pairs)
	}
	for ; j < pairs; j++ {
		if first != nil {
			first[j] = in[2*j]
		}
		if second != nil {
			second[j] = in[2*j+1]
		}
	}
	if w&1 == 1 && first != nil {
		first[pairs] = in[w-1]
	}
}

// firstOrNil is &s[0], or nil for an empty s.
func firstOrNil(s []float32) *float32 {
	if len(s) == 0 {
		return nil
	}
	return &s[0]
}

func dwRow1(d, a []float32, w float32) {
	a = a[:len(d)]
	for i := range d {
		d[i] += w * a[i]
	}
}

func dwRow3(d, a0, a1, a2 []float32, w0, w1, w2 float32) {
	a0, a1, a2 = a0[:len(d)], a1[:len(d)], a2[:len(d)]
	for i := range d {
		d[i] += w0*a0[i] + w1*a1[i] + w2*a2[i]
	}
}

func dwRow5(d, a0, a1, a2, a3, a4 []float32, w0, w1, w2, w3, w4 float32) {
	a0, a1, a2, a3, a4 = a0[:len(d)], a1[:len(d)], a2[:len(d)], a3[:len(d)], a4[:len(d)]
	for i := range d {
		d[i] += w0*a0[i] + w1*a1[i] + w2*a2[i] + w3*a3[i] + w4*a4[i]
	}
}

// depthwiseRowGo is simdDepthwiseRow in pure Go, its reference: d[i] = b +
// sum_t w[t]*src[offs[t]+i], the taps added in order with FMA.
func depthwiseRowGo(d, src []float32, offs []int, w []float32, b float32) {
	for i := range d {
		acc := b
		for t, o := range offs {
			acc = float32(math.FMA(float64(w[t]), float64(src[o+i]), float64(acc)))
		}
		d[i] = acc
	}
}
