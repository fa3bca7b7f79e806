//go:build !amd64 || purego

package nn

// asmKernels reports that this build has no assembly kernels: not amd64,
// or built with the purego tag.
const asmKernels = false

// Without the assembly the kernels are the pure-Go loops: simdEnabled and
// simd512 are false, so the dispatching code never calls the functions
// below, which exist so that it compiles.
var simdEnabled = false

func simdBias(d []float32, b float32) { biasGo(d, b) }

func simdBiasReLU(d []float32, b float32) { biasReLUGo(d, b) }

func simdScale(d []float32, f float32) { scaleGo(d, f) }

func simdAdd(d, s []float32) { addGo(d, s) }

func simdAddReLU(d, s []float32) { addReLUGo(d, s) }

func simdMax3(d, x, y, z []float32) { max3Go(d, x, y, z) }

func simdExp(e, x []float32, sign float32) int {
	expBlockGo(e, x, sign)
	return len(x)
}

func simdBiasSiLU(d []float32, b float32) int {
	biasGo(d, b)
	siluSlice(d)
	return len(d)
}

func simdBiasSigmoid(d []float32, b float32) int {
	biasGo(d, b)
	sigmoidSlice(d)
	return len(d)
}

func simdDepthwiseRow(d, src []float32, offs []int, w []float32, b float32) {
	depthwiseRowGo(d, src, offs, w, b)
}

func simdSum64(x []float32) float64 { return sum64Go(x) }

var simd512 = false

func simdBiasSiLU16(d []float32, b float32) int { return simdBiasSiLU(d, b) }

func simdBiasSigmoid16(d []float32, b float32) int { return simdBiasSigmoid(d, b) }

func simdSplit2(first, second, in *float32, pairs int) int { return 0 }

var winograd512 = false

func winogradInput16(v *float32, stride, vrow int, rows *winogradRows, masks *uint16, groups, chans int) {
	panic("nn: no assembly kernels in this build")
}

func winogradOutput16(y0, y1, m *float32, stride, groups int, bias *float32, relu, ld, lo, hi int, r0, r1 *float32, chans, ystep, mstep int) {
	panic("nn: no assembly kernels in this build")
}

func winograd4Input16(v *float32, stride, vrow int, rows *winograd4Rows, masks *uint16, groups, chans int) {
	panic("nn: no assembly kernels in this build")
}

func winograd4Output16(y, m *float32, stride, groups int, bias *float32, relu, ld, st int, res *float32, chans, ystep, mstep, rowstep int, tmp *float32) {
	panic("nn: no assembly kernels in this build")
}
