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
	base  int    // number of the register r(0) names (second stream: 16)
}

var (
	avx2   = vec{8, "Y", "VMOVUPS", "", "simdOne<>(SB)", 0}
	avx512 = vec{16, "Z", "VBROADCASTSS", ".BCST", "Z14", 0}
)

// r names vector register n.
func (v vec) r(n int) string { return fmt.Sprintf("%s%d", v.reg, v.base+n) }

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
		a.i("VSCALEFPS %s, %s, %s", r(4), r(6), r(6))
	}
}

// div1pe sets R2 = num / (1 + R6) as siluSlice and sigmoidSlice do, in
// float32: 1+e rounded, then divided, the division correctly rounded (as
// torch computes SiLU and Sigmoid in float32). The divider runs beside the
// FMA ports; a division by reciprocal, Newton step and residual
// correction (to half an ulp of the float64 quotient) had taken 12 of the
// 33 instructions per vector of SiLU and made it 1.6x slower
// (BenchmarkBiasAct). Clobbers R1.
func (v vec) div1pe(a *asm, num string) {
	r := v.r
	a.note("%s = %s / (1 + %s)", r(2), num, r(6))
	a.i("VADDPS %s, %s, %s", v.one, r(6), r(1))
	a.i("VDIVPS %s, %s, %s", r(1), num, r(2))
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
		one := v.r(13) // AVX2: Y13 holds 1 for Sigmoid
		if v.lanes == 16 {
			one = v.one
		}
		for _, k := range []struct{ name, num string }{{"simdBiasSiLU", v.r(0)}, {"simdBiasSigmoid", one}} {
			biasAct(a, v, k.name+suffix, k.num)
		}
	}
}

// biasAct writes a kernel setting d[i] = num/(1+exp(-v)), v = d[i]+b, with
// num R0 (v: SiLU) or the register holding 1 (Sigmoid: Y13, Z14).
func biasAct(a *asm, v vec, name, num string) {
	a.text(name, "(d []float32, b float32) int", 40, "")
	a.i("MOVQ d_base+0(FP), DI")
	a.i("MOVQ d_len+8(FP), CX")
	a.i("MOVQ CX, BX")
	a.i("VBROADCASTSS b+24(FP), %s", v.r(15))
	if v.lanes == 16 {
		a.i("VBROADCASTSS simdOne<>(SB), %s", v.one)
		a.i("MOVL $0xffff, AX")
		a.i("KMOVW AX, K3")
	} else if num == v.r(13) {
		a.i("VMOVUPS simdOne<>(SB), Y13")
	}
	if v.lanes == 16 {
		biasActWide(a, v, num)
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

// biasActWide writes the AVX-512 kernels' main loop, two vectors per
// step, each in its own seven registers (Z0.., Z16..; Z14 holds 1 and Z15
// the bias), their instructions interleaved: a vector's exp and division
// are one chain of dependent instructions, and two chains side by side
// keep the ports busier. BenchmarkBiasAct, SiLU: 5% faster than one vector
// per step; four per step (Z7.. and Z23.. too) were no faster than two.
// A step with a lane out of range goes to the one-vector loop (loop16),
// which stops at the vector that holds it.
func biasActWide(a *asm, v vec, num string) {
	bases := []int{0, 16}
	n := len(bases)
	streams := make([]func(*asm), n)
	var load, test, neg, store []string
	for i, base := range bases {
		w := v
		w.base = base
		wnum := num
		if num == v.r(0) {
			wnum = w.r(0)
		}
		streams[i] = func(a *asm) { w.exp(a); w.div1pe(a, wnum) }
		load = append(load, fmt.Sprintf("VADDPS %d(DI), Z15, %s", 64*i, w.r(0)))
		test = append(test, fmt.Sprintf("VANDPS.BCST simdAbsMask<>(SB), %s, %s", w.r(0), w.r(1)),
			fmt.Sprintf("VCMPPS.BCST $0x15, simdActUpper<>(SB), %s, K3, K%d", w.r(1), 4+i))
		neg = append(neg, fmt.Sprintf("VXORPS.BCST simdSignBit<>(SB), %s, %s", w.r(0), w.r(1)))
		store = append(store, fmt.Sprintf("VMOVUPS %s, %d(DI)", w.r(2), 64*i))
	}
	wide := fmt.Sprintf("loop%d", 16*n)
	a.label(wide)
	a.i("CMPQ CX, $%d", 16*n)
	a.i("JLT loop16")
	for _, l := range load {
		a.i("%s", l)
	}
	a.note("to loop16 unless every lane of the %d vectors has |v| < actUpper", n)
	for _, l := range test {
		a.i("%s", l)
	}
	for i := 1; i < n; i++ {
		a.i("KORW K%d, K4, K4", 4+i)
	}
	a.i("KORTESTW K4, K4")
	a.i("JNE loop16")
	for _, l := range neg {
		a.i("%s", l)
	}
	interleave(a, streams...)
	for _, l := range store {
		a.i("%s", l)
	}
	a.i("ADDQ $%d, DI", 64*n)
	a.i("SUBQ $%d, CX", 16*n)
	a.i("JMP %s", wide)
}

// interleave writes the instructions of the streams in turn, one of each
// at a time, keeping the first stream's notes (the others compute the
// same on other registers). The streams must be equally long.
func interleave(a *asm, streams ...func(*asm)) {
	lines := make([][]string, len(streams))
	for i, write := range streams {
		sub := &asm{}
		write(sub)
		for _, l := range strings.Split(strings.TrimRight(sub.buf.String(), "\n"), "\n") {
			if strings.HasPrefix(l, "\t//") && i > 0 {
				continue
			}
			lines[i] = append(lines[i], l)
		}
	}
	j := 0
	for _, l := range lines[0] {
		a.buf.WriteString(l + "\n")
		if strings.HasPrefix(l, "\t//") {
			continue
		}
		for _, other := range lines[1:] {
			a.buf.WriteString(other[j] + "\n")
		}
		j++
	}
	for _, other := range lines[1:] {
		if j != len(other) {
			panic("asmgen: interleaved streams differ in length")
		}
	}
}
