package nn

import (
	"math"
	"testing"

	"github.com/padim-go/padim/internal/tensor"
)

// float32Grid returns every step-th float32 in [lo, hi] (walking the bit
// patterns, so the grid is dense in ulps everywhere), plus hi.
func float32Grid(lo, hi float32, step int64) []float32 {
	// ordered maps float32s to integers monotonically, neighbours to neighbours.
	ordered := func(v float32) int64 {
		b := math.Float32bits(v)
		if b>>31 != 0 {
			return -int64(b &^ (1 << 31))
		}
		return int64(b)
	}
	unordered := func(o int64) float32 {
		if o < 0 {
			return math.Float32frombits(uint32(-o) | 1<<31)
		}
		return math.Float32frombits(uint32(o))
	}
	var g []float32
	for o := ordered(lo); o < ordered(hi); o += step {
		g = append(g, unordered(o))
	}
	return append(g, hi)
}

// expReference is exp correctly rounded to float32 (math.Exp is within
// 1 ulp of float64, far finer than float32's).
func expReference(x float32) float32 { return float32(math.Exp(float64(x))) }

// ulpDiff counts the float32 values between got and want (0 if equal).
func ulpDiff(got, want float32) int64 {
	ordered := func(v float32) int64 {
		b := math.Float32bits(v)
		if b>>31 != 0 {
			return -int64(b &^ (1 << 31))
		}
		return int64(b)
	}
	d := ordered(got) - ordered(want)
	if d < 0 {
		d = -d
	}
	return d
}

// relErr32 is |got-want|/|want|, with results below the smallest normal
// float32 compared absolutely (their relative precision is not float32's).
func relErr32(got, want float32) float64 {
	d := math.Abs(float64(got) - float64(want))
	if math.Abs(float64(want)) < 0x1p-126 {
		return d / 0x1p-126
	}
	return d / math.Abs(float64(want))
}

func TestExpfAccuracy(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lo, hi float32
		step   int64
	}{
		{"typical", -20, 20, 613},
		{"wide", -110, 100, 997},
		{"near zero", -1e-3, 1e-3, 1013},
		{"overflow edge", 88.5, 89, 1},
		{"underflow edge", -104.5, -103, 1},
		{"denormal results", -103.9, -87, 101},
	} {
		t.Run(tc.name, func(t *testing.T) {
			worst, at := 0.0, float32(0)
			for _, x := range float32Grid(tc.lo, tc.hi, tc.step) {
				got, want := Expf(x), expReference(x)
				if math.IsInf(float64(want), 1) || math.IsInf(float64(got), 1) {
					if got != want {
						t.Fatalf("Expf(%v) = %v, want %v", x, got, want)
					}
					continue
				}
				if u := ulpDiff(got, want); u > 1 {
					t.Fatalf("Expf(%v) = %v, want %v: %d ulps apart", x, got, want, u)
				}
				if e := relErr32(got, want); e > worst {
					worst, at = e, x
				}
			}
			// Within one ulp of the correctly rounded value is a relative
			// error of at most 2^-23 = 1.19e-7.
			if worst > 1.2e-7 {
				t.Fatalf("worst relative error %.3g at x = %v (Expf %v, exp %v)", worst, at, Expf(at), expReference(at))
			}
			t.Logf("worst relative error %.3g at %v", worst, at)
		})
	}
}

func TestExpfSpecialValues(t *testing.T) {
	inf := float32(math.Inf(1))
	for _, tc := range []struct {
		x, want float32
	}{
		{0, 1},
		{float32(math.Copysign(0, -1)), 1},
		{inf, inf},
		{-inf, 0},
		{89, inf},
		{1000, inf},
		{math.MaxFloat32, inf},
		{-105, 0},
		{-math.MaxFloat32, 0},
		{1, float32(math.E)},
	} {
		if got := Expf(tc.x); got != tc.want {
			t.Errorf("Expf(%v) = %v, want %v", tc.x, got, tc.want)
		}
	}
	if got := Expf(float32(math.NaN())); !math.IsNaN(float64(got)) {
		t.Errorf("Expf(NaN) = %v", got)
	}
}

func TestActivationsMatchReference(t *testing.T) {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	xs := append(float32Grid(-120, 120, 40013), 0, -0, inf, -inf, nan, 1e-30, -1e-30, 88.8, -88.8, -103.98, 17, -17)
	for _, tc := range []struct {
		name string
		fast func(*tensor.Tensor) *tensor.Tensor
		ref  func(float32) float32
	}{
		{"ReLU", ReLU, reluReference},
		{"Sigmoid", Sigmoid, sigmoidReference},
		{"SiLU", SiLU, siluReference},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, _ := tensor.FromData(1, 1, 1, len(xs), append([]float32(nil), xs...))
			tc.fast(x)
			for i, v := range xs {
				got, want := x.Data[i], tc.ref(v)
				if math.IsNaN(float64(want)) {
					if !math.IsNaN(float64(got)) {
						t.Fatalf("%s(%v) = %v, want NaN", tc.name, v, got)
					}
					continue
				}
				if math.IsInf(float64(expReference(-v)), 1) && tc.name != "ReLU" {
					// torch computes v/(1+exp(-v)) in float32: once exp(-v)
					// overflows (v < -88.72) the result is exactly 0, where
					// the float64 reference still finds a tiny value.
					if got != 0 {
						t.Fatalf("%s(%v) = %v, want 0 as torch gives", tc.name, v, got)
					}
					continue
				}
				if math.IsInf(float64(want), 0) || want == 0 {
					if got != want {
						t.Fatalf("%s(%v) = %v, want %v", tc.name, v, got, want)
					}
					continue
				}
				// exp's ulp, damped by e/(1+e), plus the final rounding.
				if u := ulpDiff(got, want); u > 2 {
					t.Fatalf("%s(%v) = %v, want %v (%d ulps, relative error %.3g)", tc.name, v, got, want, u, relErr32(got, want))
				}
			}
		})
	}
}

func TestActivationApplyAndString(t *testing.T) {
	for _, tc := range []struct {
		act  Activation
		name string
		in   float32
		want float32
	}{
		{ActNone, "Identity", -2, -2},
		{ActReLU, "ReLU", -2, 0},
		{ActSigmoid, "Sigmoid", 0, 0.5},
		{ActSiLU, "SiLU", 0, 0},
	} {
		x, _ := tensor.FromData(1, 1, 1, 1, []float32{tc.in})
		if got := tc.act.Apply(x).Data[0]; got != tc.want || tc.act.String() != tc.name {
			t.Errorf("%v.Apply(%v) = %v, want %s -> %v", tc.act, tc.in, got, tc.name, tc.want)
		}
	}
}
