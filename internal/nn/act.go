package nn

import (
	"fmt"
	"math"

	"github.com/padim-go/padim/internal/tensor"
)

// Activation is an element-wise function a convolution can apply to its
// output while the output tile is still in cache (see Conv2D.ForwardAct).
type Activation int

const (
	ActNone    Activation = iota // identity
	ActReLU                      // max(v, 0)
	ActSiLU                      // v * sigmoid(v), a.k.a. swish
	ActSigmoid                   // 1 / (1 + exp(-v))
)

// String names the activation as PyTorch does.
func (a Activation) String() string {
	switch a {
	case ActNone:
		return "Identity"
	case ActReLU:
		return "ReLU"
	case ActSiLU:
		return "SiLU"
	case ActSigmoid:
		return "Sigmoid"
	}
	return fmt.Sprintf("Activation(%d)", int(a))
}

// Constants of the float32 exp: Cody-Waite reduction with ln2 split in a
// part exact in float32 (ln2Hi has 9 significant bits, so k*ln2Hi is exact
// for |k| < 2^15) and a correction, and the Cephes expf polynomial
// (S. L. Moshier) for (exp(r)-1-r)/r^2 on |r| <= ln2/2.
const (
	log2e    = 1.44269504088896341
	ln2Hi    = 0.693359375
	ln2Lo    = -2.12194440e-4
	roundMag = 1.5 * (1 << 23) // adding it rounds a float32 to an integer
	expP0    = 5.0000001201e-1
	expP1    = 1.6666665459e-1
	expP2    = 4.1665795894e-2
	expP3    = 8.3334519073e-3
	expP4    = 1.3981999507e-3
	expP5    = 1.9875691500e-4
	// Inside (expLower, expUpper) the result is a normal float32 and
	// round(v/ln2) is within [-126, 127], a valid float32 exponent;
	// outside, expf64 handles overflow to +Inf, gradual underflow to 0
	// and NaN.
	expUpper = 88.37
	expLower = -87.33
)

// expBlock sets e[i] = exp(sign*x[i]) for len(x) <= len(e) values, by the
// assembly kernel where there is one, else by expBlockGo.
func expBlock(e, x []float32, sign float32) {
	e = e[:len(x)] // simdExp relies on it
	if !simdEnabled {
		expBlockGo(e, x, sign)
		return
	}
	for len(x) > 0 {
		n := simdExp(e, x, sign)
		e, x = e[n:], x[n:]
		// The vector simdExp stopped at holds a value it does not take.
		c := min(simdWidth, len(x))
		expBlockGo(e, x[:c], sign)
		e, x = e[c:], x[c:]
	}
}

// simdWidth is how many float32s the assembly kernels handle at a time.
const simdWidth = 8

// expBlockGo sets e[i] = exp(sign*x[i]) for len(x) <= len(e) values. It is
// the pure-Go fast exp and the reference of simdExp: a loop body short
// enough to keep several iterations in flight, with the rare out-of-range
// inputs sent to expf64.
func expBlockGo(e, x []float32, sign float32) {
	e = e[:len(x)]
	for i, v := range x {
		v *= sign
		if !(v > expLower && v < expUpper) {
			e[i] = float32(expf64(float64(v)))
			continue
		}
		kf := (v*log2e + roundMag) - roundMag // round(v/ln2)
		r := v - kf*ln2Hi
		r -= kf * ln2Lo
		z := r * r
		// Estrin's scheme: shorter dependency chains than Horner's.
		q := (expP0 + r*expP1) + z*((expP2+r*expP3)+z*(expP4+r*expP5))
		p := (1 + r) + z*q
		e[i] = p * math.Float32frombits(uint32(int32(kf)+127)<<23)
	}
}

// expf64 is exp(x) rounded for float32 use, for the inputs expBlock does
// not take: +Inf above the float32 overflow threshold, denormals and then
// 0 below the underflow one, NaN for NaN.
func expf64(x float64) float64 {
	switch {
	case x != x:
		return x
	case x > 88.72283935546875: // exp is above MaxFloat32 + half an ulp
		return math.Inf(1)
	case x < -103.98: // exp is below half the smallest denormal float32
		return 0
	}
	return math.Exp(x)
}

// Expf is exp(x) in float32 by the package's fast kernel: within one ulp
// of the correctly rounded value (relative error below 1.2e-7), +Inf above
// 88.72, gradual underflow to 0 below -87.33, NaN for NaN.
func Expf(x float32) float32 {
	var e [1]float32
	expBlock(e[:], []float32{x}, 1)
	return e[0]
}

// applyAct applies a in place to d.
func applyAct(d []float32, a Activation) {
	if simdEnabled {
		// Adding +0 changes nothing but -0 into +0, which no caller tells apart.
		biasAct(d, 0, a)
		return
	}
	switch a {
	case ActReLU:
		reluSlice(d)
	case ActSiLU:
		siluSlice(d)
	case ActSigmoid:
		sigmoidSlice(d)
	}
}

// biasAct adds b to every element of d and applies a, reading and writing
// each element once with the assembly kernels.
//
// Measured on the (shared, loaded) development machine, BenchmarkBiasAct,
// 64 rows of 1024 floats in L2 including the copy restoring them, per
// call of the benchmark loop, pure Go / AVX2 / AVX-512: bias alone 64-155
// / 27-47 µs; ReLU 114-184 / 17-33 µs; SiLU 483-605 / 81-138 / 46-72 µs;
// Sigmoid 452-484 / 67-95 / 52-65 µs. AVX-512 is used for SiLU and
// Sigmoid only, where it gained 1.5x over AVX2 back to back; the
// memory-bound kernels are already at L2 bandwidth with AVX2.
func biasAct(d []float32, b float32, a Activation) {
	if !simdEnabled {
		biasActGo(d, b, a)
		return
	}
	switch a {
	case ActNone:
		if b != 0 {
			simdBias(d, b)
		}
	case ActReLU:
		simdBiasReLU(d, b)
	case ActSiLU:
		if simd512 {
			biasExpActSIMD(d, b, ActSiLU, simdBiasSiLU16, 2*simdWidth)
		} else {
			biasExpActSIMD(d, b, ActSiLU, simdBiasSiLU, simdWidth)
		}
	case ActSigmoid:
		if simd512 {
			biasExpActSIMD(d, b, ActSigmoid, simdBiasSigmoid16, 2*simdWidth)
		} else {
			biasExpActSIMD(d, b, ActSigmoid, simdBiasSigmoid, simdWidth)
		}
	}
}

// biasExpActSIMD runs kernel, an assembly form of biasAct for the
// exp-based activation a on vectors of width lanes, over d. Where the
// kernel stops, at a vector with a lane outside its range, that vector
// goes through biasActGo, which gives such values the exact semantics of
// expf64 (+Inf, gradual underflow, NaN), and the kernel resumes after it.
func biasExpActSIMD(d []float32, b float32, a Activation, kernel func([]float32, float32) int, width int) {
	for len(d) > 0 {
		d = d[kernel(d, b):]
		if len(d) == 0 {
			// The usual end. biasActGo on nothing still clears the
			// exp buffer on its stack, and the squeeze-and-excitation
			// convolutions call this once per channel of 1x1 output.
			return
		}
		c := d[:min(width, len(d))]
		biasActGo(c, b, a)
		d = d[len(c):]
	}
}

// biasActGo is biasAct in pure Go, the reference of the assembly kernels.
// For ReLU it is one pass; for the exp-based activations the bias pass
// leaves d in L1.
func biasActGo(d []float32, b float32, a Activation) {
	if a == ActReLU {
		biasReLUGo(d, b)
		return
	}
	if b != 0 {
		biasGo(d, b)
	}
	switch a {
	case ActSiLU:
		siluSlice(d)
	case ActSigmoid:
		sigmoidSlice(d)
	}
}

func biasGo(d []float32, b float32) {
	for i := range d {
		d[i] += b
	}
}

func biasReLUGo(d []float32, b float32) {
	for i, v := range d {
		d[i] = relu32(v + b)
	}
}

// relu32 is max(v, 0) with NaN kept. The builtin compiles to a branch-free
// MINSS sequence; the obvious "if v < 0" mispredicts on half of all
// activations and measured 4x slower.
func relu32(v float32) float32 { return max(v, 0) }

func reluSlice(d []float32) {
	for i, v := range d {
		d[i] = relu32(v)
	}
}

// expChunk is how many values the activations exponentiate at a time into
// a stack buffer, small enough to stay in L1 for the second pass.
const expChunk = 256

// The final division runs in float32, as torch's float32 SiLU and Sigmoid
// do and as the assembly kernels' VDIVPS does (so that they give the same
// values): 1+e rounded, then a correctly rounded quotient, within exp's
// error plus two float32 roundings. Where exp(-v) overflows (v < -88.72)
// the result is exactly 0, as in torch.

func siluSlice(d []float32) {
	var e [expChunk]float32
	for len(d) > 0 {
		c := d[:min(len(d), expChunk)]
		expBlockGo(e[:], c, -1)
		ec := e[:len(c)]
		for i, v := range c {
			c[i] = v / (1 + ec[i])
		}
		d = d[len(c):]
	}
}

func sigmoidSlice(d []float32) {
	var e [expChunk]float32
	for len(d) > 0 {
		c := d[:min(len(d), expChunk)]
		expBlockGo(e[:], c, -1)
		ec := e[:len(c)]
		for i := range c {
			c[i] = 1 / (1 + ec[i])
		}
		d = d[len(c):]
	}
}

// elementwiseChunk is the smallest slice worth a goroutine of its own.
const elementwiseChunk = 1 << 15

// ReLU clamps x at zero in place and returns it. NaN stays NaN.
func ReLU(x *tensor.Tensor) *tensor.Tensor {
	parallelRange(len(x.Data), elementwiseChunk, func(lo, hi int) { applyAct(x.Data[lo:hi], ActReLU) })
	return x
}

// Sigmoid applies 1/(1+exp(-v)) in place and returns x.
func Sigmoid(x *tensor.Tensor) *tensor.Tensor {
	parallelRange(len(x.Data), elementwiseChunk/4, func(lo, hi int) { applyAct(x.Data[lo:hi], ActSigmoid) })
	return x
}

// SiLU applies v*sigmoid(v) (a.k.a. swish) in place and returns x.
func SiLU(x *tensor.Tensor) *tensor.Tensor {
	parallelRange(len(x.Data), elementwiseChunk/4, func(lo, hi int) { applyAct(x.Data[lo:hi], ActSiLU) })
	return x
}

// Apply applies a in place to x and returns x.
func (a Activation) Apply(x *tensor.Tensor) *tensor.Tensor {
	switch a {
	case ActReLU:
		return ReLU(x)
	case ActSiLU:
		return SiLU(x)
	case ActSigmoid:
		return Sigmoid(x)
	}
	return x
}
