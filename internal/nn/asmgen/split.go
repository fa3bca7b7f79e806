package main

// writeSplit writes simdSplit2.
func writeSplit(a *asm) {
	a.comment(`
AVX2 stride-2 phase split of the packed and depthwise convolutions'
input copies (conv_packed.go). Written by asmgen/split.go.`)
	a.text("simdSplit2", "(first, second, in *float32, pairs int) int", 40, `
first[j] = in[2j] and second[j] = in[2j+1] for j below pairs rounded
down to a multiple of 8; a nil first or second is not written. Per 16
inputs a, b (two vectors): VSHUFPS picks a0 a2 b0 b2 | a4 a6 b4 b6 (or
the odd lanes) within 128-bit lanes, and VPERMPD 0xD8 puts the 64-bit
pairs in order: a0 a2 a4 a6 b0 b2 b4 b6.`)
	a.i("MOVQ first+0(FP), DI")
	a.i("MOVQ second+8(FP), SI")
	a.i("MOVQ in+16(FP), DX")
	a.i("MOVQ pairs+24(FP), CX")
	a.i("XORQ AX, AX")

	a.label("split2loop")
	a.i("LEAQ 8(AX), BX")
	a.i("CMPQ BX, CX")
	a.i("JGT split2done")
	a.i("VMOVUPS (DX), Y0")
	a.i("VMOVUPS 32(DX), Y1")
	splitPhase(a, "DI", "$0x88", "Y2", "split2odd")
	a.label("split2odd")
	splitPhase(a, "SI", "$0xDD", "Y3", "split2next")
	a.label("split2next")
	a.i("ADDQ $64, DX")
	a.i("MOVQ BX, AX")
	a.i("JMP split2loop")

	a.label("split2done")
	a.i("MOVQ AX, ret+32(FP)")
	a.ret()
}

// splitPhase stores the 8 even (shuf $0x88) or odd ($0xDD) floats of
// Y0:Y1 at dst + 4*AX, through tmp, unless dst is nil (then it jumps to
// skip).
func splitPhase(a *asm, dst, shuf, tmp, skip string) {
	a.i("TESTQ %s, %s", dst, dst)
	a.i("JEQ %s", skip)
	a.i("VSHUFPS %s, Y1, Y0, %s", shuf, tmp)
	a.i("VPERMPD $0xD8, %s, %s", tmp, tmp)
	a.i("VMOVUPS %s, (%s)(AX*4)", tmp, dst)
}
