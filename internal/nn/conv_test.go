package nn

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/padim-go/padim/internal/tensor"
)

type convCase struct {
	n, inC, outC, h, w int
	kh, kw             int
	stride, padH, padW int
	groups             int
	bias               bool
}

func (c convCase) String() string {
	return fmt.Sprintf("n%d_%dto%d_%dx%d_k%dx%d_s%d_p%dx%d_g%d_b%v", c.n, c.inC, c.outC, c.h, c.w, c.kh, c.kw, c.stride, c.padH, c.padW, c.groups, c.bias)
}

func (c convCase) conv(rng *rand.Rand) *Conv2D {
	conv := &Conv2D{InC: c.inC, OutC: c.outC, KH: c.kh, KW: c.kw, Stride: c.stride, PadH: c.padH, PadW: c.padW, Groups: c.groups}
	conv.Weight = randSlice(rng, c.outC*(c.inC/c.groups)*c.kh*c.kw)
	if c.bias {
		conv.Bias = randSlice(rng, c.outC)
	}
	return conv
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

func randTensor(rng *rand.Rand, n, c, h, w int) *tensor.Tensor {
	t, _ := tensor.FromData(n, c, h, w, randSlice(rng, n*c*h*w))
	return t
}

func absSlice(s []float32) []float32 {
	a := make([]float32, len(s))
	for i, v := range s {
		a[i] = float32(math.Abs(float64(v)))
	}
	return a
}

// convCases covers the kernel choices (pointwise GEMM, im2col GEMM,
// depthwise direct) with odd sizes, all strides and paddings the
// backbones use and a few they do not.
var convCases = []convCase{
	// 1x1: the plain-GEMM path, and strided (ResNet downsample) through im2col.
	{1, 8, 5, 7, 9, 1, 1, 1, 0, 0, 1, false},
	{3, 8, 5, 7, 9, 1, 1, 1, 0, 0, 1, true},
	{1, 16, 12, 9, 11, 1, 1, 2, 0, 0, 1, true},
	{3, 6, 4, 10, 10, 1, 1, 2, 0, 0, 2, true},
	// General kernels, strides and paddings.
	{1, 4, 6, 11, 13, 3, 3, 1, 1, 1, 1, true},
	{3, 4, 6, 11, 13, 3, 3, 2, 1, 1, 1, false},
	{1, 5, 3, 9, 8, 3, 3, 1, 0, 0, 1, true},
	{1, 5, 3, 9, 8, 3, 3, 2, 2, 2, 1, true},
	{1, 3, 4, 12, 11, 5, 5, 1, 2, 2, 1, true},
	{3, 3, 4, 12, 11, 5, 5, 2, 2, 2, 1, true},
	{1, 3, 8, 23, 21, 7, 7, 2, 3, 3, 1, true}, // ResNet stem
	{1, 4, 4, 9, 9, 7, 7, 1, 0, 0, 1, false},
	{1, 2, 3, 10, 9, 3, 3, 3, 1, 1, 1, true},
	{1, 4, 6, 7, 12, 1, 3, 1, 0, 1, 1, true}, // rectangular
	{1, 4, 6, 12, 7, 3, 1, 2, 1, 0, 1, true},
	{1, 3, 3, 4, 4, 5, 5, 1, 2, 2, 1, true}, // kernel larger than unpadded input
	// Grouped, not depthwise.
	{1, 8, 6, 9, 11, 3, 3, 1, 1, 1, 2, true},
	{3, 8, 6, 9, 11, 3, 3, 2, 1, 1, 2, false},
	{1, 6, 12, 8, 8, 1, 1, 1, 0, 0, 3, true},
	// Depthwise: the direct kernel, EfficientNet's 3x3 and 5x5 at stride
	// 1 and 2, plus generic widths and strides.
	{1, 7, 7, 13, 11, 3, 3, 1, 1, 1, 7, true},
	{3, 7, 7, 13, 11, 3, 3, 2, 1, 1, 7, true},
	{1, 5, 5, 14, 15, 5, 5, 1, 2, 2, 5, true},
	{3, 5, 5, 14, 15, 5, 5, 2, 2, 2, 5, false},
	{1, 4, 4, 9, 10, 3, 3, 1, 0, 0, 4, true},
	{1, 4, 4, 9, 10, 7, 7, 1, 3, 3, 4, true},
	{1, 4, 4, 11, 10, 3, 3, 3, 1, 1, 4, true},
	{1, 3, 3, 8, 9, 1, 3, 2, 0, 1, 3, true},
	{1, 3, 3, 8, 9, 5, 3, 1, 2, 1, 3, true},
	{1, 2, 2, 3, 3, 5, 5, 2, 2, 2, 2, true},
	{1, 3, 3, 9, 11, 3, 3, 2, 0, 0, 3, true},
	{2, 3, 3, 10, 12, 5, 5, 2, 1, 1, 3, false},
	// Deep enough that a plane is cut into several im2col tiles.
	{1, 300, 8, 20, 19, 3, 3, 1, 1, 1, 1, true},
	{2, 600, 16, 9, 9, 1, 1, 1, 0, 0, 1, true},
}

// checkConv compares got against the reference convolution. The bound on
// each element is relative to the sum of the absolute values of its terms
// (the reference convolution of |x| with |w| plus |b|), which is what
// float32 rounding error scales with, whatever the cancellation.
func checkConv(t *testing.T, conv *Conv2D, x, got *tensor.Tensor, act Activation, tol float64) {
	t.Helper()
	oh, ow := conv.OutSize(x.H, x.W)
	want := tensor.New(x.N, conv.OutC, oh, ow)
	conv2DReference(conv, x, want)
	abs := *conv
	abs.Weight = absSlice(conv.Weight)
	if conv.Bias != nil {
		abs.Bias = absSlice(conv.Bias)
	}
	xa, _ := tensor.FromData(x.N, x.C, x.H, x.W, absSlice(x.Data))
	mag := tensor.New(x.N, conv.OutC, oh, ow)
	conv2DReference(&abs, xa, mag)
	if !got.SameShape(want) {
		t.Fatalf("output %v, want %v", got, want)
	}
	for i, w := range want.Data {
		// The activations are 1-Lipschitz (sigmoid 1/4, SiLU about 1.1),
		// so the pre-activation bound carries over.
		ref := float64(w)
		switch act {
		case ActReLU:
			ref = float64(reluReference(w))
		case ActSiLU:
			ref = float64(siluReference(w))
		case ActSigmoid:
			ref = float64(sigmoidReference(w))
		}
		bound := tol*1.1*float64(mag.Data[i]) + 2e-7*math.Abs(ref) + 1e-30
		if d := math.Abs(float64(got.Data[i]) - ref); !(d <= bound) {
			t.Fatalf("element %d: got %v, want %v (|diff| %.3g > %.3g)", i, got.Data[i], ref, d, bound)
		}
	}
}

func TestConvMatchesReference(t *testing.T) {
	defer SetThreads(SetThreads(0))
	for _, threads := range []int{1, 3} {
		SetThreads(threads)
		for i, tc := range convCases {
			t.Run(fmt.Sprintf("threads%d/%v", threads, tc), func(t *testing.T) {
				rng := rand.New(rand.NewSource(int64(i)))
				conv := tc.conv(rng)
				x := randTensor(rng, tc.n, tc.inC, tc.h, tc.w)
				checkConv(t, conv, x, conv.Forward(x), ActNone, 1e-5)
			})
		}
	}
}

func TestConvFusedActivation(t *testing.T) {
	for i, tc := range []convCase{
		{1, 4, 6, 11, 13, 3, 3, 1, 1, 1, 1, true},
		{2, 8, 5, 7, 9, 1, 1, 1, 0, 0, 1, true},
		{1, 7, 7, 13, 11, 3, 3, 2, 1, 1, 7, true},
		{1, 5, 5, 14, 15, 5, 5, 1, 2, 2, 5, false},
	} {
		for _, act := range []Activation{ActNone, ActReLU, ActSiLU, ActSigmoid} {
			t.Run(fmt.Sprintf("%v/%v", tc, act), func(t *testing.T) {
				rng := rand.New(rand.NewSource(int64(i)))
				conv := tc.conv(rng)
				x := randTensor(rng, tc.n, tc.inC, tc.h, tc.w)
				checkConv(t, conv, x, conv.ForwardAct(x, act), act, 1e-5)
			})
		}
	}
}

// TestConvForwardActInto writes each image of a batch through a view of
// a larger output, as a network running a batch image by image does, and
// checks it against the reference and the rest of the output untouched.
func TestConvForwardActInto(t *testing.T) {
	for i, tc := range []convCase{
		{1, 8, 16, 7, 9, 1, 1, 1, 0, 0, 1, true},  // packed, direct
		{1, 4, 8, 11, 13, 3, 3, 2, 1, 1, 1, true}, // packed, phased
		{1, 6, 6, 9, 10, 5, 5, 1, 2, 2, 6, true},  // depthwise
	} {
		t.Run(tc.String(), func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(i)))
			conv := tc.conv(rng)
			const images = 3
			x := randTensor(rng, images, tc.inC, tc.h, tc.w)
			oh, ow := conv.OutSize(tc.h, tc.w)
			out := tensor.New(images, tc.outC, oh, ow)
			const sentinel = 1234.5
			for j := range out.Data {
				out.Data[j] = sentinel
			}
			conv.ForwardActInto(x.Image(1), out.Image(1), ActSiLU)
			checkConv(t, conv, x.Image(1), out.Image(1).Clone(), ActSiLU, 1e-5)
			for _, j := range []int{0, 2} {
				for _, v := range out.Image(j).Data {
					if v != sentinel {
						t.Fatalf("image %d of the output was written (%v)", j, v)
					}
				}
			}
			defer func() {
				if recover() == nil {
					t.Fatal("no panic for an output of the wrong shape")
				}
			}()
			conv.ForwardActInto(x.Image(0), out.Images(0, 2), ActNone)
		})
	}
}

func TestConvValidate(t *testing.T) {
	good := func() *Conv2D { return NewConv2D(4, 6, 3, 1, 1, 2) }
	for _, tc := range []struct {
		name   string
		mutate func(c *Conv2D)
	}{
		{"short weight", func(c *Conv2D) { c.Weight = c.Weight[1:] }},
		{"bias length", func(c *Conv2D) { c.Bias = make([]float32, 5) }},
		{"groups", func(c *Conv2D) { c.Groups = 4 }},
		{"zero groups", func(c *Conv2D) { c.Groups = 0 }},
		{"stride", func(c *Conv2D) { c.Stride = 0 }},
		{"padding", func(c *Conv2D) { c.PadW = -1 }},
		{"kernel", func(c *Conv2D) { c.KH = 0 }},
		{"channels", func(c *Conv2D) { c.InC = 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			if err := c.Validate(); err != nil {
				t.Fatalf("valid conv rejected: %v", err)
			}
			tc.mutate(c)
			if err := c.Validate(); err == nil {
				t.Fatalf("Validate accepted %+v", c)
			}
		})
	}
}

func TestConvPanicsOnBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		x    *tensor.Tensor
	}{
		{"channels", tensor.New(1, 3, 8, 8)},
		{"too small", tensor.New(1, 4, 1, 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			NewConv2D(4, 4, 5, 1, 0, 1).Forward(tc.x)
		})
	}
}

func TestFoldBatchNorm(t *testing.T) {
	// conv then BatchNorm, computed separately in float64, against the folded conv.
	rng := rand.New(rand.NewSource(7))
	tc := convCase{2, 3, 4, 6, 5, 3, 3, 1, 1, 1, 1, true}
	conv := tc.conv(rng)
	x := randTensor(rng, tc.n, tc.inC, tc.h, tc.w)
	plain := conv.Forward(x)
	gamma, beta, mean := randSlice(rng, 4), randSlice(rng, 4), randSlice(rng, 4)
	variance := absSlice(randSlice(rng, 4))
	const eps = 1e-5
	if err := conv.FoldBatchNorm(gamma, beta, mean, variance, eps); err != nil {
		t.Fatal(err)
	}
	folded := conv.Forward(x)
	for i, v := range plain.Data {
		o := (i / (plain.H * plain.W)) % plain.C
		want := float64(gamma[o])*(float64(v)-float64(mean[o]))/math.Sqrt(float64(variance[o])+eps) + float64(beta[o])
		if d := math.Abs(float64(folded.Data[i]) - want); d > 1e-4*(1+math.Abs(want)) {
			t.Fatalf("element %d: folded %v, want %v", i, folded.Data[i], want)
		}
	}
	if err := conv.FoldBatchNorm(gamma[:3], beta, mean, variance, eps); err == nil {
		t.Fatal("FoldBatchNorm accepted 3 channels for a 4-channel conv")
	}
}

func TestDivisionHelpers(t *testing.T) {
	for a := -20; a <= 20; a++ {
		for b := 1; b <= 5; b++ {
			f := math.Floor(float64(a) / float64(b))
			c := math.Ceil(float64(a) / float64(b))
			if floorDiv(a, b) != int(f) || ceilDiv(a, b) != int(c) {
				t.Fatalf("floorDiv/ceilDiv(%d, %d) = %d, %d; want %v, %v", a, b, floorDiv(a, b), ceilDiv(a, b), f, c)
			}
		}
	}
}

// TestForwardAddReLU checks the fused residual end of a ResNet block
// against ForwardAct followed by AddReLU, bit for bit, on every kernel
// (both Winograds, packed, im2col, depthwise), over thread counts and
// batches.
func TestForwardAddReLU(t *testing.T) {
	defer SetThreads(SetThreads(1))
	for _, tc := range []struct {
		kernel                      string // with the AVX-512 kernels
		inC, outC, size, k, s, p, g int
	}{
		{"winograd", 64, 64, 13, 3, 1, 1, 1},
		{"winograd4", 64, 64, 28, 3, 1, 1, 1},
		{"packed", 32, 64, 9, 1, 1, 0, 1},
		{"packed", 16, 24, 11, 3, 2, 1, 1},
		{"blas", 8, 13, 7, 3, 1, 1, 1},
		{"depthwise", 16, 16, 8, 3, 1, 1, 16},
	} {
		c := NewConv2D(tc.inC, tc.outC, tc.k, tc.s, tc.p, tc.g)
		if got := c.KernelName(tc.size, tc.size); packedEnabled && winograd512 && got != tc.kernel {
			t.Fatalf("%d to %d channels, %dx%d kernel: runs %s, want %s", tc.inC, tc.outC, tc.k, tc.k, got, tc.kernel)
		}
		for _, threads := range []int{1, 2, 3} {
			for _, batch := range []int{1, 3} {
				rng := rand.New(rand.NewSource(int64(threads*10 + batch)))
				c := NewConv2D(tc.inC, tc.outC, tc.k, tc.s, tc.p, tc.g)
				c.Weight = randSlice(rng, len(c.Weight))
				c.Bias = randSlice(rng, tc.outC)
				x := randTensor(rng, batch, tc.inC, tc.size, tc.size)
				SetThreads(threads)
				want := AddReLU(c.ForwardAct(x, ActNone), residualLike(rng, c, x))
				rng = rand.New(rand.NewSource(int64(threads*10 + batch)))
				c.Weight = randSlice(rng, len(c.Weight))
				c.Bias = randSlice(rng, tc.outC)
				x = randTensor(rng, batch, tc.inC, tc.size, tc.size)
				got := c.ForwardAddReLU(x, residualLike(rng, c, x))
				for i := range want.Data {
					if math.Float32bits(got.Data[i]) != math.Float32bits(want.Data[i]) {
						t.Fatalf("%s kernel, %d threads, batch %d: element %d = %v, want %v",
							c.KernelName(x.H, x.W), threads, batch, i, got.Data[i], want.Data[i])
					}
				}
			}
		}
	}
}

// residualLike is a random tensor of c's output shape on x, with a few
// values negative enough that ReLU clears the sum.
func residualLike(rng *rand.Rand, c *Conv2D, x *tensor.Tensor) *tensor.Tensor {
	oh, ow := c.OutSize(x.H, x.W)
	r := randTensor(rng, x.N, c.OutC, oh, ow)
	for i := 0; i < len(r.Data); i += 7 {
		r.Data[i] -= 50
	}
	return r
}
