package main

import "fmt"

const gemmDoc = `
AVX-512 micro-kernels of the packed convolution (conv_packed.go): an
8 x (16*nv) tile of C, 8 output channels by 16*nv output pixels,
accumulated in 8*nv zmm registers (Z0..Z23) over kc depth steps. Each
step loads nv vectors of depth row k of B, found at b + offs[k] floats,
and broadcasts the 8 packed A values of that depth (a[k*8+r]), then
issues 8*nv independent FMAs. With nv = 3 that is 24 FMAs for 11 loads
and one offset read, so the two FMA ports, not the loads, set the pace.

func gemm8xN(kc int, a, b *float32, offs *int32, c *float32, ldc, mask, flags int, bias *float32)

C (8 rows of stride ldc floats) = act((flags&1 != 0 ? C : 0) + A^T B +
(flags&2 != 0 ? bias[r] : 0)), act = max(., 0) when flags&4 != 0 (with
NaN kept and -0 made +0, as Go's max does), else the identity. The last
vector of each row of B and of C is read and written under the lane
mask (bit i = pixel 16*(nv-1)+i), so panels narrower than 16*nv never
touch memory past their last pixel; masked-off lanes do not fault.
`

const narrowDoc = `
Narrow panels: gemm8xR for R = 1..8 pixels, the last panel of a row of
tiles when fewer than 9 pixels are left. The 8x16 kernel would spend 8
broadcasts and 8 full-width FMAs per depth step on them; these hold one
ymm accumulator per pixel instead (its 8 lanes the 8 output channels),
and per depth step load the 8 packed A values of that depth as one
vector, broadcast the R values of depth row k of B and issue R FMAs.
Each output accumulates the same products in the same order, with the
same fused multiply-adds, as in the wide kernels, so the results are
bit for bit the same.

func gemm8xR(kc int, a, b *float32, offs *int32, t *float32)

t[8*j + r] = sum over k of a[8k + r] * b[offs[k] + j], for j < R, r < 8.
The caller adds C, the bias and ReLU (packedPanels).
`

// writeGemm writes the three micro-kernels, which differ only in how many
// 16-lane vectors of pixels they hold per row, and the narrow ones.
func writeGemm(a *asm) {
	a.comment(gemmDoc)
	for nv := 1; nv <= 3; nv++ {
		gemmKernel(a, nv)
	}
	a.comment(narrowDoc)
	for r := 1; r <= 8; r++ {
		gemmNarrowKernel(a, r)
	}
}

// gemmNarrowKernel writes gemm8x<r>: accumulators Y0..Y(r-1), the A vector
// in Y15, broadcasts through Y8..Y14.
func gemmNarrowKernel(a *asm, r int) {
	a.text(fmt.Sprintf("gemm8x%d", r), "(kc int, a, b *float32, offs *int32, t *float32)", 40, "")
	a.i("MOVQ kc+0(FP), SI")
	a.i("MOVQ a+8(FP), AX")
	a.i("MOVQ b+16(FP), BX")
	a.i("MOVQ offs+24(FP), R12")
	a.i("MOVQ t+32(FP), CX")
	for j := 0; j < r; j++ {
		a.i("VXORPS Y%d, Y%d, Y%d", j, j, j)
	}
	a.i("TESTQ SI, SI")
	a.i("JLE done")
	a.label("loop")
	a.i("MOVLQSX (R12), R13")
	a.i("LEAQ (BX)(R13*4), R14")
	a.i("VMOVUPS (AX), Y15")
	for j := 0; j < r; j++ {
		t := 8 + j%7
		a.i("VBROADCASTSS %d(R14), Y%d", 4*j, t)
		a.i("VFMADD231PS Y%d, Y15, Y%d", t, j)
	}
	a.i("ADDQ $32, AX")
	a.i("ADDQ $4, R12")
	a.i("DECQ SI")
	a.i("JNZ loop")
	a.label("done")
	for j := 0; j < r; j++ {
		a.i("VMOVUPS Y%d, %d(CX)", j, 32*j)
	}
	a.ret()
}

func gemmKernel(a *asm, nv int) {
	acc := func(r, v int) string { return fmt.Sprintf("Z%d", r*nv+v) }
	breg := func(v int) string { return fmt.Sprintf("Z%d", 24+v) }
	bcast := []string{"Z27", "Z28", "Z29", "Z30", "Z31"}
	width := 16 * nv

	a.text(fmt.Sprintf("gemm8x%d", width), "(kc int, a, b *float32, offs *int32, c *float32, ldc, mask, flags int, bias *float32)", 72, "")
	a.i("MOVQ kc+0(FP), SI")
	a.i("MOVQ a+8(FP), AX")
	a.i("MOVQ b+16(FP), BX")
	a.i("MOVQ offs+24(FP), R12")
	a.i("MOVQ c+32(FP), CX")
	a.i("MOVQ ldc+40(FP), DX")
	a.i("SHLQ $2, DX")
	a.i("MOVQ mask+48(FP), R8")
	a.i("KMOVW R8, K1")
	for r := 0; r < 8; r++ {
		for v := 0; v < nv; v++ {
			a.i("VPXORD %s, %s, %s", acc(r, v), acc(r, v), acc(r, v))
		}
	}
	a.i("TESTQ SI, SI")
	a.i("JLE done")
	a.label("loop")
	a.i("MOVLQSX (R12), R13")
	a.i("LEAQ (BX)(R13*4), R14")
	for v := 0; v < nv; v++ {
		if v == nv-1 {
			a.i("VMOVUPS.Z %d(R14), K1, %s", 64*v, breg(v))
		} else {
			a.i("VMOVUPS %d(R14), %s", 64*v, breg(v))
		}
	}
	for r := 0; r < 8; r++ {
		t := bcast[r%len(bcast)]
		a.i("VBROADCASTSS %d(AX), %s", 4*r, t)
		for v := 0; v < nv; v++ {
			a.i("VFMADD231PS %s, %s, %s", breg(v), t, acc(r, v))
		}
	}
	a.i("ADDQ $32, AX")
	a.i("ADDQ $4, R12")
	a.i("DECQ SI")
	a.i("JNZ loop")
	a.label("done")
	a.i("MOVQ flags+56(FP), R9")
	a.i("TESTQ $1, R9")
	a.i("JZ bias")
	a.i("MOVQ CX, R10")
	for r := 0; r < 8; r++ {
		for v := 0; v < nv; v++ {
			if v == nv-1 {
				a.i("VMOVUPS.Z %d(R10), K1, Z31", 64*v)
				a.i("VADDPS Z31, %s, %s", acc(r, v), acc(r, v))
			} else {
				a.i("VADDPS %d(R10), %s, %s", 64*v, acc(r, v), acc(r, v))
			}
		}
		if r < 7 {
			a.i("ADDQ DX, R10")
		}
	}
	a.label("bias")
	a.i("TESTQ $2, R9")
	a.i("JZ relu")
	a.i("MOVQ bias+64(FP), R10")
	for r := 0; r < 8; r++ {
		a.i("VBROADCASTSS %d(R10), Z31", 4*r)
		for v := 0; v < nv; v++ {
			a.i("VADDPS Z31, %s, %s", acc(r, v), acc(r, v))
		}
	}
	a.label("relu")
	a.i("TESTQ $4, R9")
	a.i("JZ store")
	a.i("VPXORD Z31, Z31, Z31")
	for r := 0; r < 8; r++ {
		for v := 0; v < nv; v++ {
			relu(a, acc(r, v), "Z31")
		}
	}
	a.label("store")
	for r := 0; r < 8; r++ {
		for v := 0; v < nv; v++ {
			if v == nv-1 {
				a.i("VMOVUPS %s, K1, %d(CX)", acc(r, v), 64*v)
			} else {
				a.i("VMOVUPS %s, %d(CX)", acc(r, v), 64*v)
			}
		}
		if r < 7 {
			a.i("ADDQ DX, CX")
		}
	}
	a.ret()
}
