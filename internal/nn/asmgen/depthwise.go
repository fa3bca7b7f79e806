package main

import "fmt"

// writeDepthwise writes simdDepthwiseRow.
func writeDepthwise(a *asm) {
	a.comment(`
AVX2 depthwise convolution rows (conv_depthwise.go). Written by
asmgen/depthwise.go.`)
	tailMaskTable(a)
	a.text("simdDepthwiseRow", "(d, src []float32, offs []int, w []float32, b float32)", 100, `
d[i] = b + sum over taps t of w[t]*src[offs[t]+i], 32 outputs at a time
in four accumulators that stay in registers across all taps; the last
1..31 outputs take the same loop over 1, 2 or 4 vectors with masked
loads and stores.`)
	a.i("MOVQ d_base+0(FP), DI")
	a.i("MOVQ d_len+8(FP), CX")
	a.i("MOVQ src_base+24(FP), SI")
	a.i("MOVQ offs_base+48(FP), R8")
	a.i("MOVQ offs_len+56(FP), R9")
	a.i("MOVQ w_base+72(FP), R10")
	a.i("VBROADCASTSS b+96(FP), Y15")

	a.label("loop32")
	a.i("CMPQ CX, $32")
	a.i("JLT tail")
	for v := 0; v < 4; v++ {
		a.i("VMOVAPS Y15, Y%d", v)
	}
	a.i("XORQ AX, AX")
	a.label("taps32")
	tapsLoop(a, "taps32", 4, false)
	for v := 0; v < 4; v++ {
		a.i("VMOVUPS Y%d, %s", v, vecAt("DI", v))
	}
	a.i("ADDQ $128, DI")
	a.i("ADDQ $128, SI")
	a.i("SUBQ $32, CX")
	a.i("JMP loop32")

	// The tail: masks of the 1, 2 or 4 vectors in Y5..Y8 (the table's
	// consecutive entries), accumulators Y0..Y3 started at b.
	a.label("tail")
	a.i("TESTQ CX, CX")
	a.i("JEQ done")
	tailMask(a, "CX", "Y5")
	a.i("VMOVAPS Y15, Y0")
	a.i("XORQ AX, AX")
	a.i("CMPQ CX, $8")
	a.i("JLE taps1")
	a.i("VMOVDQU 32(R11), Y6")
	a.i("VMOVAPS Y15, Y1")
	a.i("CMPQ CX, $16")
	a.i("JLE taps2")
	a.i("VMOVDQU 64(R11), Y7")
	a.i("VMOVDQU 96(R11), Y8")
	a.i("VMOVAPS Y15, Y2")
	a.i("VMOVAPS Y15, Y3")
	for _, t := range []struct {
		nv  int
		doc string
	}{
		{4, "17..31 outputs: four vectors, the last one or two partly or wholly\nmasked off."},
		{2, "9..16 outputs (rows of 14): two vectors."},
		{1, "1..8 outputs (rows of 7): one vector."},
	} {
		label := fmt.Sprintf("taps%d", t.nv)
		a.labelDoc(label, t.doc)
		tapsLoop(a, label, t.nv, true)
		for v := 0; v < t.nv; v++ {
			a.i("VMASKMOVPS Y%d, Y%d, %s", v, 5+v, vecAt("DI", v))
		}
		if t.nv > 1 {
			a.i("JMP done")
		}
	}

	a.label("done")
	a.ret()
}

// tapsLoop writes the body of the loop over taps (AX = 0..R9-1) that
// adds w[t]*src[offs[t]+i] to the nv accumulators Y0..Y(nv-1), looping
// back to label; masked reads the vectors of src under the masks Y5.. into
// Y9.. first.
func tapsLoop(a *asm, label string, nv int, masked bool) {
	a.i("MOVQ (R8)(AX*8), R11")
	a.i("VBROADCASTSS (R10)(AX*4), Y4")
	a.i("LEAQ (SI)(R11*4), R11")
	if masked {
		for v := 0; v < nv; v++ {
			a.i("VMASKMOVPS %s, Y%d, Y%d", vecAt("R11", v), 5+v, 9+v)
		}
		for v := 0; v < nv; v++ {
			a.i("VFMADD231PS Y%d, Y4, Y%d", 9+v, v)
		}
	} else {
		for v := 0; v < nv; v++ {
			a.i("VFMADD231PS %s, Y4, Y%d", vecAt("R11", v), v)
		}
	}
	a.i("INCQ AX")
	a.i("CMPQ AX, R9")
	a.i("JLT %s", label)
}

// vecAt is the memory operand of ymm vector v after the address in reg.
func vecAt(reg string, v int) string {
	if v == 0 {
		return "(" + reg + ")"
	}
	return fmt.Sprintf("%d(%s)", 32*v, reg)
}
