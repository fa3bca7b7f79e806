package nn

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/padim-go/padim/internal/tensor"
)

// The tests here run the kernels of simd_*_amd64.s and the pure-Go kernels
// on the same inputs. Both are called directly, whatever simdEnabled says,
// except where noted; without the assembly (not amd64, -tags purego, or a
// CPU without AVX2+FMA) the tests of the assembly are skipped.

func skipWithoutSIMD(t *testing.T) {
	t.Helper()
	if !simdEnabled {
		t.Skip(noAsm("AVX2+FMA"))
	}
}

// noAsm is the skip message of a test of assembly kernels that cannot run
// here: the build has none (CI accepts that in its purego pass), or the
// CPU lacks feature, so that the kernels would fault (CI accepts skips
// naming a CPU feature "on this CPU").
func noAsm(feature string) string {
	if !asmKernels {
		return "no assembly kernels in this build (not amd64, or -tags purego)"
	}
	return "no " + feature + " on this CPU"
}

// withSIMD runs f with simdEnabled set to on, restoring it afterwards.
func withSIMD(on bool, f func()) {
	defer func(old bool) { simdEnabled = old }(simdEnabled)
	simdEnabled = on
	f()
}

// simdVariants are the settings of simd512 this CPU can run: the AVX2
// kernels, and the AVX-512 ones where there are some.
func simdVariants() []bool {
	if simd512 {
		return []bool{false, true}
	}
	return []bool{false}
}

// withSIMD512 runs f with simd512 set to on, restoring it afterwards.
func withSIMD512(on bool, f func()) {
	defer func(old bool) { simd512 = old }(simd512)
	simd512 = on
	f()
}

// simdLengths are the slice lengths the kernels are tried on: every length
// up to two 32-float blocks plus a tail, and a few large ones.
var simdLengths = func() []int {
	var n []int
	for i := 0; i <= 67; i++ {
		n = append(n, i)
	}
	return append(n, 255, 1000, 4099)
}()

// guard is how many sentinel floats surround each test slice: a kernel
// that reads or writes outside its slice changes them or, reading, picks
// up their NaNs.
const guard = 16

// guarded returns a slice of n values from gen at offset off (0..7 breaks
// 32-byte alignment every way) inside a buffer whose other elements are a
// sentinel NaN, and a function checking the sentinels are intact.
func guarded(t *testing.T, n, off int, gen func(i int) float32) ([]float32, func()) {
	t.Helper()
	const sentinel = 0x7fc0dead // a NaN no arithmetic produces
	buf := make([]float32, guard+off+n+guard)
	for i := range buf {
		buf[i] = math.Float32frombits(sentinel)
	}
	s := buf[guard+off : guard+off+n : guard+off+n]
	for i := range s {
		s[i] = gen(i)
	}
	return s, func() {
		t.Helper()
		for i, v := range buf {
			if (i < guard+off || i >= guard+off+n) && math.Float32bits(v) != sentinel {
				t.Fatalf("length %d offset %d: element %d outside the slice changed to %v", n, off, i-guard-off, v)
			}
		}
	}
}

// specialValues are inputs the kernels must treat exactly as the Go code
// does: signed zeros, infinities, NaN, the edges of exp's fast range and
// of the activations' assembly range, overflow and underflow.
var specialValues = []float32{
	0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
	1e-40, -1e-40, 1e-30, -1e-30, 1, -1, 17, -17,
	87, -87, 87.3, -87.3, 87.33, -87.33, 87.34, -87.34, 88.36, 88.38, -88.36, -88.38,
	88.72, 88.73, -88.72, -88.73, 100, -100, -103.97, -103.99, -104, 1e30, -1e30,
	math.MaxFloat32, -math.MaxFloat32,
}

// mixedInput draws normal(0, scale) values with a special value every
// few elements, so that any vector may hold one.
func mixedInput(rng *rand.Rand, scale float64, specials bool) func(int) float32 {
	return func(int) float32 {
		if specials && rng.Intn(12) == 0 {
			return specialValues[rng.Intn(len(specialValues))]
		}
		return float32(rng.NormFloat64() * scale)
	}
}

// sameBits reports whether a and b are equal bit for bit, or both NaN.
func sameBits(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

func TestSIMDElementwiseExact(t *testing.T) {
	skipWithoutSIMD(t)
	// One operand kernels: bias add, bias+ReLU (also plain ReLU, b = 0,
	// and b = -0, which must still turn -0 into +0), scaling.
	type unary struct {
		name      string
		simd, ref func([]float32, float32)
		arg       float32
	}
	var cases []unary
	for _, b := range []float32{0, float32(math.Copysign(0, -1)), 0.75, -3} {
		cases = append(cases,
			unary{fmt.Sprintf("Bias(%v)", b), simdBias, biasGo, b},
			unary{fmt.Sprintf("BiasReLU(%v)", b), simdBiasReLU, biasReLUGo, b},
			unary{fmt.Sprintf("Scale(%v)", b), simdScale, scaleGo, b})
	}
	rng := rand.New(rand.NewSource(11))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, n := range simdLengths {
				for _, off := range []int{0, 1, 3, 7} {
					d, check := guarded(t, n, off, mixedInput(rng, 2, true))
					want := append([]float32(nil), d...)
					tc.ref(want, tc.arg)
					tc.simd(d, tc.arg)
					check()
					for i := range d {
						if !sameBits(d[i], want[i]) {
							t.Fatalf("length %d offset %d element %d: %v (%#x), Go gives %v (%#x)",
								n, off, i, d[i], math.Float32bits(d[i]), want[i], math.Float32bits(want[i]))
						}
					}
				}
			}
		})
	}
	for _, tc := range []struct {
		name      string
		simd, ref func(d, s []float32)
	}{
		{"Add", simdAdd, addGo},
		{"AddReLU", simdAddReLU, addReLUGo},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, n := range simdLengths {
				for _, off := range []int{0, 1, 3, 7} {
					d, checkD := guarded(t, n, off, mixedInput(rng, 2, true))
					s, checkS := guarded(t, n, 7-off, mixedInput(rng, 2, true))
					// -0 + -0 is the one sum that is -0, for ReLU to turn into +0.
					if n > 2 {
						d[n/2], s[n/2] = float32(math.Copysign(0, -1)), float32(math.Copysign(0, -1))
					}
					want := append([]float32(nil), d...)
					tc.ref(want, s)
					tc.simd(d, s)
					checkD()
					checkS()
					for i := range d {
						if !sameBits(d[i], want[i]) {
							t.Fatalf("length %d offset %d element %d: %v, Go gives %v", n, off, i, d[i], want[i])
						}
					}
				}
			}
		})
	}
}

func TestSIMDMax3Exact(t *testing.T) {
	skipWithoutSIMD(t)
	rng := rand.New(rand.NewSource(12))
	negZero := float32(math.Copysign(0, -1))
	for _, n := range simdLengths {
		for _, off := range []int{0, 1, 3, 7} {
			d, checkD := guarded(t, n, off, mixedInput(rng, 2, true))
			x, checkX := guarded(t, n, 7-off, mixedInput(rng, 2, true))
			y, checkY := guarded(t, n, off, mixedInput(rng, 2, true))
			z, checkZ := guarded(t, n, 3, mixedInput(rng, 2, true))
			// Zeros of both signs in every position, the case where the
			// hardware's max and Go's differ.
			for i := 0; i+2 < n; i += 5 {
				x[i], y[i], z[i] = negZero, 0, negZero
				x[i+1], y[i+1], z[i+1] = negZero, negZero, negZero
				x[i+2], y[i+2], z[i+2] = negZero, negZero, 0
			}
			want := make([]float32, n)
			max3Go(want, x, y, z)
			simdMax3(d, x, y, z)
			checkD()
			checkX()
			checkY()
			checkZ()
			for i := range d {
				if !sameBits(d[i], want[i]) {
					t.Fatalf("length %d offset %d element %d: max(%v, %v, %v) = %v (%#x), Go gives %v (%#x)",
						n, off, i, x[i], y[i], z[i], d[i], math.Float32bits(d[i]), want[i], math.Float32bits(want[i]))
				}
			}
		}
	}
}

// within2ulp reports whether got is within 2 ulps of want, treating NaN,
// infinities and zeros (of either sign) as exact.
func within2ulp(got, want float32) bool {
	switch {
	case want != want:
		return got != got
	case math.IsInf(float64(want), 0) || want == 0:
		return got == want
	}
	return ulpDiff(got, want) <= 2
}

func TestSIMDExpMatchesGo(t *testing.T) {
	skipWithoutSIMD(t)
	rng := rand.New(rand.NewSource(12))
	for _, sign := range []float32{1, -1} {
		for _, scale := range []float64{1, 30, 60} {
			t.Run(fmt.Sprintf("sign%v/scale%v", sign, scale), func(t *testing.T) {
				for _, n := range simdLengths {
					for _, off := range []int{0, 5} {
						x, checkX := guarded(t, n, off, mixedInput(rng, scale, true))
						e, checkE := guarded(t, n, 7-off, func(int) float32 { return 0 })
						want := make([]float32, n)
						expBlockGo(want, x, sign)
						withSIMD(true, func() { expBlock(e, x, sign) })
						checkX()
						checkE()
						for i := range e {
							if !within2ulp(e[i], want[i]) {
								t.Fatalf("length %d: exp(%v*%v) = %v, Go gives %v", n, sign, x[i], e[i], want[i])
							}
							// Outside the fast range both must be expf64's value.
							if v := sign * x[i]; !(v > expLower && v < expUpper) && !sameBits(e[i], want[i]) {
								t.Fatalf("exp(%v) = %v, want %v exactly", v, e[i], want[i])
							}
						}
					}
				}
			})
		}
	}
}

// TestSIMDExpAccuracy holds the assembly exp to the correctly rounded
// value over a dense grid, the bound TestExpfAccuracy sets for the Go one.
func TestSIMDExpAccuracy(t *testing.T) {
	skipWithoutSIMD(t)
	xs := float32Grid(-87.32, 88.36, 499)
	e := make([]float32, len(xs))
	if n := simdExp(e, xs, 1); n != len(xs)&^7 && n != len(xs) {
		t.Fatalf("simdExp stopped at %d of %d in-range values", n, len(xs))
	}
	worst := int64(0)
	for i, x := range xs[:len(xs)&^7] {
		if u := ulpDiff(e[i], expReference(x)); u > worst {
			worst = u
			if u > 1 {
				t.Fatalf("exp(%v) = %v, want %v: %d ulps", x, e[i], expReference(x), u)
			}
		}
	}
	t.Logf("%d values, worst %d ulp", len(xs), worst)
}

func TestSIMDSiLUSigmoidMatchGo(t *testing.T) {
	skipWithoutSIMD(t)
	rng := rand.New(rand.NewSource(13))
	for _, act := range []Activation{ActSiLU, ActSigmoid} {
		for _, b := range []float32{0, 0.5, -40} {
			for _, scale := range []float64{1, 8, 50} {
				for _, wide := range simdVariants() {
					t.Run(fmt.Sprintf("%v/bias%v/scale%v/avx512%v", act, b, scale, wide), func(t *testing.T) {
						for _, n := range simdLengths {
							for _, off := range []int{0, 3} {
								d, check := guarded(t, n, off, mixedInput(rng, scale, true))
								in := append([]float32(nil), d...)
								want := append([]float32(nil), d...)
								biasActGo(want, b, act)
								withSIMD(true, func() { withSIMD512(wide, func() { biasAct(d, b, act) }) })
								check()
								for i := range d {
									if !within2ulp(d[i], want[i]) {
										t.Fatalf("length %d: %v(%v + %v) = %v, Go gives %v", n, act, in[i], b, d[i], want[i])
									}
								}
							}
						}
					})
				}
			}
		}
	}
}

// TestSIMDKernelStopsAtOutOfRange checks the contract the callers rely
// on: a kernel returns the start of the first vector holding a value it
// does not take, and leaves that vector and the rest untouched.
func TestSIMDKernelStopsAtOutOfRange(t *testing.T) {
	skipWithoutSIMD(t)
	type kernelCase struct {
		name   string
		kernel func(d []float32) int
		width  int
		bad    []float32
		good   float32
	}
	siluBad := []float32{-87, -88, 87.33, float32(math.NaN()), float32(math.Inf(1))}
	sigmoidBad := []float32{-87.5, 88, float32(math.NaN())}
	cases := []kernelCase{
		{"SiLU", func(d []float32) int { return simdBiasSiLU(d, 0) }, 8, siluBad, 1},
		{"Sigmoid", func(d []float32) int { return simdBiasSigmoid(d, 0) }, 8, sigmoidBad, -2},
		{"Exp", func(d []float32) int { return simdExp(d, d, 1) }, 8, []float32{88.37, -87.33, 100, float32(math.NaN()), float32(math.Inf(-1))}, 3},
	}
	if simd512 {
		cases = append(cases,
			kernelCase{"SiLU16", func(d []float32) int { return simdBiasSiLU16(d, 0) }, 16, siluBad, 1},
			kernelCase{"Sigmoid16", func(d []float32) int { return simdBiasSigmoid16(d, 0) }, 16, sigmoidBad, -2})
	}
	for _, tc := range cases {
		for _, bad := range tc.bad {
			// 40 and 75: out of range in either vector of the AVX-512
			// kernels' two-vector steps, the first step or a later one.
			for _, n := range []int{5, 8, 13, 16, 23, 40, 75} {
				for pos := 0; pos < n; pos += 3 {
					d := make([]float32, n)
					for i := range d {
						d[i] = tc.good
					}
					d[pos] = bad
					got := tc.kernel(d)
					if want := pos / tc.width * tc.width; got != want {
						t.Fatalf("%s with %v at %d of %d: stopped at %d, want %d", tc.name, bad, pos, n, got, want)
					}
					for i := got; i < n; i++ {
						if i != pos && d[i] != tc.good {
							t.Fatalf("%s with %v at %d of %d: wrote element %d after stopping", tc.name, bad, pos, n, i)
						}
					}
				}
			}
		}
	}
}

func TestSIMDDepthwiseRow(t *testing.T) {
	skipWithoutSIMD(t)
	rng := rand.New(rand.NewSource(14))
	for _, taps := range []int{1, 3, 9, 25} {
		t.Run(fmt.Sprintf("taps%d", taps), func(t *testing.T) {
			for _, n := range simdLengths {
				for _, off := range []int{0, 1, 6} {
					// Taps at arbitrary, unaligned offsets into a source
					// that ends right after the farthest one.
					offs := make([]int, taps)
					w := make([]float32, taps)
					maxOff := 0
					for i := range offs {
						offs[i], w[i] = rng.Intn(3*n+5), float32(rng.NormFloat64())
						maxOff = max(maxOff, offs[i])
					}
					src, checkSrc := guarded(t, maxOff+n, off, mixedInput(rng, 1, false))
					d, checkD := guarded(t, n, 7-off, func(int) float32 { return 0 })
					b := float32(rng.NormFloat64())
					want := make([]float32, n)
					depthwiseRowGo(want, src, offs, w, b)
					simdDepthwiseRow(d, src, offs, w, b)
					checkSrc()
					checkD()
					for i := range d {
						// depthwiseRowGo rounds each step's float64 FMA to
						// float32, which can differ from the single rounding of
						// a float32 FMA by an ulp of the running sum; so the
						// bound is an ulp of the sum of magnitudes per tap.
						var exact, mag float64 = float64(b), math.Abs(float64(b))
						for k, o := range offs {
							exact += float64(w[k]) * float64(src[o+i])
							mag += math.Abs(float64(w[k]) * float64(src[o+i]))
						}
						if dd := math.Abs(float64(d[i] - want[i])); dd > float64(taps)*0x1p-23*mag {
							t.Fatalf("length %d element %d: %v, Go gives %v", n, i, d[i], want[i])
						}
						if dd := math.Abs(float64(d[i]) - exact); dd > float64(taps)*0x1p-24*mag {
							t.Fatalf("length %d element %d: %v, exact sum %v", n, i, d[i], exact)
						}
					}
				}
			}
		})
	}
}

// TestDepthwiseConvBothPaths runs the depthwise convolutions of
// EfficientNet's shapes, with rows long enough for the assembly kernel's
// 32-wide blocks and tails, through both paths against the reference.
func TestDepthwiseConvBothPaths(t *testing.T) {
	cases := []convCase{
		{1, 6, 6, 37, 75, 3, 3, 1, 1, 1, 6, true},
		{2, 4, 4, 40, 71, 3, 3, 2, 1, 1, 4, true},
		{1, 4, 4, 33, 66, 5, 5, 1, 2, 2, 4, false},
		{1, 4, 4, 30, 69, 5, 5, 2, 2, 2, 4, true},
		{1, 3, 3, 14, 14, 3, 3, 1, 1, 1, 3, true},
		{1, 3, 3, 7, 7, 5, 5, 1, 2, 2, 3, true},
	}
	for _, on := range []bool{false, true} {
		if on && !simdEnabled {
			continue
		}
		for i, tc := range cases {
			for _, act := range []Activation{ActNone, ActReLU, ActSiLU} {
				t.Run(fmt.Sprintf("simd%v/%v/%v", on, tc, act), func(t *testing.T) {
					rng := rand.New(rand.NewSource(int64(i)))
					conv := tc.conv(rng)
					x := randTensor(rng, tc.n, tc.inC, tc.h, tc.w)
					var got *tensor.Tensor
					withSIMD(on, func() { got = conv.ForwardAct(x, act) })
					checkConv(t, conv, x, got, act, 1e-5)
				})
			}
		}
	}
}

// TestActivationsMatchReferenceEveryKernel holds every kernel this CPU
// can run, not only the one dispatch picks, to the float64 references of
// TestActivationsMatchReference and the accuracy of TestExpfAccuracy.
func TestActivationsMatchReferenceEveryKernel(t *testing.T) {
	for _, k := range simdKernelSets() {
		t.Run(k.name, func(t *testing.T) {
			k.run(func() {
				TestActivationsMatchReference(t)
				TestExpfAccuracy(t)
			})
		})
	}
}

// simdKernelSet is one choice of kernels: pure Go, AVX2, AVX-512.
type simdKernelSet struct {
	name string
	run  func(f func())
}

// simdKernelSets lists the kernel sets this CPU can run.
func simdKernelSets() []simdKernelSet {
	sets := []simdKernelSet{{"go", func(f func()) { withSIMD(false, f) }}}
	if simdEnabled {
		sets = append(sets, simdKernelSet{"avx2", func(f func()) { withSIMD(true, func() { withSIMD512(false, f) }) }})
	}
	if simd512 {
		sets = append(sets, simdKernelSet{"avx512", func(f func()) { withSIMD(true, func() { withSIMD512(true, f) }) }})
	}
	return sets
}
