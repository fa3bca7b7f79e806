package datasets

import (
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/padim-go/padim/internal/atomicfile"
)

// SyntheticCategories are the categories GenerateSynthetic can write:
// three textures (stripes, grid, noise) and two objects (disc, bottle, a
// top view like MVTec AD's bottle).
var SyntheticCategories = []string{"stripes", "grid", "noise", "disc", "bottle"}

// SyntheticDefects are the anomaly types of every synthetic category:
// a thin straight scratch, a filled elliptic spot, and a missing part (a
// bite out of the object's rim, or a flat hole in a texture).
var SyntheticDefects = []string{"missing", "scratch", "spot"}

// SyntheticOptions sizes a synthetic dataset. Zero fields take the defaults.
type SyntheticOptions struct {
	Categories    []string // default SyntheticCategories
	Size          int      // image side in pixels, 32..4096; default 256
	Train         int      // training images per category; default 30
	TestGood      int      // normal test images per category; default 8
	TestPerDefect int      // test images per defect type; default 4
	Seed          int64    // same seed and options, bit-identical files
}

func (o SyntheticOptions) withDefaults() (SyntheticOptions, error) {
	if o.Categories == nil {
		o.Categories = SyntheticCategories
	}
	if o.Size == 0 {
		o.Size = 256
	}
	if o.Train == 0 {
		o.Train = 30
	}
	if o.TestGood == 0 {
		o.TestGood = 8
	}
	if o.TestPerDefect == 0 {
		o.TestPerDefect = 4
	}
	if o.Size < 32 || o.Size > 4096 {
		return o, fmt.Errorf("datasets: synthetic: Size %d outside 32..4096", o.Size)
	}
	if o.Train < 0 || o.TestGood < 0 || o.TestPerDefect < 0 {
		return o, fmt.Errorf("datasets: synthetic: negative image count")
	}
	for _, c := range o.Categories {
		if !slices.Contains(SyntheticCategories, c) {
			return o, fmt.Errorf("datasets: synthetic: unknown category %q (have %v)", c, SyntheticCategories)
		}
	}
	return o, nil
}

// GenerateSynthetic writes a small MVTec AD style dataset under dir
// (dir/CATEGORY/train/good, test/<defect>, ground_truth/<defect>/NAME_mask.png)
// for LoadMVTec. Masks are exact: a mask pixel is 255 exactly where the
// defect was drawn, before the per-pixel sensor noise every image gets.
// Each image depends only on (Seed, category, split, defect, index), so the
// same options always give bit-identical files (with the same Go release's
// png encoder). Every file is written atomically.
func GenerateSynthetic(dir string, opts SyntheticOptions) error {
	o, err := opts.withDefaults()
	if err != nil {
		return err
	}
	for _, cat := range o.Categories {
		base := filepath.Join(dir, cat)
		for i := range o.Train {
			img, _ := synthImage(o, cat, "train", "good", i)
			if err := writePNG(filepath.Join(base, "train", "good", fmt.Sprintf("%03d.png", i)), img); err != nil {
				return err
			}
		}
		for i := range o.TestGood {
			img, _ := synthImage(o, cat, "test", "good", i)
			if err := writePNG(filepath.Join(base, "test", "good", fmt.Sprintf("%03d.png", i)), img); err != nil {
				return err
			}
		}
		for _, d := range SyntheticDefects {
			for i := range o.TestPerDefect {
				img, mask := synthImage(o, cat, "test", d, i)
				name := fmt.Sprintf("%03d", i)
				if err := writePNG(filepath.Join(base, "test", d, name+".png"), img); err != nil {
					return err
				}
				if err := writePNG(filepath.Join(base, "ground_truth", d, name+MVTecMaskSuffix), mask); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func writePNG(path string, img image.Image) error {
	return atomicfile.Write(path, func(w io.Writer) error { return png.Encode(w, img) })
}

// canvas is a float RGB image being drawn.
type canvas struct {
	n   int
	pix []float64 // 3*n*n
}

func (c *canvas) set(x, y int, col [3]float64) {
	o := 3 * (y*c.n + x)
	c.pix[o], c.pix[o+1], c.pix[o+2] = col[0], col[1], col[2]
}

// synthImage renders one image and its defect mask (all zero for "good").
func synthImage(o SyntheticOptions, cat, split, defect string, index int) (*image.RGBA, *image.Gray) {
	return synthRender(o, cat, split, defect, index, true)
}

// synthRender is synthImage; with paintDefect false it draws the same
// random numbers and mask but leaves the defect's pixels unpainted, which
// lets tests check that the mask covers exactly the changed pixels.
func synthRender(o SyntheticOptions, cat, split, defect string, index int, paintDefect bool) (*image.RGBA, *image.Gray) {
	r := newAugmentRNG(o.Seed, fmt.Sprintf("synthetic/%s/%s/%s/%d", cat, split, defect, index))
	n := o.Size
	c := &canvas{n: n, pix: make([]float64, 3*n*n)}
	s := float64(n)
	// object is the foreground test for objects; nil for textures.
	var object func(x, y float64) bool
	var background [3]float64
	var defectColour [3]float64
	switch cat {
	case "stripes":
		period := s / 16 * r.uniform(0.95, 1.05)
		angle := r.uniform(-0.05, 0.05)
		phase := r.uniform(0, 2*math.Pi)
		a, b := [3]float64{40, 60, 140}, [3]float64{200, 200, 230}
		paint(c, func(x, y float64) [3]float64 {
			v := 0.5 + 0.5*math.Sin(2*math.Pi*(x*math.Cos(angle)+y*math.Sin(angle))/period+phase)
			return mix(a, b, v)
		})
		defectColour = [3]float64{230, 90, 40}
	case "grid":
		step := s / 10
		ox, oy := r.uniform(0, step), r.uniform(0, step)
		width := math.Max(2, s/100)
		paint(c, func(x, y float64) [3]float64 {
			if math.Mod(x+ox, step) < width || math.Mod(y+oy, step) < width {
				return [3]float64{60, 60, 60}
			}
			return [3]float64{170, 165, 150}
		})
		defectColour = [3]float64{250, 250, 250}
	case "noise":
		const cells = 12
		lattice := make([]float64, (cells+1)*(cells+1))
		for i := range lattice {
			lattice[i] = r.uniform(-1, 1)
		}
		paint(c, func(x, y float64) [3]float64 {
			u, v := x/s*cells, y/s*cells
			i, j := min(int(u), cells-1), min(int(v), cells-1)
			fu, fv := u-float64(i), v-float64(j)
			at := func(a, b int) float64 { return lattice[b*(cells+1)+a] }
			t := (at(i, j)*(1-fu)+at(i+1, j)*fu)*(1-fv) + (at(i, j+1)*(1-fu)+at(i+1, j+1)*fu)*fv
			return [3]float64{120 + 35*t, 85 + 30*t, 60 + 20*t}
		})
		defectColour = [3]float64{20, 20, 25}
	case "disc":
		cx, cy := s/2+r.uniform(-0.02, 0.02)*s, s/2+r.uniform(-0.02, 0.02)*s
		rad := s * 0.32 * r.uniform(0.97, 1.03)
		background = [3]float64{35, 35, 40}
		object = func(x, y float64) bool { return math.Hypot(x-cx, y-cy) <= rad }
		paint(c, func(x, y float64) [3]float64 {
			d := math.Hypot(x-cx, y-cy)
			if d > rad {
				return background
			}
			shade := 1 - 0.35*d/rad
			return [3]float64{230 * shade, 150 * shade, 60 * shade}
		})
		defectColour = [3]float64{70, 40, 30}
	case "bottle":
		cx, cy := s/2+r.uniform(-0.01, 0.01)*s, s/2+r.uniform(-0.01, 0.01)*s
		outer := s * 0.42 * r.uniform(0.98, 1.02)
		inner := outer * 0.55
		background = [3]float64{10, 10, 10}
		object = func(x, y float64) bool { return math.Hypot(x-cx, y-cy) <= outer }
		paint(c, func(x, y float64) [3]float64 {
			d := math.Hypot(x-cx, y-cy)
			switch {
			case d > outer:
				return background
			case d > inner:
				t := (d - inner) / (outer - inner)
				return [3]float64{30 + 40*t, 80 + 60*t, 40 + 30*t}
			default:
				return [3]float64{90, 140, 100}
			}
		})
		defectColour = [3]float64{200, 190, 150}
	}

	mask := image.NewGray(image.Rect(0, 0, n, n))
	// region marks the defect's pixels; paintDefect recolours them.
	var region func(x, y float64) bool
	switch defect {
	case "scratch":
		px, py := pointOn(r, s, object)
		angle := r.uniform(0, math.Pi)
		half := s * r.uniform(0.1, 0.22)
		w := math.Max(1.5, s*r.uniform(0.006, 0.012))
		x0, y0 := px-half*math.Cos(angle), py-half*math.Sin(angle)
		x1, y1 := px+half*math.Cos(angle), py+half*math.Sin(angle)
		region = func(x, y float64) bool { return segmentDistance(x, y, x0, y0, x1, y1) <= w/2 }
	case "spot":
		px, py := pointOn(r, s, object)
		ra, rb := s*r.uniform(0.025, 0.06), s*r.uniform(0.025, 0.06)
		th := r.uniform(0, math.Pi)
		region = func(x, y float64) bool {
			dx, dy := x-px, y-py
			u := dx*math.Cos(th) + dy*math.Sin(th)
			v := -dx*math.Sin(th) + dy*math.Cos(th)
			return (u*u)/(ra*ra)+(v*v)/(rb*rb) <= 1
		}
	case "missing":
		if object != nil {
			// A bite centred on the rim: the object there becomes background.
			angle := r.uniform(0, 2*math.Pi)
			bx, by, br := rimPoint(c, object, angle, s)
			br *= r.uniform(0.12, 0.2)
			region = func(x, y float64) bool { return math.Hypot(x-bx, y-by) <= br }
			defectColour = background
		} else {
			w, h := s*r.uniform(0.08, 0.18), s*r.uniform(0.08, 0.18)
			x0, y0 := r.uniform(0.05*s, 0.95*s-w), r.uniform(0.05*s, 0.95*s-h)
			region = func(x, y float64) bool { return x >= x0 && x < x0+w && y >= y0 && y < y0+h }
			defectColour = [3]float64{15, 15, 15}
		}
	}
	if region != nil {
		for y := 0; y < n; y++ {
			for x := 0; x < n; x++ {
				fx, fy := float64(x)+0.5, float64(y)+0.5
				if !region(fx, fy) || (object != nil && !object(fx, fy)) {
					continue
				}
				if paintDefect {
					c.set(x, y, defectColour)
				}
				mask.Pix[y*mask.Stride+x] = 255
			}
		}
	}
	// Sensor noise, then quantise.
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	for i := 0; i < n*n; i++ {
		for k := 0; k < 3; k++ {
			v := c.pix[3*i+k] + (r.float64()+r.float64()+r.float64()-1.5)*8
			img.Pix[4*i+k] = uint8(math.Round(math.Min(255, math.Max(0, v))))
		}
		img.Pix[4*i+3] = 255
	}
	return img, mask
}

func paint(c *canvas, f func(x, y float64) [3]float64) {
	for y := 0; y < c.n; y++ {
		for x := 0; x < c.n; x++ {
			c.set(x, y, f(float64(x)+0.5, float64(y)+0.5))
		}
	}
}

func mix(a, b [3]float64, t float64) [3]float64 {
	return [3]float64{a[0] + (b[0]-a[0])*t, a[1] + (b[1]-a[1])*t, a[2] + (b[2]-a[2])*t}
}

// pointOn draws a defect centre: inside the object (away from its rim) for
// objects, anywhere but the outer 15% for textures.
func pointOn(r *splitMix64, s float64, object func(x, y float64) bool) (float64, float64) {
	for {
		x, y := r.uniform(0.15*s, 0.85*s), r.uniform(0.15*s, 0.85*s)
		if object == nil {
			return x, y
		}
		ok := true
		for _, d := range [][2]float64{{0, 0}, {0.06, 0}, {-0.06, 0}, {0, 0.06}, {0, -0.06}} {
			if !object(x+d[0]*s, y+d[1]*s) {
				ok = false
			}
		}
		if ok {
			return x, y
		}
	}
}

// rimPoint walks from the image centre along angle to the object's edge and
// returns that point and the distance walked (about the object radius).
func rimPoint(c *canvas, object func(x, y float64) bool, angle, s float64) (x, y, radius float64) {
	cx, cy := s/2, s/2
	d := 0.0
	for d < s/2 && object(cx+d*math.Cos(angle), cy+d*math.Sin(angle)) {
		d += 0.5
	}
	return cx + d*math.Cos(angle), cy + d*math.Sin(angle), d
}

// segmentDistance is the distance from (x, y) to the segment (x0,y0)-(x1,y1).
func segmentDistance(x, y, x0, y0, x1, y1 float64) float64 {
	dx, dy := x1-x0, y1-y0
	t := ((x-x0)*dx + (y-y0)*dy) / (dx*dx + dy*dy)
	t = math.Max(0, math.Min(1, t))
	return math.Hypot(x-(x0+t*dx), y-(y0+t*dy))
}

// ReplaceSynthetic writes the synthetic dataset of opts to dir as a whole:
// it is generated into a staging folder beside dir and then swapped in, so
// dir never mixes files of two generations (another size, fewer images)
// and an interrupted generation leaves dir as it was. dir must not exist,
// be empty, or hold only a synthetic dataset (folders named like synthetic
// categories and hidden files such as a completion marker); anything else
// is refused before any image is drawn, so a mistyped --out cannot replace
// a user's folder.
func ReplaceSynthetic(dir string, opts SyntheticOptions) (err error) {
	if _, err := opts.withDefaults(); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	switch {
	case os.IsNotExist(err):
	case err != nil:
		if st, serr := os.Stat(dir); serr == nil && !st.IsDir() {
			return fmt.Errorf("%s: is not a directory", dir)
		}
		return err
	default:
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), ".") && !(e.IsDir() && slices.Contains(SyntheticCategories, e.Name())) {
				return fmt.Errorf("%s: not empty and not a synthetic dataset (it holds %s); give a new or empty folder", dir, filepath.Join(dir, e.Name()))
			}
		}
	}
	clean := filepath.Clean(dir)
	parent := filepath.Dir(clean)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	staging, err := os.MkdirTemp(parent, "."+filepath.Base(clean)+".tmp-*")
	if err != nil {
		return err
	}
	defer atomicfile.Track(staging)()
	defer func() {
		if err != nil {
			os.RemoveAll(staging)
		}
	}()
	if err = os.Chmod(staging, 0o755); err != nil {
		return err
	}
	if err = GenerateSynthetic(staging, opts); err != nil {
		return err
	}
	// rename(2) replaces a missing or empty directory; a previous dataset is
	// moved aside first and removed once the new one is in place.
	if len(entries) > 0 {
		old := staging + ".old"
		if err = os.Rename(clean, old); err != nil {
			return err
		}
		if err = os.Rename(staging, clean); err != nil {
			os.Rename(old, clean)
			return err
		}
		return os.RemoveAll(old)
	}
	return os.Rename(staging, clean)
}
