package nn

import (
	"fmt"
	"math"

	"github.com/padim-go/padim/internal/tensor"
)

func sqrt64(v float64) float64 { return math.Sqrt(v) }

// ReLU clamps x at zero in place and returns it.
func ReLU(x *tensor.Tensor) *tensor.Tensor {
	for i, v := range x.Data {
		if v < 0 {
			x.Data[i] = 0
		}
	}
	return x
}

// Sigmoid applies 1/(1+exp(-v)) in place and returns x.
func Sigmoid(x *tensor.Tensor) *tensor.Tensor {
	for i, v := range x.Data {
		x.Data[i] = float32(1 / (1 + math.Exp(-float64(v))))
	}
	return x
}

// SiLU applies v*sigmoid(v) (a.k.a. swish) in place and returns x.
func SiLU(x *tensor.Tensor) *tensor.Tensor {
	for i, v := range x.Data {
		x.Data[i] = v * float32(1/(1+math.Exp(-float64(v))))
	}
	return x
}

// Add adds src to dst element-wise in place (a residual connection) and returns dst.
func Add(dst, src *tensor.Tensor) *tensor.Tensor {
	if !dst.SameShape(src) {
		panic(fmt.Sprintf("nn: add %v and %v", dst, src))
	}
	for i, v := range src.Data {
		dst.Data[i] += v
	}
	return dst
}

// MaxPool2D is torch.nn.MaxPool2d(k, stride, pad): padding counts as -inf.
func MaxPool2D(x *tensor.Tensor, k, stride, pad int) *tensor.Tensor {
	oh, ow := (x.H+2*pad-k)/stride+1, (x.W+2*pad-k)/stride+1
	out := tensor.New(x.N, x.C, oh, ow)
	for n := 0; n < x.N; n++ {
		for c := 0; c < x.C; c++ {
			in, dst := x.Channel(n, c), out.Channel(n, c)
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					m := float32(math.Inf(-1))
					for ky := 0; ky < k; ky++ {
						iy := oy*stride - pad + ky
						if iy < 0 || iy >= x.H {
							continue
						}
						for kx := 0; kx < k; kx++ {
							ix := ox*stride - pad + kx
							if ix < 0 || ix >= x.W {
								continue
							}
							if v := in[iy*x.W+ix]; v > m {
								m = v
							}
						}
					}
					dst[oy*ow+ox] = m
				}
			}
		}
	}
	return out
}

// AvgPool2D is torch.nn.AvgPool2d(k, stride, pad) with count_include_pad=True.
func AvgPool2D(x *tensor.Tensor, k, stride, pad int) *tensor.Tensor {
	oh, ow := (x.H+2*pad-k)/stride+1, (x.W+2*pad-k)/stride+1
	out := tensor.New(x.N, x.C, oh, ow)
	inv := 1 / float32(k*k)
	for n := 0; n < x.N; n++ {
		for c := 0; c < x.C; c++ {
			in, dst := x.Channel(n, c), out.Channel(n, c)
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var s float32
					for ky := 0; ky < k; ky++ {
						iy := oy*stride - pad + ky
						if iy < 0 || iy >= x.H {
							continue
						}
						for kx := 0; kx < k; kx++ {
							ix := ox*stride - pad + kx
							if ix >= 0 && ix < x.W {
								s += in[iy*x.W+ix]
							}
						}
					}
					dst[oy*ow+ox] = s * inv
				}
			}
		}
	}
	return out
}

// GlobalAvgPool averages each channel plane: N x C x H x W -> N x C x 1 x 1.
func GlobalAvgPool(x *tensor.Tensor) *tensor.Tensor {
	out := tensor.New(x.N, x.C, 1, 1)
	for n := 0; n < x.N; n++ {
		for c := 0; c < x.C; c++ {
			var s float64
			for _, v := range x.Channel(n, c) {
				s += float64(v)
			}
			out.Data[n*x.C+c] = float32(s / float64(x.H*x.W))
		}
	}
	return out
}

// SqueezeExcite is torchvision's SqueezeExcitation as EfficientNet uses it:
// scale = sigmoid(Expand(SiLU(Reduce(avgpool(x))))); x *= scale per channel.
type SqueezeExcite struct {
	Reduce, Expand *Conv2D // 1x1 convolutions with bias
}

// Forward scales x in place and returns it.
func (s *SqueezeExcite) Forward(x *tensor.Tensor) *tensor.Tensor {
	scale := Sigmoid(s.Expand.Forward(SiLU(s.Reduce.Forward(GlobalAvgPool(x)))))
	for n := 0; n < x.N; n++ {
		for c := 0; c < x.C; c++ {
			f := scale.Data[n*x.C+c]
			p := x.Channel(n, c)
			for i := range p {
				p[i] *= f
			}
		}
	}
	return x
}
