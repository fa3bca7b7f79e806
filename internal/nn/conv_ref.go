package nn

import "github.com/padim-go/padim/internal/tensor"

// conv2DReference is the direct seven-loop convolution: slow, obviously
// correct, and the yardstick for the fast kernels in the tests.
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
