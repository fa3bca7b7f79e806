package main

import (
	"fmt"
	"math"
	"strings"
)

// The constants of expBlock (../act.go), as float32 like there.
var expConsts = []struct {
	sym, what string
	bits      uint32
}{
	{"simdOne", "float32 1", math.Float32bits(1)},
	{"simdSignBit", "float32 sign bit", 0x80000000},
	{"simdAbsMask", "all bits but the float32 sign bit", 0x7fffffff},
	{"simdExpLog2e", "log2e", math.Float32bits(1.44269504088896341)},
	{"simdExpLn2Hi", "ln2Hi", math.Float32bits(0.693359375)},
	{"simdExpLn2Lo", "ln2Lo", math.Float32bits(-2.12194440e-4)},
	{"simdExpRoundMag", "roundMag = 1.5*2^23", math.Float32bits(1.5 * (1 << 23))},
	{"simdExpP0", "expP0", math.Float32bits(5.0000001201e-1)},
	{"simdExpP1", "expP1", math.Float32bits(1.6666665459e-1)},
	{"simdExpP2", "expP2", math.Float32bits(4.1665795894e-2)},
	{"simdExpP3", "expP3", math.Float32bits(8.3334519073e-3)},
	{"simdExpP4", "expP4", math.Float32bits(1.3981999507e-3)},
	{"simdExpP5", "expP5", math.Float32bits(1.9875691500e-4)},
	{"simdExpUpper", "expUpper = 88.37", math.Float32bits(88.37)},
	{"simdExpLower", "expLower = -87.33", math.Float32bits(-87.33)},
	{"simdActUpper", "actUpper = 87 (see simdBiasSiLU)", math.Float32bits(87)},
	{"simdExpBias", "int32 127, the float32 exponent bias", 127},
}

// vec is a vector width: the AVX2 form (8 lanes in ymm registers, masks
// in Y14, constants read as whole 8-lane tables) or the AVX-512 form (16
// lanes in zmm registers, opmask K3, constants broadcast from their
// first lane, 2^k by VSCALEFPS, the reciprocal by VRCP14PS).
type vec struct {
	lanes int
	reg   string // register prefix, "Y" or "Z"
	load  string // loads a constant table into a register
	bcst  string // suffix of instructions taking a constant table as memory operand
	one   string // operand holding 1 in every lane, for DIV1PE
}

var (
	avx2   = vec{8, "Y", "VMOVUPS", "", "simdOne<>(SB)"}
	avx512 = vec{16, "Z", "VBROADCASTSS", ".BCST", "Z13"}
)

// r names vector register n.
func (v vec) r(n int) string { return fmt.Sprintf("%s%d", v.reg, n) }

// tailMask sets the mask of the first CX lanes (CX < lanes): Y14 for
// VMASKMOVPS, K3 for AVX-512.
func (v vec) tailMask(a *asm) {
	if v.lanes == 8 {
		tailMask(a, "CX", "Y14")
		return
	}
	a.note("K3 = mask of the first CX lanes")
	a.i("MOVL $1, AX")
	a.i("SHLL CX, AX")
	a.i("DECL AX")
	a.i("KMOVW AX, K3")
}

// maskedLoad loads the lanes selected by the tail mask from mem into dst,
// the others reading as zero; the masked-off lanes do not fault.
func (v vec) maskedLoad(a *asm, mem, dst string) {
	if v.lanes == 8 {
		a.i("VMASKMOVPS %s, Y14, %s", mem, dst)
	} else {
		a.i("VMOVUPS.Z %s, K3, %s", mem, dst)
	}
}

// maskedStore stores the lanes of src selected by the tail mask to mem.
func (v vec) maskedStore(a *asm, src, mem string) {
	if v.lanes == 8 {
		a.i("VMASKMOVPS %s, Y14, %s", src, mem)
	} else {
		a.i("VMOVUPS %s, K3, %s", src, mem)
	}
}

// applyScalar sets dst = op(mem, scalar) for a whole vector at mem, or,
// in the tail, for the lanes the tail mask selects.
func (v vec) applyScalar(a *asm, tail bool, op, mem, scalar, dst string) {
	if tail {
		v.maskedLoad(a, mem, dst)
		a.i("%s %s, %s, %s", op, dst, scalar, dst)
	} else {
		a.i("%s %s, %s, %s", op, mem, scalar, dst)
	}
}

// inRange jumps to lbl unless every lane of R1 (every lane the mask
// selects, for AVX-512) lies in (expLower, upper); NaN compares false
// (ordered predicates), so it leaves too. Clobbers R2, R3, AX (K1, K2).
func (v vec) inRange(a *asm, upper, lbl string) {
	a.note("to %s unless every lane of %s is in (expLower, %s)", lbl, v.r(1), constName(upper))
	if v.lanes == 8 {
		a.i("VCMPPS $0x1e, simdExpLower<>(SB), Y1, Y2")
		a.i("VCMPPS $0x11, %s, Y1, Y3", upper)
		a.i("VANDPS Y3, Y2, Y2")
		a.i("VMOVMSKPS Y2, AX")
		a.i("CMPL AX, $0xff")
		a.i("JNE %s", lbl)
		return
	}
	a.i("VCMPPS.BCST $0x1e, simdExpLower<>(SB), Z1, K3, K1")
	a.i("VCMPPS.BCST $0x11, %s, Z1, K3, K2", upper)
	a.i("KANDW K1, K2, K1")
	a.i("KXORW K1, K3, K1")
	a.i("KORTESTW K1, K1")
	a.i("JNE %s", lbl)
}

// exp sets R6 = exp(R1) for in-range lanes by expBlock's method: k =
// round(x/ln2) by the round-to-integer constant, r = x - k*ln2 in two
// parts, the Cephes polynomial by Estrin's scheme, times 2^k (built in
// the exponent field for AVX2, by VSCALEFPS for AVX-512). FMA replaces
// expBlock's separate multiply and add, which only removes roundings.
// Clobbers R1..R5.
func (v vec) exp(a *asm) {
	r := v.r
	a.note("%s = exp(%s)", r(6), r(1))
	a.i("%s simdExpRoundMag<>(SB), %s", v.load, r(4))
	a.i("VFMADD231PS%s simdExpLog2e<>(SB), %s, %s", v.bcst, r(1), r(4))
	a.i("VSUBPS%s simdExpRoundMag<>(SB), %s, %s", v.bcst, r(4), r(4))
	a.i("VFNMADD231PS%s simdExpLn2Hi<>(SB), %s, %s", v.bcst, r(4), r(1))
	a.i("VFNMADD231PS%s simdExpLn2Lo<>(SB), %s, %s", v.bcst, r(4), r(1))
	a.i("VMULPS %s, %s, %s", r(1), r(1), r(2))
	// Estrin: (P0 + r*P1) + r^2*((P2 + r*P3) + r^2*(P4 + r*P5)).
	for i, dst := range []int{3, 5, 6} {
		a.i("%s simdExpP%d<>(SB), %s", v.load, 2*i+1, r(dst))
		a.i("VFMADD213PS%s simdExpP%d<>(SB), %s, %s", v.bcst, 2*i, r(1), r(dst))
	}
	a.i("VFMADD213PS %s, %s, %s", r(5), r(2), r(6))
	a.i("VFMADD213PS %s, %s, %s", r(3), r(2), r(6))
	// exp(r) = 1 + r + r^2*q.
	a.i("VADDPS%s simdOne<>(SB), %s, %s", v.bcst, r(1), r(1))
	a.i("VFMADD213PS %s, %s, %s", r(1), r(2), r(6))
	if v.lanes == 8 {
		a.i("VCVTPS2DQ Y4, Y4")
		a.i("VPADDD simdExpBias<>(SB), Y4, Y4")
		a.i("VPSLLD $23, Y4, Y4")
		a.i("VMULPS Y4, Y6, Y6")
	} else {
		a.i("VSCALEFPS Z4, Z6, Z6")
	}
}

// div1pe sets R2 = num / (1 + R6) to about half an ulp, as expBlock's
// callers get by dividing in float64, without a division: s = 1+e is
// split exactly into s + lo (Fast2Sum, larger operand first), 1/s comes
// from the reciprocal instruction and one Newton step, and the quotient
// q0 = num/s is corrected by its residual num - q0*(s+lo), computed with
// FMAs. Needs 1/s to be a normal float32 (s < 2^126): see simdActUpper.
// Clobbers R1, R3..R5.
func (v vec) div1pe(a *asm, num string) {
	r := v.r
	a.note("%s = %s / (1 + %s)", r(2), num, r(6))
	a.i("VADDPS %s, %s, %s", v.one, r(6), r(1))
	a.i("VMAXPS %s, %s, %s", v.one, r(6), r(2))
	a.i("VMINPS %s, %s, %s", v.one, r(6), r(3))
	a.i("VSUBPS %s, %s, %s", r(2), r(1), r(2))
	a.i("VSUBPS %s, %s, %s", r(2), r(3), r(3))
	if v.lanes == 8 {
		a.i("VRCPPS Y1, Y4")
		a.i("VMOVUPS %s, Y5", v.one)
	} else {
		a.i("VRCP14PS Z1, Z4")
		a.i("VMOVAPS %s, Z5", v.one)
	}
	a.i("VFNMADD231PS %s, %s, %s", r(4), r(1), r(5))
	a.i("VFMADD213PS %s, %s, %s", r(4), r(4), r(5))
	a.i("VMULPS %s, %s, %s", r(5), num, r(2))
	a.i("VMOVAPS %s, %s", num, r(4))
	a.i("VFNMADD231PS %s, %s, %s", r(2), r(1), r(4))
	a.i("VFNMADD231PS %s, %s, %s", r(2), r(3), r(4))
	a.i("VFMADD231PS %s, %s, %s", r(4), r(5), r(2))
}

// rangeLoop writes the loop of the kernels that stop at the first vector
// with a lane out of range: whole vectors, then the last 1..lanes-1 under
// the tail mask, each computed by body (which returns the register holding
// the result, to be stored at out, and jumps to stop when out of range).
// CX counts the elements left and BX holds the length; the result at
// ret+retOff is how many elements were written. in is advanced beside out
// when it is another register.
func (v vec) rangeLoop(a *asm, in, out string, retOff int, body func(tail bool) string) {
	loop := fmt.Sprintf("loop%d", v.lanes)
	a.label(loop)
	a.i("CMPQ CX, $%d", v.lanes)
	a.i("JLT tail")
	res := body(false)
	a.i("VMOVUPS %s, (%s)", res, out)
	a.i("ADDQ $%d, %s", 4*v.lanes, out)
	if in != out {
		a.i("ADDQ $%d, %s", 4*v.lanes, in)
	}
	a.i("SUBQ $%d, CX", v.lanes)
	a.i("JMP %s", loop)

	a.label("tail")
	a.i("TESTQ CX, CX")
	a.i("JEQ stop")
	v.tailMask(a)
	res = body(true)
	v.maskedStore(a, res, "("+out+")")
	a.i("XORQ CX, CX")

	a.label("stop")
	a.i("SUBQ CX, BX")
	a.i("MOVQ BX, ret+%d(FP)", retOff)
	a.ret()
}

// writeExp writes simdExp and the AVX2 and AVX-512 SiLU and Sigmoid
// kernels.
func writeExp(a *asm) {
	a.comment(`
exp-based kernels (act.go): exp, and SiLU and Sigmoid with the bias
added first, by expBlock's method, in AVX2 (8 lanes) and AVX-512 (16
lanes: opmask registers for the range test and the tail, VSCALEFPS for
the 2^k scaling and VRCP14PS, 14 bits, for the reciprocal). Same method,
constants and range in both. A kernel stops before the first vector
holding a value outside the range in which the method holds, and
returns how many elements it wrote; the caller finishes in Go. Each
instruction pattern is explained where asmgen/exp.go writes it.`)
	for _, c := range expConsts {
		a.splat(c.sym, c.what+", in all 8 lanes", c.bits, 8)
	}
	tailMaskTable(a)

	a.text("simdExp", "(e, x []float32, sign float32) int", 64, "")
	a.i("MOVQ e_base+0(FP), DI")
	a.i("MOVQ x_base+24(FP), SI")
	a.i("MOVQ x_len+32(FP), CX")
	a.i("MOVQ CX, BX")
	a.i("VBROADCASTSS sign+48(FP), Y15")
	avx2.rangeLoop(a, "SI", "DI", 56, func(tail bool) string {
		avx2.applyScalar(a, tail, "VMULPS", "(SI)", "Y15", "Y1")
		avx2.inRange(a, "simdExpUpper<>(SB)", "stop")
		avx2.exp(a)
		return "Y6"
	})

	for _, v := range []vec{avx2, avx512} {
		suffix := ""
		if v.lanes == 16 {
			suffix = "16"
		}
		// The numerator of v/(1+exp(-v)) for SiLU, of 1/(1+exp(-v))
		// for Sigmoid.
		for _, k := range []struct{ name, num string }{{"simdBiasSiLU", v.r(0)}, {"simdBiasSigmoid", v.r(13)}} {
			biasAct(a, v, k.name+suffix, k.num)
		}
	}
}

// biasAct writes a kernel setting d[i] = num/(1+exp(-v)), v = d[i]+b, with
// num R0 (v: SiLU) or R13 (1: Sigmoid).
func biasAct(a *asm, v vec, name, num string) {
	a.text(name, "(d []float32, b float32) int", 40, "")
	a.i("MOVQ d_base+0(FP), DI")
	a.i("MOVQ d_len+8(FP), CX")
	a.i("MOVQ CX, BX")
	a.i("VBROADCASTSS b+24(FP), %s", v.r(15))
	if v.lanes == 16 {
		a.i("VBROADCASTSS simdOne<>(SB), Z13")
		a.i("MOVL $0xffff, AX")
		a.i("KMOVW AX, K3")
	} else if num == v.r(13) {
		a.i("VMOVUPS simdOne<>(SB), Y13")
	}
	v.rangeLoop(a, "DI", "DI", 32, func(tail bool) string {
		v.applyScalar(a, tail, "VADDPS", "(DI)", v.r(15), v.r(0))
		if v.lanes == 16 {
			absBelow(a, "simdActUpper<>(SB)", "stop")
			a.i("VXORPS.BCST simdSignBit<>(SB), Z0, Z1")
		} else {
			a.i("VXORPS%s simdSignBit<>(SB), %s, %s", v.bcst, v.r(0), v.r(1))
			v.inRange(a, "simdActUpper<>(SB)", "stop")
		}
		v.exp(a)
		v.div1pe(a, num)
		return v.r(2)
	})
}

// absBelow jumps to lbl unless |Z0| < upper in every lane the mask K3
// selects (NaN compares unordered, so it leaves too): one compare of the
// absolute value against the symmetric bound, three instructions where
// inRange's two-sided test takes five. For SiLU and Sigmoid the bound
// actUpper also serves below: the inputs in [actUpper, -expLower) that
// it sends to the Go code get the same result there (v and 1: exp(-v) is
// below half an ulp of 1). Clobbers Z1 and K1.
func absBelow(a *asm, upper, lbl string) {
	a.note("to %s unless |Z0| < %s in every lane", lbl, constName(upper))
	a.i("VANDPS.BCST simdAbsMask<>(SB), Z0, Z1")
	a.i("VCMPPS.BCST $0x15, %s, Z1, K3, K1", upper)
	a.i("KORTESTW K1, K1")
	a.i("JNE %s", lbl)
}

// constName is the act.go name of a constant table operand:
// simdExpUpper<>(SB) is expUpper.
func constName(operand string) string {
	s := strings.TrimSuffix(strings.TrimPrefix(operand, "simd"), "<>(SB)")
	return strings.ToLower(s[:1]) + s[1:]
}
