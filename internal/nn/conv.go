package nn

import (
	"fmt"
	"unsafe"

	"github.com/padim-go/padim/internal/tensor"
)

// Conv2D is a 2-D convolution as torch.nn.Conv2d defines it, with square
// or rectangular kernels, symmetric zero padding and groups.
type Conv2D struct {
	InC, OutC  int
	KH, KW     int
	Stride     int
	PadH, PadW int
	Groups     int
	Weight     []float32 // OutC x (InC/Groups) x KH x KW, torch layout
	Bias       []float32 // OutC values, or nil

	// winograd caches the Winograd transform of Weight (a
	// *winogradWeights, read and written atomically so that concurrent
	// Forward calls are safe; unsafe.Pointer rather than atomic.Pointer
	// keeps Conv2D copyable). Assigning a new Weight slice and
	// FoldBatchNorm invalidate it; code that edits Weight in place after a
	// Forward must assign it a fresh slice instead.
	winograd unsafe.Pointer
	// winograd4 caches the F(4x4, 3x3) transform (a *winograd4Weights),
	// under the same rules.
	winograd4 unsafe.Pointer
	// packed caches Weight in the layout of the AVX-512 GEMM kernels (a
	// *packedWeights), under the same rules as winograd.
	packed unsafe.Pointer
	// dwPlan caches the last edge-masked depthwise plan made for c (a
	// *dwEdgePlan, which records the geometry and input size it is for).
	dwPlan unsafe.Pointer
}

// NewConv2D returns a convolution with zero weights and no bias.
func NewConv2D(inC, outC, k, stride, pad, groups int) *Conv2D {
	if groups <= 0 || inC%groups != 0 || outC%groups != 0 {
		panic(fmt.Sprintf("nn: conv %d->%d cannot be split in %d groups", inC, outC, groups))
	}
	return &Conv2D{InC: inC, OutC: outC, KH: k, KW: k, Stride: stride, PadH: pad, PadW: pad, Groups: groups,
		Weight: make([]float32, outC*(inC/groups)*k*k)}
}

// WeightShape is the torch shape of Weight.
func (c *Conv2D) WeightShape() []int { return []int{c.OutC, c.InC / c.Groups, c.KH, c.KW} }

// OutSize is the spatial output size for an h x w input.
func (c *Conv2D) OutSize(h, w int) (int, int) {
	return (h+2*c.PadH-c.KH)/c.Stride + 1, (w+2*c.PadW-c.KW)/c.Stride + 1
}

// Validate reports whether the fields describe a convolution Forward can
// run: positive sizes, channels divisible by Groups, and Weight and Bias
// of the lengths the shape implies. Weight loaders should call it once,
// so that a malformed checkpoint is an error rather than a panic later.
func (c *Conv2D) Validate() error {
	switch {
	case c.InC <= 0 || c.OutC <= 0:
		return fmt.Errorf("nn: conv has %d input and %d output channels, both must be positive", c.InC, c.OutC)
	case c.Groups <= 0 || c.InC%c.Groups != 0 || c.OutC%c.Groups != 0:
		return fmt.Errorf("nn: conv %d->%d cannot be split in %d groups", c.InC, c.OutC, c.Groups)
	case c.KH <= 0 || c.KW <= 0:
		return fmt.Errorf("nn: conv kernel %dx%d is empty", c.KH, c.KW)
	case c.Stride <= 0:
		return fmt.Errorf("nn: conv stride %d must be positive", c.Stride)
	case c.PadH < 0 || c.PadW < 0:
		return fmt.Errorf("nn: conv padding %dx%d is negative", c.PadH, c.PadW)
	}
	if want := c.OutC * (c.InC / c.Groups) * c.KH * c.KW; len(c.Weight) != want {
		return fmt.Errorf("nn: conv weight has %d values, shape %v needs %d", len(c.Weight), c.WeightShape(), want)
	}
	if c.Bias != nil && len(c.Bias) != c.OutC {
		return fmt.Errorf("nn: conv bias has %d values, want %d", len(c.Bias), c.OutC)
	}
	return nil
}

// FoldBatchNorm folds an eval-mode BatchNorm2d that follows the convolution
// into its weights and bias: y = gamma*(conv(x)-mean)/sqrt(var+eps) + beta.
// Folding happens once at load time, so inference runs one kernel per conv.
func (c *Conv2D) FoldBatchNorm(gamma, beta, mean, variance []float32, eps float64) error {
	for _, s := range [][]float32{gamma, beta, mean, variance} {
		if len(s) != c.OutC {
			return fmt.Errorf("nn: batchnorm has %d channels, conv has %d", len(s), c.OutC)
		}
	}
	c.dropCaches()
	per := len(c.Weight) / c.OutC
	if c.Bias == nil {
		c.Bias = make([]float32, c.OutC)
	}
	for o := 0; o < c.OutC; o++ {
		scale := float64(gamma[o]) / sqrt64(float64(variance[o])+eps)
		w := c.Weight[o*per : (o+1)*per]
		for i := range w {
			w[i] = float32(float64(w[i]) * scale)
		}
		c.Bias[o] = float32((float64(c.Bias[o])-float64(mean[o]))*scale + float64(beta[o]))
	}
	return nil
}

// Forward applies the convolution to x (N x InC x H x W).
// It panics if x has the wrong channel count or is smaller than the
// kernel, or if the fields fail Validate: those are programming errors
// that a backbone's loader rules out beforehand.
func (c *Conv2D) Forward(x *tensor.Tensor) *tensor.Tensor { return c.ForwardAct(x, ActNone) }

// ForwardAct is Forward followed by act, with bias and activation applied
// to each output tile right after its GEMM, while it is still in cache,
// instead of in two more passes over the output. ResNet's conv-bn-relu and
// EfficientNet's conv-bn-silu map to one call each.
//
// Kernels by shape:
//   - depthwise (Groups == InC == OutC): a direct kernel over a padded,
//     stride-deinterleaved copy of each plane, so every inner loop is a
//     contiguous multiply-add with no bounds tests; with AVX-512, stride 1
//     and a same-size output, over the plane itself, lanes outside it
//     masked off;
//   - 1x1, stride 1, no padding: one Sgemm per column tile straight on the
//     input, Weight (OutC x InC) times input (InC x H*W);
//   - 3x3, stride 1, padding 1, ungrouped, wide enough (useWinograd):
//     Winograd F(2x2, 3x3), 16 GEMMs per block of tiles on 2.25x fewer
//     multiplies, with the weight transform cached in the Conv2D; on
//     planes of 28 or more pixels a side, multiples of 4, with the
//     AVX-512 kernels (useWinograd4), F(4x4, 3x3): 36 GEMMs on 4x fewer;
//   - everything else: im2col of one column tile into a pooled buffer,
//     then Sgemm, per image and group.
//
// Tiles are spread over Threads() goroutines.
func (c *Conv2D) ForwardAct(x *tensor.Tensor, act Activation) *tensor.Tensor {
	return c.forward(c.newOutput(x), x, act, nil)
}

// ForwardAddReLU returns ReLU(c(x) + residual), the end of a ResNet block,
// bit for bit ForwardAct(x, ActNone) followed by AddReLU. The Winograd and
// packed kernels add the residual and apply ReLU to each finished part of
// the output while it is still in cache, instead of in one more pass over
// the whole output. It panics if residual does not have the output's
// shape.
func (c *Conv2D) ForwardAddReLU(x, residual *tensor.Tensor) *tensor.Tensor {
	out := c.newOutput(x)
	if !out.SameShape(residual) {
		panic(fmt.Sprintf("nn: residual %v for a convolution output of %v", residual, out))
	}
	return c.forward(out, x, ActNone, residual)
}

// ForwardActInto is ForwardAct writing into out, which must have the
// output's shape (x.N x OutC x OH x OW); it may be a view of a larger
// tensor, such as one image of a batch. It panics on a wrong shape, like
// ForwardAct on a wrong input.
func (c *Conv2D) ForwardActInto(x, out *tensor.Tensor, act Activation) {
	c.check(x)
	oh, ow := c.OutSize(x.H, x.W)
	if out.N != x.N || out.C != c.OutC || out.H != oh || out.W != ow || len(out.Data) != out.Len() {
		panic(fmt.Sprintf("nn: conv of %v writes %dx%dx%dx%d, got %v", x, x.N, c.OutC, oh, ow, out))
	}
	c.forward(out, x, act, nil)
}

// forward runs the kernel KernelName names into out, then, when res is
// not nil, sets out = ReLU(out + res).
func (c *Conv2D) forward(out, x *tensor.Tensor, act Activation, res *tensor.Tensor) *tensor.Tensor {
	switch c.KernelName(x.H, x.W) {
	case "winograd4":
		convWinograd4Residual(c, x, out, act, res)
		return out
	case "winograd":
		convWinogradResidual(c, x, out, act, res)
		return out
	case "packed":
		convPackedResidual(c, x, out, act, res)
		return out
	case "depthwise":
		convDepthwise(c, x, out, act)
	default:
		convGemm(c, x, out, act)
	}
	if res != nil {
		AddReLU(out, res)
	}
	return out
}

// KernelName names the kernel ForwardAct runs on an input of h x w:
// "depthwise", "winograd4" (F(4x4, 3x3)), "winograd" (F(2x2, 3x3)),
// "packed" (this package's AVX-512 GEMM) or "blas" (im2col + OpenBLAS or
// gonum Sgemm). ForwardAct dispatches on it, so reports name the kernel
// that really runs.
func (c *Conv2D) KernelName(h, w int) string {
	switch {
	case c.isDepthwise():
		return "depthwise"
	case useWinograd4(c, h, w):
		return "winograd4"
	case useWinograd(c):
		return "winograd"
	case usePacked(c) && packedFits(c, h, w):
		return "packed"
	}
	return "blas"
}

// ConvKernels describes how this process runs ungrouped convolutions, for
// `padim version`: this package's AVX-512 kernels, or im2col + BLAS (no
// AVX-512, PADIM_CONV=blas, or a build without the assembly: not amd64,
// or the purego tag).
func ConvKernels() string {
	switch {
	case packedEnabled:
		return "packed AVX-512 implicit GEMM (PADIM_CONV=blas for im2col + BLAS)"
	case !asmKernels:
		return "im2col + BLAS sgemm (no assembly kernels in this build)"
	}
	return "im2col + BLAS sgemm"
}

// newOutput checks the convolution against x and allocates its output.
func (c *Conv2D) newOutput(x *tensor.Tensor) *tensor.Tensor {
	c.check(x)
	oh, ow := c.OutSize(x.H, x.W)
	// Every kernel writes all of its output, so a recycled buffer is fine.
	return tensor.NewScratch(x.N, c.OutC, oh, ow)
}

// check panics unless the convolution is valid and can run on x.
func (c *Conv2D) check(x *tensor.Tensor) {
	if err := c.Validate(); err != nil {
		panic(err.Error())
	}
	if x.C != c.InC {
		panic(fmt.Sprintf("nn: conv expects %d channels, got %v", c.InC, x))
	}
	oh, ow := c.OutSize(x.H, x.W)
	if oh <= 0 || ow <= 0 {
		panic(fmt.Sprintf("nn: %v is smaller than the %dx%d kernel with padding %dx%d", x, c.KH, c.KW, c.PadH, c.PadW))
	}
}

// isDepthwise reports whether each output channel sees exactly its own
// input channel, the case the direct kernel handles.
func (c *Conv2D) isDepthwise() bool { return c.Groups == c.InC && c.OutC == c.InC }

// bias returns the bias of output channel o (0 without bias).
func (c *Conv2D) bias(o int) float32 {
	if c.Bias == nil {
		return 0
	}
	return c.Bias[o]
}
