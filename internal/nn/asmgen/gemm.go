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
Narrow panels: the last 1..8 pixels of a row of tiles. The 8x16 kernel
would spend 8 broadcasts and 8 full-width FMAs per depth step on them.
These kernels hold one ymm accumulator per channel panel and pixel (its 8
lanes the panel's 8 output channels) and take P panels of A at once, so
that P*R independent sums hide the FMA latency: per depth step they load
the 8 packed A values of that depth of each panel as one vector,
broadcast the R values of depth row k of B and issue P*R FMAs. Each
output accumulates the same products in the same order, with the same
fused multiply-adds, as in the wide kernels, so the results are bit for
bit the same.

func gemmPxR(kc int, a *float32, ps int, b *float32, offs *int32, t *float32)

t[8*(p*R + j) + r] = sum over k of a[p*ps + 8k + r] * b[offs[k] + j],
for p < P panels, j < R pixels, r < 8 channels. The caller adds C, the
bias and ReLU (packedNarrow).
`

// narrowShapes are the (panels, pixels) of the narrow kernels: four
// panels up to six pixels, two for seven and eight (4*R accumulators, R
// broadcasts and the A vector must fit the 32 vector registers), and one
// panel for the channel blocks left over.
var narrowShapes = func() (s [][2]int) {
	for r := 1; r <= 8; r++ {
		p := 4
		if r > 6 {
			p = 2
		}
		s = append(s, [2]int{p, r}, [2]int{1, r})
	}
	return s
}()

// writeGemm writes the three micro-kernels, which differ only in how many
// 16-lane vectors of pixels they hold per row, and the narrow ones.
func writeGemm(a *asm) {
	a.comment(gemmDoc)
	for nv := 1; nv <= 3; nv++ {
		gemmKernel(a, nv)
	}
	a.comment(narrowDoc)
	for _, pr := range narrowShapes {
		gemmNarrowKernel(a, pr[0], pr[1])
	}
}

// gemmNarrowKernel writes gemm<p>x<r>: accumulators Y0..Y(p*r-1) (pixel j
// of panel q in Y(q*r+j)), broadcasts in Y(p*r)..Y(p*r+r-1), the A vector
// in Y31.
func gemmNarrowKernel(a *asm, p, r int) {
	acc := func(q, j int) int { return q*r + j }
	a.text(fmt.Sprintf("gemm%dx%d", p, r), "(kc int, a *float32, ps int, b *float32, offs *int32, t *float32)", 48, "")
	a.i("MOVQ kc+0(FP), SI")
	a.i("MOVQ a+8(FP), AX")
	a.i("MOVQ ps+16(FP), DX")
	a.i("SHLQ $2, DX")
	a.i("MOVQ b+24(FP), BX")
	a.i("MOVQ offs+32(FP), R12")
	a.i("MOVQ t+40(FP), CX")
	var accs []string
	for q := 0; q < p; q++ {
		for j := 0; j < r; j++ {
			accs = append(accs, fmt.Sprintf("Y%d", acc(q, j)))
		}
	}
	depthLoopStart(a, accs)
	for j := 0; j < r; j++ {
		a.i("VBROADCASTSS %d(R14), Y%d", 4*j, p*r+j)
	}
	a.i("MOVQ AX, DI")
	for q := 0; q < p; q++ {
		a.i("VMOVUPS (DI), Y31")
		for j := 0; j < r; j++ {
			a.i("VFMADD231PS Y%d, Y31, Y%d", p*r+j, acc(q, j))
		}
		if q < p-1 {
			a.i("ADDQ DX, DI")
		}
	}
	a.i("ADDQ $32, AX")
	a.i("ADDQ $4, R12")
	a.i("DECQ SI")
	a.i("JNZ loop")
	a.label("done")
	for q := 0; q < p; q++ {
		for j := 0; j < r; j++ {
			a.i("VMOVUPS Y%d, %d(CX)", acc(q, j), 32*acc(q, j))
		}
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
	var accs []string
	for r := 0; r < 8; r++ {
		for v := 0; v < nv; v++ {
			accs = append(accs, acc(r, v))
		}
	}
	depthLoopStart(a, accs)
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

// depthLoopStart clears the accumulators, skips to done when the depth
// (SI) is not positive, and opens the loop over depth steps: R14 = the
// step's row of B, b (BX) + 4*offs[k] (R12 points at offs[k]).
func depthLoopStart(a *asm, accs []string) {
	for _, r := range accs {
		a.i("VPXORD %s, %s, %s", r, r, r)
	}
	a.i("TESTQ SI, SI")
	a.i("JLE done")
	a.label("loop")
	a.i("MOVLQSX (R12), R13")
	a.i("LEAQ (BX)(R13*4), R14")
}
