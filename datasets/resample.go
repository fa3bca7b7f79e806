package datasets

import (
	"fmt"
	"math"
	"strings"
)

// Filter is a resampling filter. The zero value is Lanczos, the filter the
// PaDiM reference code uses for images (PIL's Image.ANTIALIAS).
type Filter int

const (
	Lanczos  Filter = iota // PIL LANCZOS (= ANTIALIAS): windowed sinc, support 3
	Bilinear               // PIL BILINEAR: triangle, support 1; torchvision's default
	Bicubic                // PIL BICUBIC: Keys cubic with a = -0.5, support 2
	Nearest                // PIL NEAREST: the pixel whose centre is nearest, no blending
)

var filterNames = [...]string{"lanczos", "bilinear", "bicubic", "nearest"}

func (f Filter) String() string {
	if f >= 0 && int(f) < len(filterNames) {
		return filterNames[f]
	}
	return fmt.Sprintf("Filter(%d)", int(f))
}

// ParseFilter returns the filter named s ("lanczos", "antialias",
// "bilinear", "bicubic", "nearest"; case-insensitive).
func ParseFilter(s string) (Filter, error) {
	s = strings.ToLower(s)
	if s == "antialias" {
		return Lanczos, nil
	}
	for i, n := range filterNames {
		if n == s {
			return Filter(i), nil
		}
	}
	return 0, fmt.Errorf("datasets: unknown resampling filter %q (want lanczos, bilinear, bicubic or nearest)", s)
}

func (f Filter) valid() bool { return f >= Lanczos && f <= Nearest }

// kernel returns the filter function and its support radius, as PIL
// defines them in double precision.
func (f Filter) kernel() (func(float64) float64, float64) {
	switch f {
	case Bilinear:
		return func(x float64) float64 {
			x = math.Abs(x)
			if x < 1 {
				return 1 - x
			}
			return 0
		}, 1
	case Bicubic:
		return func(x float64) float64 {
			const a = -0.5
			x = math.Abs(x)
			if x < 1 {
				return ((a+2)*x-(a+3))*x*x + 1
			}
			if x < 2 {
				return (((x-5)*x+8)*x - 4) * a
			}
			return 0
		}, 2
	default:
		return func(x float64) float64 {
			if -3 <= x && x < 3 {
				return sinc(x) * sinc(x/3)
			}
			return 0
		}, 3
	}
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	x *= math.Pi
	return math.Sin(x) / x
}

// precisionBits is PIL's fixed-point precision for 8-bit resampling: 32
// bits minus 8 for the value minus 2 headroom bits for filters with
// negative lobes.
const precisionBits = 32 - 8 - 2

// coefficients are the fixed-point weights of one resampling pass: output
// index i reads inputs first[i] .. first[i]+count[i]-1 with weights
// k[i*ksize : i*ksize+count[i]].
type coefficients struct {
	ksize        int
	first, count []int
	k            []int32
}

// precompute builds PIL's weights for resizing inSize samples to outSize
// over the whole input (PIL's box argument left at its default). The
// weights are normalised to sum to 1 in float64 and then rounded half away
// from zero to precisionBits fractional bits, exactly as PIL does, because
// the rounded weights decide the uint8 result.
func precompute(inSize, outSize int, f Filter) coefficients {
	fn, radius := f.kernel()
	scale := float64(inSize) / float64(outSize)
	filterScale := math.Max(scale, 1)
	support := radius * filterScale
	ksize := int(math.Ceil(support))*2 + 1
	c := coefficients{ksize: ksize, first: make([]int, outSize), count: make([]int, outSize),
		k: make([]int32, outSize*ksize)}
	w := make([]float64, ksize)
	for i := 0; i < outSize; i++ {
		center := (float64(i) + 0.5) * scale
		// int() truncates toward zero, as C's (int) cast does.
		lo := max(int(center-support+0.5), 0)
		hi := min(int(center+support+0.5), inSize) - lo
		sum := 0.0
		for j := 0; j < hi; j++ {
			w[j] = fn((float64(j+lo) - center + 0.5) / filterScale)
			sum += w[j]
		}
		for j := 0; j < hi; j++ {
			v := w[j]
			if sum != 0 {
				v /= sum
			}
			if v < 0 {
				c.k[i*ksize+j] = int32(-0.5 + v*(1<<precisionBits))
			} else {
				c.k[i*ksize+j] = int32(0.5 + v*(1<<precisionBits))
			}
		}
		c.first[i], c.count[i] = lo, hi
	}
	return c
}

// clip8 converts a fixed-point accumulator to uint8: arithmetic shift
// (floor), then saturate.
func clip8(v int32) uint8 {
	v >>= precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// resample resizes an interleaved 8-bit image with ch channels from
// sw x sh to dw x dh, bit-exactly as PIL 9's Image.resize does for 8-bit
// modes: a horizontal pass (only over the rows the vertical pass will
// read) into a uint8 buffer, then a vertical pass, each with fixed-point
// weights and a rounding offset of one half. A pass whose size does not
// change is skipped, as in PIL.
func resample(src []uint8, sw, sh, ch, dw, dh int, f Filter) []uint8 {
	if f == Nearest {
		return resampleNearest(src, sw, sh, ch, dw, dh)
	}
	if sw == dw && sh == dh {
		return append([]uint8(nil), src...)
	}
	cur, rowOff := src, 0
	var vert coefficients
	if sh != dh {
		vert = precompute(sh, dh, f)
	}
	if sw != dw {
		y0, y1 := 0, sh
		if sh != dh {
			y0 = vert.first[0]
			y1 = vert.first[dh-1] + vert.count[dh-1]
		}
		hc := precompute(sw, dw, f)
		tmp := make([]uint8, (y1-y0)*dw*ch)
		for y := y0; y < y1; y++ {
			in := src[y*sw*ch : (y+1)*sw*ch]
			out := tmp[(y-y0)*dw*ch : (y-y0+1)*dw*ch]
			if ch == 3 {
				horizontalRGB(out, in, &hc)
				continue
			}
			for x := 0; x < dw; x++ {
				k := hc.k[x*hc.ksize : x*hc.ksize+hc.count[x]]
				base := hc.first[x] * ch
				for c := 0; c < ch; c++ {
					acc := int32(1 << (precisionBits - 1))
					for j, kv := range k {
						acc += int32(in[base+j*ch+c]) * kv
					}
					out[x*ch+c] = clip8(acc)
				}
			}
		}
		cur, rowOff = tmp, y0
	}
	if sh == dh {
		return cur
	}
	out := make([]uint8, dh*dw*ch)
	rowLen := dw * ch
	// Accumulate whole rows so the input is read sequentially; the sums
	// are the same integers in the same order as PIL's per-pixel loop.
	acc := make([]int32, rowLen)
	for y := 0; y < dh; y++ {
		k := vert.k[y*vert.ksize : y*vert.ksize+vert.count[y]]
		first := vert.first[y] - rowOff
		for i := range acc {
			acc[i] = 1 << (precisionBits - 1)
		}
		for j, kv := range k {
			row := cur[(first+j)*rowLen : (first+j+1)*rowLen]
			for i, v := range row {
				acc[i] += int32(v) * kv
			}
		}
		o := out[y*rowLen : (y+1)*rowLen]
		for i, a := range acc {
			o[i] = clip8(a)
		}
	}
	return out
}

// horizontalRGB is the horizontal pass for one interleaved RGB row.
func horizontalRGB(out, in []uint8, hc *coefficients) {
	for x := range len(out) / 3 {
		k := hc.k[x*hc.ksize : x*hc.ksize+hc.count[x]]
		px := in[hc.first[x]*3 : (hc.first[x]+len(k))*3]
		r, g, b := int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1))
		for j, kv := range k {
			p := px[3*j : 3*j+3]
			r += int32(p[0]) * kv
			g += int32(p[1]) * kv
			b += int32(p[2]) * kv
		}
		out[3*x], out[3*x+1], out[3*x+2] = clip8(r), clip8(g), clip8(b)
	}
}

// nearestIndex maps each output index to an input index as PIL's affine
// nearest-neighbour scaler does: the source coordinate starts at half a
// step and is advanced by repeated float64 addition (not recomputed by
// multiplication; the two differ in the last bit on some sizes, which
// moves the chosen pixel) and truncated.
func nearestIndex(inSize, outSize int) []int {
	step := float64(inSize) / float64(outSize)
	idx := make([]int, outSize)
	pos := step * 0.5
	for i := range idx {
		v := int(pos)
		if v >= inSize { // cannot happen for a full-image box; kept in range anyway
			v = inSize - 1
		}
		idx[i] = v
		pos += step
	}
	return idx
}

func resampleNearest(src []uint8, sw, sh, ch, dw, dh int) []uint8 {
	xi, yi := nearestIndex(sw, dw), nearestIndex(sh, dh)
	out := make([]uint8, dw*dh*ch)
	for y := 0; y < dh; y++ {
		in := src[yi[y]*sw*ch:]
		o := out[y*dw*ch:]
		for x := 0; x < dw; x++ {
			copy(o[x*ch:x*ch+ch], in[xi[x]*ch:xi[x]*ch+ch])
		}
	}
	return out
}

// Resize returns img resized to w x h with filter f, bit-exactly as PIL's
// img.resize((w, h), f) on an RGB image.
func (img *RGB) Resize(w, h int, f Filter) *RGB {
	return &RGB{W: w, H: h, Pix: resample(img.Pix, img.W, img.H, 3, w, h, f)}
}

// Crop returns the w x h sub-image whose top-left corner is (left, top);
// the rectangle must lie inside img.
func (img *RGB) Crop(left, top, w, h int) *RGB {
	out := NewRGB(w, h)
	for y := 0; y < h; y++ {
		copy(out.Pix[3*y*w:3*(y+1)*w], img.Pix[3*((top+y)*img.W+left):])
	}
	return out
}

// Resize returns g resized to w x h with filter f (PIL mode "L").
func (g *Gray) Resize(w, h int, f Filter) *Gray {
	return &Gray{W: w, H: h, Pix: resample(g.Pix, g.W, g.H, 1, w, h, f)}
}

// Crop returns the w x h sub-image at (left, top), which must lie inside g.
func (g *Gray) Crop(left, top, w, h int) *Gray {
	out := &Gray{W: w, H: h, Pix: make([]uint8, w*h)}
	for y := 0; y < h; y++ {
		copy(out.Pix[y*w:(y+1)*w], g.Pix[(top+y)*g.W+left:])
	}
	return out
}
