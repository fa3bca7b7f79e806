package nn

import (
	"fmt"

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

// FoldBatchNorm folds an eval-mode BatchNorm2d that follows the convolution
// into its weights and bias: y = gamma*(conv(x)-mean)/sqrt(var+eps) + beta.
// Folding happens once at load time, so inference runs one kernel per conv.
func (c *Conv2D) FoldBatchNorm(gamma, beta, mean, variance []float32, eps float64) error {
	for _, s := range [][]float32{gamma, beta, mean, variance} {
		if len(s) != c.OutC {
			return fmt.Errorf("nn: batchnorm has %d channels, conv has %d", len(s), c.OutC)
		}
	}
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
func (c *Conv2D) Forward(x *tensor.Tensor) *tensor.Tensor {
	if x.C != c.InC {
		panic(fmt.Sprintf("nn: conv expects %d channels, got %v", c.InC, x))
	}
	oh, ow := c.OutSize(x.H, x.W)
	out := tensor.New(x.N, c.OutC, oh, ow)
	conv2DReference(c, x, out)
	return out
}

// conv2DReference is the direct seven-loop convolution: slow, obviously
// correct, and the yardstick for the fast kernels.
func conv2DReference(c *Conv2D, x, out *tensor.Tensor) {
	icg, ocg := c.InC/c.Groups, c.OutC/c.Groups
	for n := 0; n < x.N; n++ {
		for o := 0; o < c.OutC; o++ {
			g := o / ocg
			var b float32
			if c.Bias != nil {
				b = c.Bias[o]
			}
			for oy := 0; oy < out.H; oy++ {
				for ox := 0; ox < out.W; ox++ {
					sum := b
					for i := 0; i < icg; i++ {
						ic := g*icg + i
						for ky := 0; ky < c.KH; ky++ {
							iy := oy*c.Stride - c.PadH + ky
							if iy < 0 || iy >= x.H {
								continue
							}
							for kx := 0; kx < c.KW; kx++ {
								ix := ox*c.Stride - c.PadW + kx
								if ix < 0 || ix >= x.W {
									continue
								}
								sum += x.At(n, ic, iy, ix) * c.Weight[((o*icg+i)*c.KH+ky)*c.KW+kx]
							}
						}
					}
					out.Set(n, o, oy, ox, sum)
				}
			}
		}
	}
}
