package main

import "fmt"

const winograd4Doc = `
AVX-512 input and output transforms of Winograd F(4x4, 3x3)
(conv_winograd4.go), 16 tiles per step, one tile per lane. Tile i of a
run reads columns 4i..4i+5 of its six input rows and writes columns
4i..4i+3 of its four output rows. The input step deinterleaves the
columns of 64 floats four ways with VPERMT2PS (columns 4i+4 and 4i+5 are
those of the next tile, one lane on), transforms each row (d B) into a
36-vector scratch area, then each column (B^T of that); the output step
transforms the columns of M (A^T M) into the scratch, then each row (times
A), and interleaves the four column vectors of each output row back into
pixel order. Written by asmgen/winograd4.go.`

// writeWinograd4 writes the index tables and the two transform kernels.
func writeWinograd4(a *asm) {
	a.comment(winograd4Doc)
	indexTable(a, "wino4Even", evenLanesDoc, evenLanes)
	indexTable(a, "wino4Odd", oddLanesDoc, oddLanes)
	indexTable(a, "wino4Next0", "lane i = i+1: one tile on, lane 15 from lane 0 of the second vector", func(i int) int { return i + 1 })
	indexTable(a, "wino4Next1", "lane i = i+1, lane 15 from lane 1 of the second vector", func(i int) int {
		if i == 15 {
			return 17
		}
		return i + 1
	})
	indexTable(a, "wino4Lo", loLanesDoc, loLanes)
	indexTable(a, "wino4Hi", hiLanesDoc, hiLanes)
	a.splat("wino4Two", "2.0", 0x40000000, 1)
	a.splat("wino4Four", "4.0", 0x40800000, 1)
	a.splat("wino4Five", "5.0", 0x40a00000, 1)
	a.splat("wino4Eight", "8.0", 0x41000000, 1)
	winograd4InputKernel(a)
	winograd4OutputKernel(a)
}

// bt6 emits o = B^T d for F(4x4, 3x3) on six vectors d (register
// numbers), into six others, with two temporaries; four and five are
// registers holding 4.0 and 5.0 in every lane:
//
//	o0 = 4 d0 - 5 d2 + d4          o3 = (d4 - d2) + 2 (d3 - d1)
//	o1 = (d4 - 4 d2) + (d3 - 4 d1) o4 = (d4 - d2) - 2 (d3 - d1)
//	o2 = (d4 - 4 d2) - (d3 - 4 d1) o5 = 4 d1 - 5 d3 + d5
func bt6(a *asm, d, o [6]int, t0, t1 int, four, five string) {
	a.i("VMOVAPS %s, %s", z(d[4]), z(t0))
	a.i("VFNMADD231PS %s, %s, %s", z(d[2]), four, z(t0))
	a.i("VMOVAPS %s, %s", z(d[3]), z(t1))
	a.i("VFNMADD231PS %s, %s, %s", z(d[1]), four, z(t1))
	a.i("VADDPS %s, %s, %s", z(t1), z(t0), z(o[1]))
	a.i("VSUBPS %s, %s, %s", z(t1), z(t0), z(o[2]))
	a.i("VSUBPS %s, %s, %s", z(d[2]), z(d[4]), z(t0))
	a.i("VSUBPS %s, %s, %s", z(d[1]), z(d[3]), z(t1))
	a.i("VADDPS %s, %s, %s", z(t1), z(t1), z(t1))
	a.i("VADDPS %s, %s, %s", z(t1), z(t0), z(o[3]))
	a.i("VSUBPS %s, %s, %s", z(t1), z(t0), z(o[4]))
	a.i("VMOVAPS %s, %s", z(d[4]), z(o[0]))
	a.i("VFNMADD231PS %s, %s, %s", z(d[2]), five, z(o[0]))
	a.i("VFMADD231PS %s, %s, %s", z(d[0]), four, z(o[0]))
	a.i("VMOVAPS %s, %s", z(d[5]), z(o[5]))
	a.i("VFNMADD231PS %s, %s, %s", z(d[3]), five, z(o[5]))
	a.i("VFMADD231PS %s, %s, %s", z(d[1]), four, z(o[5]))
}

// at6 emits y = A^T m for F(4x4, 3x3) on six vectors m, into four others,
// with four temporaries; two, four and eight hold those constants:
//
//	y0 = (m0 + (m1 + m2)) + (m3 + m4)   y2 = (m1 + m2) + 4 (m3 + m4)
//	y1 = (m1 - m2) + 2 (m3 - m4)        y3 = ((m1 - m2) + m5) + 8 (m3 - m4)
func at6(a *asm, m [6]int, y [4]int, t [4]int, two, four, eight string) {
	a.i("VADDPS %s, %s, %s", z(m[2]), z(m[1]), z(t[0]))
	a.i("VSUBPS %s, %s, %s", z(m[2]), z(m[1]), z(t[1]))
	a.i("VADDPS %s, %s, %s", z(m[4]), z(m[3]), z(t[2]))
	a.i("VSUBPS %s, %s, %s", z(m[4]), z(m[3]), z(t[3]))
	a.i("VADDPS %s, %s, %s", z(t[0]), z(m[0]), z(y[0]))
	a.i("VADDPS %s, %s, %s", z(t[2]), z(y[0]), z(y[0]))
	a.i("VMOVAPS %s, %s", z(t[1]), z(y[1]))
	a.i("VFMADD231PS %s, %s, %s", z(t[3]), two, z(y[1]))
	a.i("VMOVAPS %s, %s", z(t[0]), z(y[2]))
	a.i("VFMADD231PS %s, %s, %s", z(t[2]), four, z(y[2]))
	a.i("VADDPS %s, %s, %s", z(m[5]), z(t[1]), z(y[3]))
	a.i("VFMADD231PS %s, %s, %s", z(t[3]), eight, z(y[3]))
}

// permZ is permute2 on registers Z<dst>, Z<t1>, Z<idx>, Z<t2>.
func permZ(a *asm, dst, t1, idx, t2 int) { permute2(a, z(dst), z(t1), z(idx), z(t2)) }

// winograd4Rows offsets (conv_winograd4.go's winograd4Rows): six rows of
// pointer and step, lead, six row cursors, the 36-vector scratch.
const (
	w4Lead = 96
	w4Cur  = 104
	w4Tmp  = 152
)

func winograd4InputKernel(a *asm) {
	a.text("winograd4Input16", "(v *float32, stride, vrow int, rows *winograd4Rows, masks *uint16, groups, chans int)", 56, `
For each of chans channels, writes V = B^T d B of groups*16 tiles into
the 36 planes v + ch*vrow + k*stride (k = 6*row + column of V), tile i
at [i]. rows holds the tiles' six input rows: for row q a pointer and
the bytes to the same row of the next channel (0 for a row of zeros
above or below the image), then lead, 1 when the first tile's first
column lies left of the image (the pointers then point at column 0 and
the kernel reads from one float before, a lane its masks leave out),
then the kernel's row cursors and scratch. Tile i reads floats
4i..4i+5 of each row. Each group loads its rows under five masks from
masks (floats 0..15, 16..31, 32..47, 48..63 and 64..79 of the group's
span: columns outside the image or past the run read as zero) and
stores under a sixth. The kernel advances the row pointers in rows.`)
	a.i("MOVQ v+0(FP), DX")
	a.i("MOVQ stride+8(FP), R8")
	a.i("SHLQ $2, R8")
	a.i("LEAQ (R8)(R8*2), R12")
	a.i("SHLQ $1, R12")
	a.i("MOVQ rows+24(FP), R14")
	a.i("MOVQ chans+48(FP), BX")
	a.i("VMOVDQU32 wino4Even<>(SB), Z31")
	a.i("VMOVDQU32 wino4Odd<>(SB), Z30")
	a.i("VMOVDQU32 wino4Next0<>(SB), Z29")
	a.i("VMOVDQU32 wino4Next1<>(SB), Z28")
	a.i("VBROADCASTSS wino4Four<>(SB), Z27")
	a.i("VBROADCASTSS wino4Five<>(SB), Z26")
	a.i("TESTQ BX, BX")
	a.i("JEQ done")
	a.label("channel")
	a.note("cursor q = this channel's row q, less lead floats; then the row pointers step to the next channel")
	for q := 0; q < 6; q++ {
		a.i("MOVQ %d(R14), R10", 16*q)
		a.i("MOVQ %d(R14), AX", 16*q+8)
		a.i("ADDQ AX, %d(R14)", 16*q)
		a.i("MOVQ %d(R14), AX", w4Lead)
		a.i("SHLQ $2, AX")
		a.i("SUBQ AX, R10")
		a.i("MOVQ R10, %d(R14)", w4Cur+8*q)
	}
	a.i("MOVQ DX, DI")
	a.i("MOVQ masks+32(FP), SI")
	a.i("MOVQ groups+40(FP), CX")
	a.i("TESTQ CX, CX")
	a.i("JEQ next")
	a.label("loop")
	for k, m := range []string{"K1", "K2", "K3", "K4", "K5", "K6"} {
		a.i("KMOVW %d(SI), %s", 2*k, m)
	}
	winograd4InputStep(a)
	a.i("ADDQ $12, SI")
	a.i("ADDQ $64, DI")
	for q := 0; q < 6; q++ {
		a.i("ADDQ $256, %d(R14)", w4Cur+8*q)
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

// winograd4InputStep transforms 16 tiles: row q from the cursor at
// w4Cur+8q(R14), loaded under K1..K5, planes from DI at R8-byte steps
// (R12 = six planes), stored under K6.
func winograd4InputStep(a *asm) {
	for q := 0; q < 6; q++ {
		a.note("row %d: floats 0..79 of the span in Z0..Z4", q)
		a.i("MOVQ %d(R14), R10", w4Cur+8*q)
		for p, k := range []string{"K1", "K2", "K3", "K4", "K5"} {
			a.i("VMOVUPS.Z %d(R10), %s, %s", 64*p, k, z(p))
		}
		a.note("columns 4i..4i+5 (Z9..Z14): even and odd of 0..31 and 32..63, then even and odd of those; 4i+4, 4i+5 one tile on")
		permZ(a, 5, 0, 31, 1)   // floats 0, 2, ..., 30
		permZ(a, 6, 0, 30, 1)   // 1, 3, ..., 31
		permZ(a, 7, 2, 31, 3)   // 32, 34, ..., 62
		permZ(a, 8, 2, 30, 3)   // 33, ..., 63
		permZ(a, 9, 5, 31, 7)   // 0, 4, ..., 60: column 4i
		permZ(a, 11, 5, 30, 7)  // 2, 6, ..., 62: 4i+2
		permZ(a, 10, 6, 31, 8)  // 1, 5, ..., 61: 4i+1
		permZ(a, 12, 6, 30, 8)  // 3, 7, ..., 63: 4i+3
		permZ(a, 13, 9, 29, 4)  // 4, 8, ..., 64: 4i+4
		permZ(a, 14, 10, 28, 4) // 5, 9, ..., 65: 4i+5
		a.note("d B of row %d (Z15..Z20) to the scratch", q)
		bt6(a, [6]int{9, 10, 11, 12, 13, 14}, [6]int{15, 16, 17, 18, 19, 20}, 21, 22, "Z27", "Z26")
		for c := 0; c < 6; c++ {
			a.i("VMOVUPS %s, %d(R14)", z(15+c), w4Tmp+64*(6*q+c))
		}
	}
	for c := 0; c < 6; c++ {
		a.note("column %d: B^T of the six rows' column %d, to planes %d, %d, ..., %d", c, c, c, 6+c, 30+c)
		for q := 0; q < 6; q++ {
			a.i("VMOVUPS %d(R14), %s", w4Tmp+64*(6*q+c), z(q))
		}
		bt6(a, [6]int{0, 1, 2, 3, 4, 5}, [6]int{6, 7, 8, 9, 10, 11}, 12, 13, "Z27", "Z26")
		a.i("MOVQ DI, R9")
		for i := 0; i < c; i++ {
			a.i("ADDQ R8, R9")
		}
		for r := 0; r < 6; r++ {
			a.i("VMOVUPS %s, K6, (R9)", z(6+r))
			if r < 5 {
				a.i("ADDQ R12, R9")
			}
		}
	}
}

func winograd4OutputKernel(a *asm) {
	a.text("winograd4Output16", "(y, m *float32, stride, groups int, bias *float32, relu, ld, st int, res *float32, chans, ystep, mstep, rowstep int, tmp *float32)", 112, `
For each of chans channels, writes the 4x4 output tiles
Y = A^T M A + bias[ch] of groups*16 tiles, then of one more group when
ld != 0, from the 36 planes m + k*stride (tile i at [i]): tile i's
output row r to y + r*rowstep bytes, floats 4i..4i+3. When res is not
nil, the residual (laid out as y) is added next, then ReLU as Go's
max(., 0) when relu != 0. The last group loads under ld and stores the
four vectors of each row under the four 16-bit masks of st, lowest
first. The next channel's rows lie ystep bytes further on (its planes
mstep bytes); tmp is 24 vectors of scratch.`)
	a.i("MOVQ stride+16(FP), R8")
	a.i("SHLQ $2, R8")
	a.i("LEAQ (R8)(R8*2), SI")
	a.i("SHLQ $1, SI")
	a.i("MOVQ bias+32(FP), R14")
	a.i("MOVQ chans+72(FP), R13")
	a.i("MOVQ rowstep+96(FP), R12")
	a.i("MOVQ tmp+104(FP), BX")
	a.i("MOVQ relu+40(FP), DX")
	a.i("VPXORD Z29, Z29, Z29")
	a.i("VMOVDQU32 wino4Lo<>(SB), Z31")
	a.i("VMOVDQU32 wino4Hi<>(SB), Z30")
	a.i("VBROADCASTSS wino4Two<>(SB), Z27")
	a.i("VBROADCASTSS wino4Four<>(SB), Z26")
	a.i("VBROADCASTSS wino4Eight<>(SB), Z25")
	a.note("the tail's masks: K3 loads, K4..K7 the four stores of a row")
	a.i("MOVQ ld+48(FP), AX")
	a.i("KMOVW AX, K3")
	a.i("MOVQ st+56(FP), AX")
	for k := 4; k < 8; k++ {
		a.i("KMOVW AX, K%d", k)
		if k < 7 {
			a.i("SHRQ $16, AX")
		}
	}
	a.i("TESTQ R13, R13")
	a.i("JEQ done")
	a.label("channel")
	a.i("VBROADCASTSS (R14), Z28")
	a.i("MOVQ y+0(FP), DI")
	a.i("MOVQ m+8(FP), R10")
	a.i("MOVQ res+64(FP), R11")
	a.i("MOVQ groups+24(FP), CX")
	a.i("TESTQ CX, CX")
	a.i("JEQ tail")
	a.label("loop")
	winograd4OutputStep(a, false, "l")
	a.i("ADDQ $64, R10")
	a.i("ADDQ $256, DI")
	a.i("ADDQ $256, R11") // a nil residual stays unused
	a.i("DECQ CX")
	a.i("JNZ loop")
	a.label("tail")
	a.i("MOVQ ld+48(FP), AX")
	a.i("TESTQ AX, AX")
	a.i("JEQ next")
	winograd4OutputStep(a, true, "t")
	a.label("next")
	a.note("the next channel: rows ystep bytes on (a nil residual stays nil), planes mstep bytes on, the next bias")
	a.i("MOVQ ystep+80(FP), AX")
	a.i("ADDQ AX, y+0(FP)")
	a.i("MOVQ res+64(FP), R9")
	a.i("TESTQ R9, R9")
	a.i("JEQ keepres")
	a.i("ADDQ AX, res+64(FP)")
	a.label("keepres")
	a.i("MOVQ mstep+88(FP), AX")
	a.i("ADDQ AX, m+8(FP)")
	a.i("ADDQ $4, R14")
	a.i("DECQ R13")
	a.i("JNZ channel")
	a.label("done")
	a.ret()
}

// winograd4OutputStep finishes 16 tiles: planes from R10 at R8-byte steps
// (SI = six planes), scratch at BX, output rows from DI and residual rows
// from R11 at R12-byte steps; masked under K3 (loads) and K4..K7
// (stores). sfx keeps the labels of the two copies apart.
func winograd4OutputStep(a *asm, masked bool, sfx string) {
	for c := 0; c < 6; c++ {
		a.note("column %d: A^T of planes %d, %d, ..., %d, to the scratch", c, c, 6+c, 30+c)
		a.i("MOVQ R10, R9")
		for i := 0; i < c; i++ {
			a.i("ADDQ R8, R9")
		}
		loadPlanes(a, "R9", "SI", maskIf(masked, "K3"), []string{"Z0", "Z1", "Z2", "Z3", "Z4", "Z5"})
		at6(a, [6]int{0, 1, 2, 3, 4, 5}, [4]int{6, 7, 8, 9}, [4]int{10, 11, 12, 13}, "Z27", "Z26", "Z25")
		for r := 0; r < 4; r++ {
			a.i("VMOVUPS %s, %d(BX)", z(6+r), 64*(6*r+c))
		}
	}
	a.i("MOVQ DI, R9")
	a.i("MOVQ R11, AX")
	for r := 0; r < 4; r++ {
		a.note("output row %d: times A, plus bias (Z6..Z9: columns 4i..4i+3), in pixel order (Z18..Z21)", r)
		for c := 0; c < 6; c++ {
			a.i("VMOVUPS %d(BX), %s", 64*(6*r+c), z(c))
		}
		at6(a, [6]int{0, 1, 2, 3, 4, 5}, [4]int{6, 7, 8, 9}, [4]int{10, 11, 12, 13}, "Z27", "Z26", "Z25")
		for c := 0; c < 4; c++ {
			a.i("VADDPS Z28, %s, %s", z(6+c), z(6+c))
		}
		permZ(a, 14, 6, 31, 8)   // y0, y2 of tiles 0..7
		permZ(a, 15, 6, 30, 8)   // tiles 8..15
		permZ(a, 16, 7, 31, 9)   // y1, y3 of tiles 0..7
		permZ(a, 17, 7, 30, 9)   // tiles 8..15
		permZ(a, 18, 14, 31, 16) // tiles 0..3 in pixel order
		permZ(a, 19, 14, 30, 16) // 4..7
		permZ(a, 20, 15, 31, 17) // 8..11
		permZ(a, 21, 15, 30, 17) // 12..15
		lbl := fmt.Sprintf("%d%s", r, sfx)
		a.i("CMPQ res+64(FP), $0")
		a.i("JEQ act%s", lbl)
		for v := 0; v < 4; v++ {
			if masked {
				a.i("VMOVUPS.Z %d(AX), K%d, Z22", 64*v, 4+v)
				a.i("VADDPS Z22, %s, %s", z(18+v), z(18+v))
			} else {
				a.i("VADDPS %d(AX), %s, %s", 64*v, z(18+v), z(18+v))
			}
		}
		a.label("act" + lbl)
		a.i("TESTQ DX, DX")
		a.i("JEQ store" + lbl)
		for v := 0; v < 4; v++ {
			relu(a, z(18+v), "Z29")
		}
		a.label("store" + lbl)
		for v := 0; v < 4; v++ {
			if masked {
				a.i("VMOVUPS %s, K%d, %d(R9)", z(18+v), 4+v, 64*v)
			} else {
				a.i("VMOVUPS %s, %d(R9)", z(18+v), 64*v)
			}
		}
		if r < 3 {
			a.i("ADDQ R12, R9")
			a.i("ADDQ R12, AX")
		}
	}
}
