package main

import "fmt"

// tailMaskTable writes simdTailMask<>: 32 lanes of all ones, then 32 of
// zeros, so that the 32 bytes 4n bytes before the middle are the
// VMASKMOVPS mask of the first n lanes (see tailMask).
func tailMaskTable(a *asm) {
	a.comment(`
32 lanes of all ones then 32 of zeros: 4n bytes before the middle
start the VMASKMOVPS masks of a tail of n < 32 elements.`)
	for l := 0; l < 64; l++ {
		bits := uint32(0xffffffff)
		if l >= 32 {
			bits = 0
		}
		fmt.Fprintf(&a.buf, "DATA simdTailMask<>+%d(SB)/4, $0x%08x\n", 4*l, bits)
	}
	a.buf.WriteString("GLOBL simdTailMask<>(SB), RODATA|NOPTR, $256\n")
}

// tailMask sets the ymm register m to the VMASKMOVPS mask selecting the
// first n lanes (n a register holding 1..7, or up to 31 for the masks of
// the following vectors, which are at 32(R11), 64(R11), ...); masked-off
// lanes are neither read nor written, so a tail never touches memory past
// its slice. Leaves R11 at the mask's table entry; clobbers R12.
func tailMask(a *asm, n, m string) {
	a.note("%s = mask of the first %s lanes", m, n)
	a.i("LEAQ simdTailMask<>+128(SB), R11")
	a.i("MOVQ %s, R12", n)
	a.i("SHLQ $2, R12")
	a.i("SUBQ R12, R11")
	a.i("VMOVDQU (R11), %s", m)
}

// relu sets v = max(v, 0) as Go's max(v, 0) does, with zero a register
// holding +0: VMAXPS returns its second source (v) when either is NaN or
// both are zero, so NaN stays NaN; adding +0 then turns -0 into +0.
func relu(a *asm, v, zero string) {
	a.i("VMAXPS %s, %s, %s", v, zero, v)
	a.i("VADDPS %s, %s, %s", zero, v, v)
}
