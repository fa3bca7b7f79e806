package main

import "fmt"

// ewKernel describes one in-place element-wise kernel over d (base DI,
// length CX): d[i] = act(d[i] op x), x either a scalar argument
// broadcast into Y15 or s[i] (base SI).
type ewKernel struct {
	name, goSig string
	args        int    // argument frame size
	scalar      string // the scalar argument and its frame offset ("b+24"), or "" for the second slice s
	op          string // VADDPS or VMULPS
	relu        bool
}

var ewKernels = []ewKernel{
	{"simdBias", "(d []float32, b float32)", 28, "b+24", "VADDPS", false},
	{"simdBiasReLU", "(d []float32, b float32)", 28, "b+24", "VADDPS", true},
	{"simdScale", "(d []float32, f float32)", 28, "f+24", "VMULPS", false},
	{"simdAdd", "(d, s []float32)", 48, "", "VADDPS", false},
	{"simdAddReLU", "(d, s []float32)", 48, "", "VADDPS", true},
}

// writeElementwise writes the element-wise kernels and simdSum64.
func writeElementwise(a *asm) {
	a.comment(`
AVX2 element-wise kernels (ops.go, act.go): any length and alignment,
32 floats (four vectors) per step, then 8, then the last 1..7 under a
VMASKMOVPS lane mask. Written by asmgen/elementwise.go.`)
	tailMaskTable(a)
	for _, k := range ewKernels {
		ewKernelText(a, k)
	}
	max3(a)
	sum64(a)
}

// goMin sets x = min(x, y) exactly as Go's min does: VMINPS returns its
// second source when either is NaN or both are zero, so taking it both
// ways round and OR-ing the results gives NaN for NaN and -0 for a pair
// of zeros with a -0, and the minimum otherwise. t is a scratch register.
func goMin(a *asm, x, y, t string) {
	a.i("VMINPS %s, %s, %s", y, x, t)
	a.i("VMINPS %s, %s, %s", x, y, x)
	a.i("VORPS %s, %s, %s", t, x, x)
}

// max3 writes simdMax3.
func max3(a *asm) {
	a.text("simdMax3", "(d, x, y, z []float32)", 96, `
d[i] = max(x[i], y[i], z[i]) as Go's max computes it, for i < len(d):
max(u, v) = -min(-u, -v), the minimum taken with goMin, so NaN wins and
+0 beats -0. 8 floats per step, the last 1..7 under a lane mask.`)
	a.i("MOVQ d_base+0(FP), DI")
	a.i("MOVQ d_len+8(FP), CX")
	a.i("MOVQ x_base+24(FP), SI")
	a.i("MOVQ y_base+48(FP), R8")
	a.i("MOVQ z_base+72(FP), R9")
	a.note("Y15 = the sign bit in every lane")
	a.i("VPCMPEQD Y15, Y15, Y15")
	a.i("VPSLLD $31, Y15, Y15")
	// body computes Y0 = max of Y0, Y1, Y2 (loaded already).
	body := func() {
		for _, y := range []string{"Y0", "Y1", "Y2"} {
			a.i("VXORPS Y15, %s, %s", y, y)
		}
		goMin(a, "Y0", "Y1", "Y3")
		goMin(a, "Y0", "Y2", "Y3")
		a.i("VXORPS Y15, Y0, Y0")
	}
	a.label("loop8")
	a.i("CMPQ CX, $8")
	a.i("JLT tail")
	a.i("VMOVUPS (SI), Y0")
	a.i("VMOVUPS (R8), Y1")
	a.i("VMOVUPS (R9), Y2")
	body()
	a.i("VMOVUPS Y0, (DI)")
	for _, r := range []string{"DI", "SI", "R8", "R9"} {
		a.i("ADDQ $32, %s", r)
	}
	a.i("SUBQ $8, CX")
	a.i("JMP loop8")

	a.label("tail")
	a.i("TESTQ CX, CX")
	a.i("JEQ done")
	tailMask(a, "CX", "Y14")
	a.i("VMASKMOVPS (SI), Y14, Y0")
	a.i("VMASKMOVPS (R8), Y14, Y1")
	a.i("VMASKMOVPS (R9), Y14, Y2")
	body()
	a.i("VMASKMOVPS Y0, Y14, (DI)")

	a.label("done")
	a.ret()
}

func ewKernelText(a *asm, k ewKernel) {
	a.text(k.name, k.goSig, k.args, "")
	a.i("MOVQ d_base+0(FP), DI")
	a.i("MOVQ d_len+8(FP), CX")
	if k.scalar != "" {
		a.i("VBROADCASTSS %s(FP), Y15", k.scalar)
	} else {
		a.i("MOVQ s_base+24(FP), SI")
	}
	if k.relu {
		a.i("VXORPS Y13, Y13, Y13")
	}
	// step applies the kernel to nv vectors at DI (and SI), in registers
	// Y0..Y(nv-1), and advances the pointers.
	step := func(nv int) {
		y := func(v int) string { return fmt.Sprintf("Y%d", v) }
		if k.scalar != "" {
			for v := 0; v < nv; v++ {
				a.i("%s %s, Y15, %s", k.op, vecAt("DI", v), y(v))
			}
		} else {
			for v := 0; v < nv; v++ {
				a.i("VMOVUPS %s, %s", vecAt("SI", v), y(v))
			}
			for v := 0; v < nv; v++ {
				a.i("%s %s, %s, %s", k.op, vecAt("DI", v), y(v), y(v))
			}
		}
		if k.relu {
			for v := 0; v < nv; v++ {
				relu(a, y(v), "Y13")
			}
		}
		for v := 0; v < nv; v++ {
			a.i("VMOVUPS %s, %s", y(v), vecAt("DI", v))
		}
		a.i("ADDQ $%d, DI", 32*nv)
		if k.scalar == "" {
			a.i("ADDQ $%d, SI", 32*nv)
		}
	}
	a.label("loop32")
	a.i("CMPQ CX, $32")
	a.i("JLT loop8")
	step(4)
	a.i("SUBQ $32, CX")
	a.i("JMP loop32")

	a.label("loop8")
	a.i("CMPQ CX, $8")
	a.i("JLT tail")
	step(1)
	a.i("SUBQ $8, CX")
	a.i("JMP loop8")

	a.label("tail")
	a.i("TESTQ CX, CX")
	a.i("JEQ done")
	tailMask(a, "CX", "Y14")
	a.i("VMASKMOVPS (DI), Y14, Y0")
	if k.scalar != "" {
		a.i("%s Y0, Y15, Y0", k.op)
	} else {
		a.i("VMASKMOVPS (SI), Y14, Y1")
		a.i("%s Y1, Y0, Y0", k.op)
	}
	if k.relu {
		relu(a, "Y0", "Y13")
	}
	a.i("VMASKMOVPS Y0, Y14, (DI)")

	a.label("done")
	a.ret()
}

// sum64 writes simdSum64.
func sum64(a *asm) {
	a.text("simdSum64", "(x []float32) float64", 32, `
The sum of x in float64: 16 lanes of partial sums (four accumulators of
four, so four additions are in flight), then a fixed reduction tree,
then the last 0..3 elements one by one.`)
	a.i("MOVQ x_base+0(FP), SI")
	a.i("MOVQ x_len+8(FP), CX")
	for v := 0; v < 4; v++ {
		a.i("VXORPD Y%d, Y%d, Y%d", v, v, v)
	}

	a.label("loop16")
	a.i("CMPQ CX, $16")
	a.i("JLT loop4")
	a.i("VCVTPS2PD (SI), Y4")
	for v := 1; v < 4; v++ {
		a.i("VCVTPS2PD %d(SI), Y%d", 16*v, 4+v)
	}
	for v := 0; v < 4; v++ {
		a.i("VADDPD Y%d, Y%d, Y%d", 4+v, v, v)
	}
	a.i("ADDQ $64, SI")
	a.i("SUBQ $16, CX")
	a.i("JMP loop16")

	a.label("loop4")
	a.i("CMPQ CX, $4")
	a.i("JLT reduce")
	a.i("VCVTPS2PD (SI), Y4")
	a.i("VADDPD Y4, Y0, Y0")
	a.i("ADDQ $16, SI")
	a.i("SUBQ $4, CX")
	a.i("JMP loop4")

	a.label("reduce")
	a.i("VADDPD Y1, Y0, Y0")
	a.i("VADDPD Y3, Y2, Y2")
	a.i("VADDPD Y2, Y0, Y0")
	a.i("VEXTRACTF128 $1, Y0, X1")
	a.i("VADDPD X1, X0, X0")
	a.i("VPERMILPD $1, X0, X1")
	a.i("VADDSD X1, X0, X0")

	a.label("tail")
	a.i("TESTQ CX, CX")
	a.i("JEQ done")
	a.i("VCVTSS2SD (SI), X1, X1")
	a.i("VADDSD X1, X0, X0")
	a.i("ADDQ $4, SI")
	a.i("DECQ CX")
	a.i("JMP tail")

	a.label("done")
	a.i("VMOVSD X0, ret+24(FP)")
	a.ret()
}
