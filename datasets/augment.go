package datasets

import (
	"hash/fnv"
	"math"
	"math/bits"
	"path/filepath"
	"strings"
)

// splitMix64 is the SplitMix64 generator. The package carries its own
// generator, rather than math/rand, so that augmentations and synthetic
// datasets stay bit-identical across Go releases.
type splitMix64 struct{ state uint64 }

func (r *splitMix64) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// float64 is uniform in [0, 1) with 53 random bits.
func (r *splitMix64) float64() float64 { return float64(r.next()>>11) / (1 << 53) }

// uniform is uniform in [lo, hi).
func (r *splitMix64) uniform(lo, hi float64) float64 { return lo + (hi-lo)*r.float64() }

// intn is uniform in [0, n) for n >= 1 (Lemire's multiply-shift; the bias
// is below 2^-40 for the small n used here).
func (r *splitMix64) intn(n int) int {
	if n <= 1 {
		return 0
	}
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int(hi)
}

// newAugmentRNG seeds a generator from (seed, key).
func newAugmentRNG(seed int64, key string) *splitMix64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	r := &splitMix64{state: uint64(seed)*0x9e3779b97f4a7c15 ^ h.Sum64()}
	r.next()
	return r
}

// augmentKey is the part of an image path that identifies it for the
// augmentation: its last three elements ("test/broken_large/000.png"), so
// the draws do not depend on where the dataset is stored.
func augmentKey(path string) string {
	parts := strings.Split(filepath.ToSlash(filepath.Clean(path)), "/")
	if len(parts) > 3 {
		parts = parts[len(parts)-3:]
	}
	return strings.Join(parts, "/")
}

// rotation maps an output pixel centre to its source point for a rotation
// by deg degrees counter-clockwise (as PIL's Image.rotate and torchvision's
// RandomRotation) about the image centre, same output size.
type rotation struct{ cos, sin, cx, cy float64 }

func newRotation(w, h int, deg float64) rotation {
	a := deg * math.Pi / 180
	return rotation{cos: math.Cos(a), sin: math.Sin(a), cx: float64(w) / 2, cy: float64(h) / 2}
}

// source returns the source coordinates (pixel edges at integers) of the
// centre of output pixel (x, y).
func (r rotation) source(x, y int) (sx, sy float64) {
	dx, dy := float64(x)+0.5-r.cx, float64(y)+0.5-r.cy
	return r.cos*dx - r.sin*dy + r.cx, r.sin*dx + r.cos*dy + r.cy
}

// rotateRGB rotates img by deg degrees counter-clockwise about its centre,
// keeping its size. Each output pixel is bilinearly interpolated from the
// four source pixels around its source point, with neighbours clamped at
// the border, and rounded half up; output pixels whose source point falls
// outside the image are filled with black (0, 0, 0), the fill torchvision's
// RandomRotation uses by default.
func rotateRGB(img *RGB, deg float64) *RGB {
	out := NewRGB(img.W, img.H)
	rot := newRotation(img.W, img.H, deg)
	w, h := img.W, img.H
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sx, sy := rot.source(x, y)
			if sx < 0 || sy < 0 || sx > float64(w) || sy > float64(h) {
				continue
			}
			u, v := sx-0.5, sy-0.5
			x0, y0 := int(math.Floor(u)), int(math.Floor(v))
			fx, fy := u-float64(x0), v-float64(y0)
			x1, y1 := min(max(x0+1, 0), w-1), min(max(y0+1, 0), h-1)
			x0, y0 = min(max(x0, 0), w-1), min(max(y0, 0), h-1)
			o := 3 * (y*w + x)
			for c := 0; c < 3; c++ {
				p00 := float64(img.Pix[3*(y0*w+x0)+c])
				p01 := float64(img.Pix[3*(y0*w+x1)+c])
				p10 := float64(img.Pix[3*(y1*w+x0)+c])
				p11 := float64(img.Pix[3*(y1*w+x1)+c])
				top := p00 + (p01-p00)*fx
				bot := p10 + (p11-p10)*fx
				out.Pix[o+c] = uint8(math.Floor(top + (bot-top)*fy + 0.5))
			}
		}
	}
	return out
}

// rotateGrayNearest rotates a mask like rotateRGB but takes the source
// pixel containing the source point (nearest neighbour, so labels stay
// 0/1) and fills outside points with 0 (not defect).
func rotateGrayNearest(g *Gray, deg float64) *Gray {
	out := &Gray{W: g.W, H: g.H, Pix: make([]uint8, len(g.Pix))}
	rot := newRotation(g.W, g.H, deg)
	for y := 0; y < g.H; y++ {
		for x := 0; x < g.W; x++ {
			sx, sy := rot.source(x, y)
			ix, iy := int(math.Floor(sx)), int(math.Floor(sy))
			if ix < 0 || iy < 0 || ix >= g.W || iy >= g.H {
				continue
			}
			out.Pix[y*g.W+x] = g.Pix[iy*g.W+ix]
		}
	}
	return out
}
