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

// Constants of expf64. Rounding x*log2(e) to the nearest integer k with the
// 1.5*2^52 trick needs no branch and no call to math.Round.
const (
	log2e     = 1.44269504088896340735992468100189214
	ln2       = 0.693147180559945309417232121458176568
	roundMag  = 1 << 52 * 1.5
	expfUpper = 88.72283935546875   // largest float32 x with exp(x) finite in float32 (rounded)
	expfLower = -103.97283935546875 // below this exp(x) rounds to 0 in float32
)

// expf64 is exp(x) for x taken from a float32, accurate to a few parts in
// 1e9 (far inside float32's half-ulp of 6e-8), and about three times
// faster than math.Exp because it only needs to serve float32 results:
//
//	k = round(x*log2(e)), r = x - k*ln2 (|r| <= ln2/2, exact enough in float64
//	because x has only 24 significant bits), exp(r) by its degree-7 Taylor
//	polynomial (truncation error r^8/8! < 5.3e-9), times 2^k built in the
//	exponent bits.
//
// x above the float32 overflow threshold gives +Inf, below the underflow
// threshold 0, NaN gives NaN.
func expf64(x float64) float64 {
	if !(x > expfLower) { // also catches NaN
		if x != x {
			return x
		}
		return 0
	}
	if x > expfUpper {
		return math.Inf(1)
	}
	t := x*log2e + roundMag
	kf := t - roundMag
	k := int64(kf)
	r := x - kf*ln2
	// Estrin's scheme keeps the dependency chain short.
	r2 := r * r
	p01 := 1 + r
	p23 := 1.0/2 + r*(1.0/6)
	p45 := 1.0/24 + r*(1.0/120)
	p67 := 1.0/720 + r*(1.0/5040)
	r4 := r2 * r2
	p := (p01 + r2*p23) + r4*(p45+r2*p67)
	return p * math.Float64frombits(uint64(k+1023)<<52)
}

// Expf is exp(x) in float32 through expf64: correctly saturating (+Inf
// above 88.72, 0 below -103.97), NaN in NaN out, relative error within
// float32 rounding of math.Exp.
func Expf(x float32) float32 { return float32(expf64(float64(x))) }

// sigmoid64 is 1/(1+exp(-v)); exp overflowing to +Inf gives exactly 0.
func sigmoid64(v float32) float64 { return 1 / (1 + expf64(-float64(v))) }

// applyAct applies a in place to d.
func applyAct(d []float32, a Activation) {
	switch a {
	case ActReLU:
		reluSlice(d)
	case ActSiLU:
		siluSlice(d)
	case ActSigmoid:
		sigmoidSlice(d)
	}
}

// biasAct adds b to every element of d and applies a, in one pass.
func biasAct(d []float32, b float32, a Activation) {
	switch a {
	case ActNone:
		if b != 0 {
			for i := range d {
				d[i] += b
			}
		}
	case ActReLU:
		for i, v := range d {
			d[i] = relu32(v + b)
		}
	case ActSiLU:
		for i, v := range d {
			v += b
			d[i] = float32(float64(v) * sigmoid64(v))
		}
	case ActSigmoid:
		for i, v := range d {
			d[i] = float32(sigmoid64(v + b))
		}
	}
}

// relu32 is max(v, 0) with NaN kept, written so the compiler emits a
// conditional move rather than a data-dependent branch.
func relu32(v float32) float32 {
	if v < 0 {
		v = 0
	}
	return v
}

func reluSlice(d []float32) {
	for i, v := range d {
		d[i] = relu32(v)
	}
}

func siluSlice(d []float32) {
	for i, v := range d {
		d[i] = float32(float64(v) * sigmoid64(v))
	}
}

func sigmoidSlice(d []float32) {
	for i, v := range d {
		d[i] = float32(sigmoid64(v))
	}
}

// elementwiseChunk is the smallest slice worth a goroutine of its own.
const elementwiseChunk = 1 << 15

// ReLU clamps x at zero in place and returns it. NaN stays NaN.
func ReLU(x *tensor.Tensor) *tensor.Tensor {
	parallelRange(len(x.Data), elementwiseChunk, func(lo, hi int) { reluSlice(x.Data[lo:hi]) })
	return x
}

// Sigmoid applies 1/(1+exp(-v)) in place and returns x.
func Sigmoid(x *tensor.Tensor) *tensor.Tensor {
	parallelRange(len(x.Data), elementwiseChunk/4, func(lo, hi int) { sigmoidSlice(x.Data[lo:hi]) })
	return x
}

// SiLU applies v*sigmoid(v) (a.k.a. swish) in place and returns x.
func SiLU(x *tensor.Tensor) *tensor.Tensor {
	parallelRange(len(x.Data), elementwiseChunk/4, func(lo, hi int) { siluSlice(x.Data[lo:hi]) })
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
