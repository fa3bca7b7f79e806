package main

import "fmt"

const winogradDoc = `
AVX-512 input and output transforms of Winograd F(2x2, 3x3)
(conv_winograd.go), 16 tiles per step, one tile per lane. Tile i of a run
reads columns 2i..2i+3 of its four input rows and writes columns 2i and
2i+1 of its two output rows, so each step deinterleaves the even and odd
columns of 32 floats with VPERMT2PS (and of the 32 floats two further on,
for columns 2i+2 and 2i+3), and the output step interleaves its two
column vectors back. Written by asmgen/winograd.go.`

// writeWinograd writes the index tables and the two transform kernels.
func writeWinograd(a *asm) {
	a.comment(winogradDoc)
	indexTable(a, "winoEven", evenLanesDoc, evenLanes)
	indexTable(a, "winoOdd", oddLanesDoc, oddLanes)
	indexTable(a, "winoLo", loLanesDoc, loLanes)
	indexTable(a, "winoHi", hiLanesDoc, hiLanes)
	winogradInputKernel(a)
	winogradOutputKernel(a)
}

// The VPERMT2PS index tables both Winograd files declare (file-local
// symbols, so each file writes its own copy of the same lanes).
const (
	evenLanesDoc = "lane i = 2i: the even columns of two vectors"
	oddLanesDoc  = "lane i = 2i+1: the odd columns of two vectors"
	loLanesDoc   = "lanes 0..15 of the interleave of two vectors: a0 b0 a1 b1 ..."
	hiLanesDoc   = "lanes 16..31 of the interleave of two vectors"
)

func evenLanes(i int) int { return 2 * i }
func oddLanes(i int) int  { return 2*i + 1 }
func loLanes(i int) int   { return i/2 + 16*(i%2) }
func hiLanes(i int) int   { return 8 + i/2 + 16*(i%2) }

// permute2 emits dst = VPERMT2PS of the table t1:t2 by the index
// register idx (lane i of dst is lane idx[i] of the 32 lanes of t1 then
// t2), leaving t1 as it was.
func permute2(a *asm, dst, t1, idx, t2 string) {
	a.i("VMOVAPS %s, %s", t1, dst)
	a.i("VPERMT2PS %s, %s, %s", t2, idx, dst)
}

// loadPlanes emits loads of the vectors regs from ptr onwards, step (a
// register holding bytes) apart, each under mask with zeroing when mask
// is not empty. It moves ptr to the last vector.
func loadPlanes(a *asm, ptr, step, mask string, regs []string) {
	for k, r := range regs {
		if mask != "" {
			a.i("VMOVUPS.Z (%s), %s, %s", ptr, mask, r)
		} else {
			a.i("VMOVUPS (%s), %s", ptr, r)
		}
		if k < len(regs)-1 {
			a.i("ADDQ %s, %s", step, ptr)
		}
	}
}

// indexTable writes a read-only table of 16 int32 lane indices.
func indexTable(a *asm, sym, what string, lane func(int) int) {
	a.comment(what)
	for i := 0; i < 16; i++ {
		fmt.Fprintf(&a.buf, "DATA %s<>+%d(SB)/4, $%d\n", sym, 4*i, lane(i))
	}
	fmt.Fprintf(&a.buf, "GLOBL %s<>(SB), RODATA|NOPTR, $64\n", sym)
}

func z(i int) string { return fmt.Sprintf("Z%d", i) }

// maskIf is mask when masked, else no mask.
func maskIf(masked bool, mask string) string {
	if masked {
		return mask
	}
	return ""
}

func winogradInputKernel(a *asm) {
	a.text("winogradInput16", "(v *float32, stride, vrow int, rows *winogradRows, masks *uint16, groups, chans int)", 56, `
For each of chans channels, writes V = B^T d B of groups*16 tiles into
the 16 planes v + ch*vrow + k*stride (k = 4*row + column of V), tile i
at [i]. rows holds the tiles' four input rows: for row q a pointer and
the bytes to the same row of the next channel (0 for a row of zeros
above or below the image), then lead, 1 when the first tile's first
column lies left of the image (the pointers then point at column 0 and
the kernel reads from one float before, a lane its masks leave out).
Tile i reads floats 2i..2i+3 of each row. Each group loads its rows
under four masks from masks (floats 0..15, 16..31, 2..17 and 18..33 of
the group's span: columns outside the image or past the run read as
zero) and stores under a fifth. Row q of B^T d is r0-r2, r1+r2, r2-r1
or r1-r3 (computed on the raw rows, before the deinterleave, which is
linear); the columns of V are t0-t2, t1+t2, t2-t1 and t1-t3 of that
row. The kernel advances the row pointers in rows.`)
	a.i("MOVQ v+0(FP), DX")
	a.i("MOVQ stride+8(FP), R8")
	a.i("SHLQ $2, R8")
	a.i("MOVQ rows+24(FP), R14")
	a.i("MOVQ chans+48(FP), BX")
	a.i("VMOVDQU32 winoEven<>(SB), Z30")
	a.i("VMOVDQU32 winoOdd<>(SB), Z31")
	a.i("TESTQ BX, BX")
	a.i("JEQ done")
	a.label("channel")
	a.note("R10..R13 = this channel's rows, less lead floats; then the row pointers step to the next channel")
	for q, r := range []string{"R10", "R11", "R12", "R13"} {
		a.i("MOVQ %d(R14), %s", 16*q, r)
		a.i("MOVQ %d(R14), AX", 16*q+8)
		a.i("ADDQ AX, %d(R14)", 16*q)
		a.i("MOVQ 64(R14), AX")
		a.i("SHLQ $2, AX")
		a.i("SUBQ AX, %s", r)
	}
	a.i("MOVQ DX, DI")
	a.i("MOVQ masks+32(FP), SI")
	a.i("MOVQ groups+40(FP), CX")
	a.i("TESTQ CX, CX")
	a.i("JEQ next")
	a.label("loop")
	for k, m := range []string{"K1", "K2", "K4", "K5", "K3"} {
		a.i("KMOVW %d(SI), %s", 2*k, m)
	}
	winogradInputStep(a)
	a.i("ADDQ $10, SI")
	a.i("ADDQ $64, DI")
	for _, r := range []string{"R10", "R11", "R12", "R13"} {
		a.i("ADDQ $128, %s", r)
	}
	a.i("DECQ CX")
	a.i("JNZ loop")
	a.label("next")
	a.i("MOVQ vrow+16(FP), AX")
	a.i("LEAQ (DX)(AX*4), DX")
	a.i("DECQ BX")
	a.i("JNZ channel")
	a.label("done")
	a.ret()
}

// winogradInputStep transforms 16 tiles: rows at R10..R13, loaded under
// K1, K2, K4, K5 (the four vectors of each row), planes from DI at
// R8-byte steps, stored under K3.
func winogradInputStep(a *asm) {
	// Row q in Z(4q)..Z(4q+3): floats 0..15, 16..31, 2..17, 18..33.
	for q, r := range []string{"R10", "R11", "R12", "R13"} {
		for p, off := range []int{0, 64, 8, 72} {
			a.i("VMOVUPS.Z %d(%s), %s, %s", off, r, []string{"K1", "K2", "K4", "K5"}[p], z(4*q+p))
		}
	}
	a.note("rows of B^T d: t0 = r0-r2 (Z0..3), t1 = r1+r2 (Z16..19), t2 = r2-r1 (Z8..11), t3 = r1-r3 (Z12..15)")
	for p := 0; p < 4; p++ {
		a.i("VSUBPS %s, %s, %s", z(8+p), z(p), z(p))
		a.i("VADDPS %s, %s, %s", z(8+p), z(4+p), z(16+p))
		a.i("VSUBPS %s, %s, %s", z(4+p), z(8+p), z(8+p))
		a.i("VSUBPS %s, %s, %s", z(12+p), z(4+p), z(12+p))
	}
	a.i("MOVQ DI, R9")
	for q, t := range []int{0, 16, 8, 12} {
		a.note("row %d: E, O = columns 2i, 2i+1 (Z20, Z21); E2, O2 = columns 2i+2, 2i+3 (Z22, Z23)", q)
		for i, src := range []int{t, t, t + 2, t + 2} {
			idx := "Z30"
			if i%2 == 1 {
				idx = "Z31"
			}
			permute2(a, z(20+i), z(src), idx, z(src+1))
		}
		a.i("VSUBPS Z22, Z20, Z24")
		a.i("VADDPS Z22, Z21, Z25")
		a.i("VSUBPS Z21, Z22, Z26")
		a.i("VSUBPS Z23, Z21, Z27")
		for c := 0; c < 4; c++ {
			a.i("VMOVUPS %s, K3, (R9)", z(24+c))
			if q < 3 || c < 3 {
				a.i("ADDQ R8, R9")
			}
		}
	}
}

func winogradOutputKernel(a *asm) {
	a.text("winogradOutput16", "(y0, y1, m *float32, stride, groups int, bias *float32, relu, ld, lo, hi int, r0, r1 *float32, chans, ystep, mstep int)", 120, `
For each of chans channels, writes the 2x2 output tiles
Y = A^T M A + bias[ch] of groups*16 tiles, then of one more group when
ld != 0, from the 16 planes m + k*stride (tile i at [i]): tile i's top
row to y0[2i], y0[2i+1], its bottom row to y1 (not written when y1 is
nil). When r0 is not nil, the rows r0 and r1 (a ResNet block's residual,
laid out as y0 and y1) are added next, then ReLU as Go's max(., 0) when
relu != 0. The last group loads under ld and stores 32 floats of each
row under lo (floats 0..15) and hi (16..31), for a clipped last column.
The next channel's rows lie ystep bytes further on (its planes mstep
bytes): the kernel advances the pointer arguments that are not nil.`)
	a.i("MOVQ stride+24(FP), R8")
	a.i("SHLQ $2, R8")
	a.i("MOVQ relu+48(FP), DX")
	a.i("MOVQ bias+40(FP), R14")
	a.i("MOVQ chans+96(FP), R13")
	a.i("VPXORD Z29, Z29, Z29")
	a.i("VMOVDQU32 winoLo<>(SB), Z30")
	a.i("VMOVDQU32 winoHi<>(SB), Z31")
	a.i("TESTQ R13, R13")
	a.i("JEQ done")
	a.label("channel")
	a.i("VBROADCASTSS (R14), Z28")
	a.i("MOVQ y0+0(FP), DI")
	a.i("MOVQ y1+8(FP), SI")
	a.i("MOVQ m+16(FP), R10")
	a.i("MOVQ r0+80(FP), R11")
	a.i("MOVQ r1+88(FP), R12")
	a.i("MOVQ groups+32(FP), CX")
	a.i("TESTQ CX, CX")
	a.i("JEQ tail")
	a.label("loop")
	winogradOutputStep(a, false, "l")
	a.i("ADDQ $64, R10")
	for _, r := range []string{"DI", "SI", "R11", "R12"} {
		a.i("ADDQ $128, %s", r) // a nil row stays unused
	}
	a.i("DECQ CX")
	a.i("JNZ loop")
	a.label("tail")
	a.i("MOVQ ld+56(FP), AX")
	a.i("TESTQ AX, AX")
	a.i("JEQ next")
	a.i("KMOVW AX, K3")
	a.i("MOVQ lo+64(FP), AX")
	a.i("KMOVW AX, K1")
	a.i("MOVQ hi+72(FP), AX")
	a.i("KMOVW AX, K2")
	winogradOutputStep(a, true, "t")
	a.label("next")
	a.note("the next channel: rows ystep bytes on (the nil ones stay nil), planes mstep bytes on, the next bias")
	a.i("MOVQ ystep+104(FP), AX")
	a.i("ADDQ AX, y0+0(FP)")
	for _, slot := range []string{"y1+8", "r0+80", "r1+88"} {
		skip := "keep" + slot[:2]
		a.i("MOVQ %s(FP), BX", slot)
		a.i("TESTQ BX, BX")
		a.i("JEQ %s", skip)
		a.i("ADDQ AX, %s(FP)", slot)
		a.label(skip)
	}
	a.i("MOVQ mstep+112(FP), AX")
	a.i("ADDQ AX, m+16(FP)")
	a.i("ADDQ $4, R14")
	a.i("DECQ R13")
	a.i("JNZ channel")
	a.label("done")
	a.ret()
}

// winogradOutputStep finishes 16 tiles: planes from R10 at R8-byte steps
// into Z0..Z15, rows to DI and SI, residual rows from R11 and R12; the
// bottom row and the residual are skipped when the first call's y1 or
// r0 was nil; masked, under K3 (loads) and K1/K2 (stores). sfx keeps the
// labels of the two copies apart.
func winogradOutputStep(a *asm, masked bool, sfx string) {
	a.i("MOVQ R10, R9")
	planes := make([]string, 16)
	for k := range planes {
		planes[k] = z(k)
	}
	loadPlanes(a, "R9", "R8", maskIf(masked, "K3"), planes)
	a.note("A^T M: s_c = m_c + m_4+c + m_8+c (Z16..19), t_c = m_4+c - m_8+c - m_12+c (Z20..23)")
	for c := 0; c < 4; c++ {
		a.i("VADDPS %s, %s, %s", z(4+c), z(c), z(16+c))
		a.i("VADDPS %s, %s, %s", z(8+c), z(16+c), z(16+c))
		a.i("VSUBPS %s, %s, %s", z(8+c), z(4+c), z(20+c))
		a.i("VSUBPS %s, %s, %s", z(12+c), z(20+c), z(20+c))
	}
	a.note("times A, plus bias: top row Z24 (column 2i), Z25 (2i+1); bottom row Z26, Z27")
	for r, base := range []int{16, 20} {
		e, o := z(24+2*r), z(25+2*r)
		a.i("VADDPS %s, %s, %s", z(base+1), z(base), e)
		a.i("VADDPS %s, %s, %s", z(base+2), e, e)
		a.i("VSUBPS %s, %s, %s", z(base+2), z(base+1), o)
		a.i("VSUBPS %s, %s, %s", z(base+3), o, o)
		a.i("VADDPS Z28, %s, %s", e, e)
		a.i("VADDPS Z28, %s, %s", o, o)
	}
	for r, dst := range []string{"DI", "SI"} {
		if r == 1 {
			a.i("MOVQ y1+8(FP), AX")
			a.i("TESTQ AX, AX")
			a.i("JEQ stored%s", sfx)
		}
		e, o := z(24+2*r), z(25+2*r)
		a.note("row %d in pixel order: Z0 = columns 0..15, Z1 = 16..31", r)
		permute2(a, "Z0", e, "Z30", o)
		permute2(a, "Z1", e, "Z31", o)
		res := []string{"R11", "R12"}[r]
		a.i("MOVQ r0+80(FP), AX")
		a.i("TESTQ AX, AX")
		a.i("JEQ act%d%s", r, sfx)
		for v, k := range []string{"K1", "K2"} {
			if masked {
				a.i("VMOVUPS.Z %d(%s), %s, Z2", 64*v, res, k)
				a.i("VADDPS Z2, Z%d, Z%d", v, v)
			} else {
				a.i("VADDPS %d(%s), Z%d, Z%d", 64*v, res, v, v)
			}
		}
		a.label(fmt.Sprintf("act%d%s", r, sfx))
		a.i("TESTQ DX, DX")
		a.i("JEQ store%d%s", r, sfx)
		relu(a, "Z0", "Z29")
		relu(a, "Z1", "Z29")
		a.label(fmt.Sprintf("store%d%s", r, sfx))
		if masked {
			a.i("VMOVUPS Z0, K1, (%s)", dst)
			a.i("VMOVUPS Z1, K2, 64(%s)", dst)
		} else {
			a.i("VMOVUPS Z0, (%s)", dst)
			a.i("VMOVUPS Z1, 64(%s)", dst)
		}
	}
	a.label("stored" + sfx)
}
