package nn

import (
	"fmt"
	"math"
	"math/big"
	"math/rand"
	"testing"

	"github.com/padim-go/padim/internal/tensor"
)

type poolCase struct{ n, c, h, w, k, stride, pad int }

var poolCases = []poolCase{
	{1, 3, 112, 112, 3, 2, 1}, // ResNet stem
	{2, 4, 11, 13, 3, 2, 1},
	{1, 2, 10, 9, 3, 1, 1},
	{1, 2, 10, 9, 3, 2, 0},
	{1, 2, 9, 9, 2, 2, 0},
	{1, 2, 12, 11, 5, 2, 2},
	{1, 2, 7, 8, 5, 3, 1},
	{1, 1, 3, 3, 3, 2, 1},
	{1, 1, 2, 5, 3, 2, 1}, // fewer rows than the window
}

func TestMaxPoolMatchesReference(t *testing.T) {
	for i, tc := range poolCases {
		t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(i)))
			x := randTensor(rng, tc.n, tc.c, tc.h, tc.w)
			// A NaN must spread to every window holding it, as in torch.
			x.Data[rng.Intn(len(x.Data))] = float32(math.NaN())
			got := MaxPool2D(x, tc.k, tc.stride, tc.pad)
			want := maxPool2DReference(x, tc.k, tc.stride, tc.pad)
			if !got.SameShape(want) {
				t.Fatalf("shape %v, want %v", got, want)
			}
			for j, w := range want.Data {
				g := got.Data[j]
				if g != w && !(math.IsNaN(float64(g)) && math.IsNaN(float64(w))) {
					t.Fatalf("element %d: %v, want %v", j, g, w)
				}
			}
		})
	}
}

func TestAvgPoolMatchesReference(t *testing.T) {
	for i, tc := range poolCases {
		t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(i)))
			x := randTensor(rng, tc.n, tc.c, tc.h, tc.w)
			got := AvgPool2D(x, tc.k, tc.stride, tc.pad)
			want := avgPool2DReference(x, tc.k, tc.stride, tc.pad)
			for j, w := range want.Data {
				if d := math.Abs(float64(got.Data[j] - w)); d > 1e-6*float64(tc.k*tc.k) {
					t.Fatalf("element %d: %v, want %v", j, got.Data[j], w)
				}
			}
		})
	}
}

func TestPoolPanicsOnBadGeometry(t *testing.T) {
	for _, tc := range []poolCase{{1, 1, 5, 5, 3, 0, 1}, {1, 1, 5, 5, 3, 2, 2}, {1, 1, 2, 2, 5, 1, 0}, {1, 1, 5, 5, 0, 1, 0}} {
		for name, pool := range map[string]func(*tensor.Tensor, int, int, int) *tensor.Tensor{"max": MaxPool2D, "avg": AvgPool2D} {
			t.Run(fmt.Sprintf("%s%+v", name, tc), func(t *testing.T) {
				defer func() {
					if recover() == nil {
						t.Fatal("no panic")
					}
				}()
				pool(tensor.New(tc.n, tc.c, tc.h, tc.w), tc.k, tc.stride, tc.pad)
			})
		}
	}
}

func TestElementwise(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for _, size := range []int{1, 7, 100003} { // one chunk and several goroutines
		a, b := randTensor(rng, 1, 1, 1, size), randTensor(rng, 1, 1, 1, size)
		sum := Add(a.Clone(), b)
		sumReLU := AddReLU(a.Clone(), b)
		for i := range a.Data {
			s := a.Data[i] + b.Data[i]
			if sum.Data[i] != s || sumReLU.Data[i] != reluReference(s) {
				t.Fatalf("size %d element %d: Add %v AddReLU %v, want %v and %v", size, i, sum.Data[i], sumReLU.Data[i], s, reluReference(s))
			}
		}
	}
	for _, f := range []func(a, b *tensor.Tensor) *tensor.Tensor{Add, AddReLU} {
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("shape mismatch accepted")
				}
			}()
			f(tensor.New(1, 2, 3, 4), tensor.New(1, 2, 4, 3))
		}()
	}
}

func TestGlobalAvgPool(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	x := randTensor(rng, 3, 5, 7, 9)
	got := GlobalAvgPool(x)
	for n := 0; n < 3; n++ {
		for c := 0; c < 5; c++ {
			var s float64
			for _, v := range x.Channel(n, c) {
				s += float64(v)
			}
			if want := float32(s / 63); got.At(n, c, 0, 0) != want {
				t.Fatalf("(%d,%d) = %v, want %v", n, c, got.At(n, c, 0, 0), want)
			}
		}
	}
}

func TestSqueezeExcite(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	const n, c, r = 2, 6, 3
	se := &SqueezeExcite{Reduce: NewConv2D(c, r, 1, 1, 0, 1), Expand: NewConv2D(r, c, 1, 1, 0, 1)}
	se.Reduce.Weight, se.Reduce.Bias = randSlice(rng, r*c), randSlice(rng, r)
	se.Expand.Weight, se.Expand.Bias = randSlice(rng, r*c), randSlice(rng, c)
	x := randTensor(rng, n, c, 5, 4)
	got := se.Forward(x.Clone())
	for img := 0; img < n; img++ {
		// The definition, written out in float64.
		mean := make([]float64, c)
		for ch := range mean {
			for _, v := range x.Channel(img, ch) {
				mean[ch] += float64(v) / 20
			}
		}
		hidden := make([]float64, r)
		for j := range hidden {
			h := float64(se.Reduce.Bias[j])
			for ch := 0; ch < c; ch++ {
				h += float64(se.Reduce.Weight[j*c+ch]) * mean[ch]
			}
			hidden[j] = h / (1 + math.Exp(-h))
		}
		for ch := 0; ch < c; ch++ {
			e := float64(se.Expand.Bias[ch])
			for j := 0; j < r; j++ {
				e += float64(se.Expand.Weight[ch*r+j]) * hidden[j]
			}
			scale := 1 / (1 + math.Exp(-e))
			for i, v := range x.Channel(img, ch) {
				want := float64(v) * scale
				if d := math.Abs(float64(got.Channel(img, ch)[i]) - want); d > 1e-5*(1+math.Abs(want)) {
					t.Fatalf("(%d,%d,%d) = %v, want %v", img, ch, i, got.Channel(img, ch)[i], want)
				}
			}
		}
	}
	// ForwardPooled with the means given gives Forward's result bit for
	// bit, and refuses means of another shape.
	pooled := se.ForwardPooled(x.Clone(), GlobalAvgPool(x))
	for i, v := range got.Data {
		if math.Float32bits(pooled.Data[i]) != math.Float32bits(v) {
			t.Fatalf("ForwardPooled element %d = %v, Forward gives %v", i, pooled.Data[i], v)
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("ForwardPooled accepted means of one image for two")
		}
	}()
	se.ForwardPooled(x, GlobalAvgPool(x.Image(0)))
}

// TestSum64 compares the float64 plane sums of both kernels with the exact
// sum (big.Float, exact for float32 inputs at this precision): each is
// within the float64 summation bound n*2^-53*sum|x| of it.
func TestSum64(t *testing.T) {
	rng := rand.New(rand.NewSource(6))
	kernels := map[string]func([]float32) float64{"go": sum64Go}
	if simdEnabled {
		kernels["simd"] = simdSum64
	}
	for name, sum := range kernels {
		for _, n := range simdLengths {
			for _, off := range []int{0, 1, 3} {
				x, check := guarded(t, n, off, mixedInput(rng, 3, false))
				exact := new(big.Float).SetPrec(2000)
				var mag float64
				for _, v := range x {
					exact.Add(exact, new(big.Float).SetFloat64(float64(v)))
					mag += math.Abs(float64(v))
				}
				got := sum(x)
				check()
				want, _ := exact.Float64()
				if d := math.Abs(got - want); d > float64(n)*0x1p-53*mag {
					t.Fatalf("%s: sum of %d values at offset %d = %v, exact %v", name, n, off, got, want)
				}
			}
		}
	}
}

func TestAllFinite(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	for _, n := range []int{0, 1, 7, 8, 15, 16, 17, 100, 1031} {
		for _, pos := range []int{0, n / 2, n - 1} {
			for _, tc := range []struct {
				name string
				bad  []float32 // values written at pos (and pos+1 for pairs)
				want bool
			}{
				{"finite", nil, true},
				{"max float32", []float32{math.MaxFloat32}, true},
				{"NaN", []float32{nan}, false},
				{"+Inf", []float32{inf}, false},
				{"-Inf", []float32{-inf}, false},
				{"+Inf and -Inf", []float32{inf, -inf}, false},
			} {
				if n == 0 && tc.bad != nil || pos < 0 || pos+len(tc.bad) > n {
					continue
				}
				x := make([]float32, n)
				for i := range x {
					x[i] = math.MaxFloat32 * float32(1-2*(i%2)) // large values that cancel, never overflow float64
				}
				copy(x[pos:], tc.bad)
				for _, simd := range []bool{false, simdEnabled} {
					old := simdEnabled
					simdEnabled = simd
					got := AllFinite(x)
					simdEnabled = old
					if got != tc.want {
						t.Errorf("n=%d pos=%d %s simd=%v: AllFinite = %v, want %v", n, pos, tc.name, simd, got, tc.want)
					}
				}
			}
		}
	}
}
