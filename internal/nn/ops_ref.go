package nn

import (
	"math"

	"github.com/padim-go/padim/internal/tensor"
)

// The functions here are the straightforward definitions the fast kernels
// are tested against: one loop per index, bounds tested everywhere,
// float64 math library calls.

func reluReference(v float32) float32 {
	if v < 0 {
		return 0
	}
	return v
}

func sigmoidReference(v float32) float32 { return float32(1 / (1 + math.Exp(-float64(v)))) }

func siluReference(v float32) float32 {
	return float32(float64(v) / (1 + math.Exp(-float64(v))))
}

// maxPool2DReference is torch.nn.MaxPool2d with NaN propagation.
func maxPool2DReference(x *tensor.Tensor, k, stride, pad int) *tensor.Tensor {
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
							if v := in[iy*x.W+ix]; v > m || v != v {
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

// avgPool2DReference is torch.nn.AvgPool2d with count_include_pad=True.
func avgPool2DReference(x *tensor.Tensor, k, stride, pad int) *tensor.Tensor {
	oh, ow := (x.H+2*pad-k)/stride+1, (x.W+2*pad-k)/stride+1
	out := tensor.New(x.N, x.C, oh, ow)
	for n := 0; n < x.N; n++ {
		for c := 0; c < x.C; c++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var s float64
					for ky := 0; ky < k; ky++ {
						for kx := 0; kx < k; kx++ {
							iy, ix := oy*stride-pad+ky, ox*stride-pad+kx
							if iy >= 0 && iy < x.H && ix >= 0 && ix < x.W {
								s += float64(x.At(n, c, iy, ix))
							}
						}
					}
					out.Set(n, c, oy, ox, float32(s/float64(k*k)))
				}
			}
		}
	}
	return out
}
