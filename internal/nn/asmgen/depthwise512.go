package main

import "fmt"

// dw512Shapes are the blocks of rows x 16-lane vectors the AVX-512
// depthwise kernels compute per call: at most 16 accumulators, so that
// every tap's weight broadcast and loop overhead serve many FMAs even on
// the 14- and 28-wide rows of EfficientNet's late stages.
var dw512Shapes = []struct{ vectors, rows int }{
	{1, 1}, {1, 2}, {1, 4}, {1, 8},
	{2, 1}, {2, 2}, {2, 4}, {2, 8},
	{3, 1}, {3, 2}, {3, 4},
	{4, 1}, {4, 2}, {4, 4},
}

// writeDepthwise512 writes the AVX-512 depthwise kernels, one per shape
// of dw512Shapes.
func writeDepthwise512(a *asm) {
	a.comment(`
AVX-512 depthwise convolution blocks (conv_depthwise.go): rows x vectors
outputs per call, every accumulator in a register across all taps. Written
by asmgen/depthwise512.go.`)
	for _, s := range dw512Shapes {
		depthwise512(a, s.vectors, s.rows, false)
	}
	a.comment(`
The same blocks reading the unpadded plane (stride 1): per tap, masks
of the first and last vector's lanes whose input column exists.`)
	for _, s := range dw512Shapes {
		depthwise512(a, s.vectors, s.rows, true)
	}
	a.comment(`
Pairs of border rows (5x5 kernels, planes up to 32 wide): lane masks per
tap and row, so that both rows take the taps of either, a row skipping
those of input rows outside the plane.`)
	for nv := 1; nv <= 2; nv++ {
		depthwise512BorderPair(a, nv)
	}
}

// depthwise512BorderPair writes simdDW512BorderV<nv>: depthwise512's
// edge-masked block of 2 rows x nv vectors, the masks of tap t being
// edges[4t+2r] (first vector of row r) and edges[4t+2r+1] (last vector).
func depthwise512BorderPair(a *asm, nv int) {
	a.text(fmt.Sprintf("simdDW512BorderV%d", nv), dw512EdgeSig, dw512EdgeArgBytes, "")
	dw512EdgeArgs(a)
	a.label("chans")
	a.i("VBROADCASTSS (R15), Z31")
	a.i("MOVQ edges_base+80(FP), R12")
	for r := 0; r < 2*nv; r++ {
		a.i("VMOVAPS Z31, Z%d", r)
	}
	a.i("XORQ AX, AX")
	a.label("taps")
	a.note("R11 = &src[offs[t]]; Z30 = w[t]; K2, K4 / K5, K6 = first, last vector masks of rows 0 / 1")
	a.i("MOVQ (R8)(AX*8), R11")
	a.i("VBROADCASTSS (R10)(AX*4), Z30")
	a.i("LEAQ (SI)(R11*4), R11")
	a.i("KMOVW (R12), K2")
	a.i("KMOVW 8(R12), K5")
	if nv == 2 {
		a.i("KMOVW 4(R12), K4")
		a.i("KMOVW 12(R12), K6")
	}
	masks := [2][2]string{{"K2", "K4"}, {"K5", "K6"}}
	for r := 0; r < 2; r++ {
		for v := 0; v < nv; v++ {
			a.i("VFMADD231PS %s, Z30, %s, Z%d", rowVec(r, v, "R11", "", "R13", ""), masks[r][v], r*nv+v)
		}
	}
	a.i("ADDQ $16, R12")
	a.i("INCQ AX")
	a.i("CMPQ AX, R9")
	a.i("JLT taps")
	for r := 0; r < 2; r++ {
		for v := 0; v < nv; v++ {
			mem := rowVec(r, v, "DI", "", "CX", "")
			if v == nv-1 {
				a.i("VMOVUPS Z%d, K1, %s", r*nv+v, mem)
			} else {
				a.i("VMOVUPS Z%d, %s", r*nv+v, mem)
			}
		}
	}
	dw512NextChannel(a)
	a.ret()
}

// depthwise512 writes simdDW512V<nv>R<nr>: for rows r < nr and columns
// i < 16*nv (the last vector's lanes limited to mask), d[r*dStride+i] =
// b + sum over taps t of w[t]*src[r*sStride+offs[t]+i], taps added in
// order with FMA. The last vector's loads and stores are masked, so
// nothing outside the block is read or written.
//
// With edges, the block reads an unpadded plane: offs[t] may be negative,
// and the FMAs of the first and the last vector take, per tap, the lane
// masks edges[2t] and edges[2t+1] (one mask, edges[2t], when nv is 1), so
// that the lanes whose input column lies outside the plane skip the tap,
// as a zero of the padding would add nothing.
func depthwise512(a *asm, nv, nr int, edges bool) {
	name := fmt.Sprintf("simdDW512V%dR%d", nv, nr)
	first, last := "K1", "K1" // masks of the first and last vector's FMAs
	if edges {
		name = fmt.Sprintf("simdDW512EdgeV%dR%d", nv, nr)
		first, last = "K2", "K4"
		if nv == 1 {
			last = first
		}
		a.text(name, dw512EdgeSig, dw512EdgeArgBytes, "")
		dw512EdgeArgs(a)
	} else {
		a.text(name, "(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32)", 92, "")
		dw512Args(a)
	}
	a.note("BX, DX = three rows of src, of d, in bytes")
	a.i("LEAQ (R13)(R13*2), BX")
	a.i("LEAQ (CX)(CX*2), DX")
	if edges {
		a.label("chans")
		a.i("VBROADCASTSS (R15), Z31")
		a.i("MOVQ edges_base+80(FP), R14")
	}
	acc := func(r, v int) string { return fmt.Sprintf("Z%d", r*nv+v) }
	for r := 0; r < nr; r++ {
		for v := 0; v < nv; v++ {
			a.i("VMOVAPS Z31, %s", acc(r, v))
		}
	}
	a.i("XORQ AX, AX")
	a.label("taps")
	a.note("R11 = &src[offs[t]] (rows 0..3), R12 = 4 rows further (rows 4..7); Z30 = w[t]")
	a.i("MOVQ (R8)(AX*8), R11")
	a.i("VBROADCASTSS (R10)(AX*4), Z30")
	a.i("LEAQ (SI)(R11*4), R11")
	if nr > 4 {
		a.i("LEAQ (R11)(R13*4), R12")
	}
	if edges {
		a.i("KMOVW (R14)(AX*8), K2")
		if nv > 1 {
			a.i("KMOVW 4(R14)(AX*8), K4")
		}
	}
	for r := 0; r < nr; r++ {
		for v := 0; v < nv; v++ {
			mem := rowVec(r, v, "R11", "R12", "R13", "BX")
			switch {
			case v == nv-1:
				a.i("VFMADD231PS %s, Z30, %s, %s", mem, last, acc(r, v))
			case v == 0 && edges:
				a.i("VFMADD231PS %s, Z30, %s, %s", mem, first, acc(r, v))
			default:
				a.i("VFMADD231PS %s, Z30, %s", mem, acc(r, v))
			}
		}
	}
	a.i("INCQ AX")
	a.i("CMPQ AX, R9")
	a.i("JLT taps")
	if nr > 4 {
		a.i("LEAQ (DI)(CX*4), R12")
	}
	for r := 0; r < nr; r++ {
		for v := 0; v < nv; v++ {
			mem := rowVec(r, v, "DI", "R12", "CX", "DX")
			if v == nv-1 {
				a.i("VMOVUPS %s, K1, %s", acc(r, v), mem)
			} else {
				a.i("VMOVUPS %s, %s", acc(r, v), mem)
			}
		}
	}
	if edges {
		dw512NextChannel(a)
	}
	a.ret()
}

// rowVec is the memory operand of vector v of row r: rows 0..3 from
// base0, rows 4..7 from base4, row stride one (bytes in) step, three
// rows step3.
func rowVec(r, v int, base0, base4, step, step3 string) string {
	base := base0
	if r >= 4 {
		base = base4
	}
	disp := ""
	if v > 0 {
		disp = fmt.Sprint(64 * v)
	}
	switch r % 4 {
	case 0:
		return fmt.Sprintf("%s(%s)", disp, base)
	case 1:
		return fmt.Sprintf("%s(%s)(%s*1)", disp, base, step)
	case 2:
		return fmt.Sprintf("%s(%s)(%s*2)", disp, base, step)
	}
	return fmt.Sprintf("%s(%s)(%s*1)", disp, base, step3)
}

// dw512Args loads the arguments of the padded-plane blocks: those every
// AVX-512 depthwise block shares (dw512SharedArgs), w (R10) and the bias
// in every lane of Z31.
func dw512Args(a *asm) {
	dw512SharedArgs(a)
	a.i("MOVQ w_base+64(FP), R10")
	a.i("VBROADCASTSS b+88(FP), Z31")
}

// dw512SharedArgs loads the arguments every AVX-512 depthwise block
// shares, at the same frame offsets in all of them: d (DI), src (SI), the
// row strides in bytes (CX for d, R13 for src), the last vector's lane
// mask (K1) and offs (R8, its length R9).
func dw512SharedArgs(a *asm) {
	a.i("MOVQ d+0(FP), DI")
	a.i("MOVQ src+8(FP), SI")
	a.i("MOVQ dStride+16(FP), CX")
	a.i("SHLQ $2, CX")
	a.i("MOVQ sStride+24(FP), R13")
	a.i("SHLQ $2, R13")
	a.i("MOVQ mask+32(FP), AX")
	a.i("KMOVW AX, K1")
	a.i("MOVQ offs_base+40(FP), R8")
	a.i("MOVQ offs_len+48(FP), R9")
}

// dw512EdgeSig is the Go signature of the edge-masked and border-pair
// kernels, which run the block on chans channels: channel c's output,
// input, weights and bias are plane*c, plane*c, wStride*c and c elements
// on from d, src, w and bias.
const (
	dw512EdgeSig      = "(d, src *float32, dStride, sStride int, mask uint64, offs []int, w, bias *float32, edges []uint32, chans, plane, wStride int)"
	dw512EdgeArgBytes = 128
)

// dw512EdgeArgs loads the arguments of the edge-masked kernels: the shared
// ones, w (R10) and the bias pointer (R15), both plain pointers; the
// bias is broadcast per channel, the edges reloaded per channel
// (dw512NextChannel).
func dw512EdgeArgs(a *asm) {
	dw512SharedArgs(a)
	a.i("MOVQ w+64(FP), R10")
	a.i("MOVQ bias+72(FP), R15")
	a.note("plane and wStride in bytes")
	a.i("SHLQ $2, plane+112(FP)")
	a.i("SHLQ $2, wStride+120(FP)")
}

// dw512NextChannel moves d, src, w and the bias on to the next channel and
// loops back to chans while channels are left. One call per block of
// rows for a whole group of channels instead of one per channel: on the
// 14x14 planes of EfficientNet-B5's late stages a block is a few hundred
// FMAs, and the Go side of each call (arguments, the plane's bookkeeping)
// had cost about as much as the block.
func dw512NextChannel(a *asm) {
	a.i("ADDQ plane+112(FP), DI")
	a.i("ADDQ plane+112(FP), SI")
	a.i("ADDQ wStride+120(FP), R10")
	a.i("ADDQ $4, R15")
	a.i("DECQ chans+104(FP)")
	a.i("JNZ chans")
}
