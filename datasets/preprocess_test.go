package datasets

import (
	"image/color"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/padim-go/padim/internal/npy"
)

func TestPlanTorchvisionGeometry(t *testing.T) {
	// Hand-worked torchvision Resize(256) + CenterCrop(224): the long side is
	// int(256*long/short); crop offsets round((size-224)/2) half to even.
	cases := []struct {
		w, h              int
		rw, rh, left, top int
	}{
		{900, 900, 256, 256, 16, 16},
		{300, 200, 384, 256, 80, 16},
		{200, 300, 256, 384, 16, 80},
		{1000, 999, 256, 256, 16, 16}, // 256*1000/999 = 256.256...
		{514, 512, 257, 256, 16, 16},  // (257-224)/2 = 16.5 -> 16 (even)
		{518, 512, 259, 256, 18, 16},  // (259-224)/2 = 17.5 -> 18 (even)
		{767, 256, 767, 256, 272, 16}, // 256*767/256 exact
	}
	p := PaperPreprocess()
	for _, c := range cases {
		g, err := p.plan(c.w, c.h, "x")
		if err != nil {
			t.Fatal(err)
		}
		if g.rw != c.rw || g.rh != c.rh || g.left != c.left || g.top != c.top || g.outW != 224 || g.outH != 224 {
			t.Errorf("%dx%d: got resize %dx%d crop at (%d,%d) size %dx%d; want %dx%d at (%d,%d) size 224x224",
				c.w, c.h, g.rw, g.rh, g.left, g.top, g.outW, g.outH, c.rw, c.rh, c.left, c.top)
		}
	}
}

func TestPreprocessValidate(t *testing.T) {
	cases := []struct {
		name string
		p    Preprocess
		ok   bool
	}{
		{"paper", PaperPreprocess(), true},
		{"rd", RdMVTecPreprocess(3), true},
		{"squash", MagneticTilePreprocess(), true},
		{"zero", Preprocess{}, false},
		{"crop>resize", Preprocess{Resize: 200, Crop: 224}, false},
		{"no crop", Preprocess{Resize: 256}, false},
		{"both", Preprocess{Resize: 256, Crop: 224, Height: 5, Width: 5}, false},
		{"bad filter", Preprocess{Height: 5, Width: 5, Filter: 9}, false},
		{"random crop squash", Preprocess{Height: 5, Width: 5, RandomCrop: true}, false},
		{"rotate too far", Preprocess{Resize: 256, Crop: 224, RandomRotate: 200}, false},
	}
	for _, c := range cases {
		err := c.p.Validate()
		if (err == nil) != c.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", c.name, err, c.ok)
		}
	}
}

func TestParseFilter(t *testing.T) {
	cases := []struct {
		in   string
		want Filter
		ok   bool
	}{
		{"lanczos", Lanczos, true}, {"ANTIALIAS", Lanczos, true}, {"Bilinear", Bilinear, true},
		{"bicubic", Bicubic, true}, {"nearest", Nearest, true}, {"box", 0, false},
	}
	for _, c := range cases {
		f, err := ParseFilter(c.in)
		if (err == nil) != c.ok || (c.ok && f != c.want) {
			t.Errorf("ParseFilter(%q) = %v, %v", c.in, f, err)
		}
		if c.ok && f.String() != strings.ToLower(strings.Replace(strings.ToLower(c.in), "antialias", "lanczos", 1)) {
			t.Errorf("%v.String() = %q", f, f.String())
		}
	}
}

// TestNearestIndexBruteForce checks PIL's accumulated nearest mapping
// against the closed form floor((i+0.5)*in/out) computed exactly in
// rationals; the two agree except where float64 accumulation lands a hair
// below an integer, which is rare and exactly what PIL does.
func TestNearestIndexBruteForce(t *testing.T) {
	for _, c := range [][2]int{{10, 3}, {3, 10}, {900, 256}, {256, 224}, {7, 7}, {289, 224}} {
		idx := nearestIndex(c[0], c[1])
		for i, got := range idx {
			// exact: floor((2i+1)*in / (2*out))
			want := (2*i + 1) * c[0] / (2 * c[1])
			if got != want && got != want-1 {
				t.Fatalf("%d->%d: index %d maps to %d, exact %d", c[0], c[1], i, got, want)
			}
		}
	}
}

func TestResizeConstantImage(t *testing.T) {
	// Every filter's weights sum to 1, so a flat image stays flat exactly.
	img := NewRGB(37, 23)
	for i := range img.Pix {
		img.Pix[i] = []uint8{0, 200, 255}[i%3]
	}
	for _, f := range []Filter{Lanczos, Bilinear, Bicubic, Nearest} {
		for _, sz := range [][2]int{{11, 7}, {80, 50}, {37, 60}} {
			out := img.Resize(sz[0], sz[1], f)
			for i, v := range out.Pix {
				if v != img.Pix[i%3] {
					t.Fatalf("%v %v: pixel %d = %d, want %d", f, sz, i, v, img.Pix[i%3])
				}
			}
		}
	}
}

func TestMaskThreshold(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		vals []uint8
		want []bool
	}{
		{"0-255", []uint8{0, 127, 128, 255}, []bool{false, false, true, true}},
		{"0-1", []uint8{0, 1, 1, 0}, []bool{false, true, true, false}},
		{"jpeg noise", []uint8{3, 126, 129, 250}, []bool{false, false, true, true}},
	}
	for _, c := range cases {
		p := filepath.Join(dir, c.name+".png")
		writeTestPNG(t, p, len(c.vals), 1, func(x, y int) color.Color { return color.Gray{c.vals[x]} })
		got, err := Preprocess{Height: 1, Width: len(c.vals)}.Mask(p)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: pixel %d = %v, want %v", c.name, i, got[i], c.want[i])
			}
		}
	}
}

func TestSampleMask(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "img.png")
	writeTestPNG(t, img, 8, 6, func(x, y int) color.Color { return color.Gray{100} })
	mask := filepath.Join(dir, "mask.png")
	writeTestPNG(t, mask, 8, 6, func(x, y int) color.Color {
		if x >= 4 && y < 3 {
			return color.Gray{255}
		}
		return color.Gray{0}
	})
	small := filepath.Join(dir, "small.png")
	writeTestPNG(t, small, 4, 3, func(x, y int) color.Color { return color.Gray{0} })
	p := Preprocess{Height: 3, Width: 4, Filter: Bilinear}
	got, err := p.SampleMask(Sample{Path: img, MaskPath: mask})
	if err != nil {
		t.Fatal(err)
	}
	// 8x6 -> 4x3 nearest takes source columns 1,3,5,7 and rows 1,3,5.
	want := []bool{false, false, true, true, false, false, false, false, false, false, false, false}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("mask %v, want %v", got, want)
		}
	}
	none, err := p.SampleMask(Sample{Path: img})
	if err != nil || len(none) != 12 {
		t.Fatalf("no-mask sample: %v, %v", none, err)
	}
	for _, v := range none {
		if v {
			t.Fatal("no-mask sample has defect pixels")
		}
	}
	if _, err := p.SampleMask(Sample{Path: img, MaskPath: small}); err == nil || !strings.Contains(err.Error(), small) {
		t.Fatalf("size mismatch error %v does not name the mask", err)
	}
}

func TestNpyMask2D(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "img.png")
	writeTestPNG(t, img, 3, 2, func(x, y int) color.Color { return color.Gray{9} })
	m := filepath.Join(dir, "m.npy")
	if err := npy.WriteFloat32(m, []int{2, 3}, []float32{0, 0.5, 0, 1, 0, 0}); err != nil {
		t.Fatal(err)
	}
	p := Preprocess{Height: 2, Width: 3}
	want := []bool{false, true, false, true, false, false}
	for _, get := range []func() ([]bool, error){
		func() ([]bool, error) { return p.Mask(m) },
		func() ([]bool, error) { return p.SampleMask(Sample{Path: img, MaskPath: m}) },
	} {
		got, err := get()
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("mask %v, want %v", got, want)
			}
		}
	}
	if _, err := p.MaskFrame(m, 1); err == nil {
		t.Fatal("frame 1 of a 2-D mask accepted")
	}
}

func TestNormalizeHandWorked(t *testing.T) {
	img := &RGB{W: 2, H: 1, Pix: []uint8{0, 128, 255, 255, 0, 1}}
	x := Normalize(img)
	if x.N != 1 || x.C != 3 || x.H != 1 || x.W != 2 {
		t.Fatalf("shape %dx%dx%dx%d", x.N, x.C, x.H, x.W)
	}
	for c := 0; c < 3; c++ {
		for i := 0; i < 2; i++ {
			want := (float64(img.Pix[3*i+c])/255 - float64(ImageNetMean[c])) / float64(ImageNetStd[c])
			if got := float64(x.At(0, c, 0, i)); math.Abs(got-want) > 1e-6 {
				t.Errorf("c%d x%d: %v, want %v", c, i, got, want)
			}
		}
	}
}

// TestElongatedInputs: resize-and-crop resizes the shorter side to 256
// and holds the whole resized image, so an 8000x1 input would become
// 2048000x256 (524 Mpx: 49 s and 3.3 GB measured for one image; 100000x1
// did not finish). Such inputs are refused by size (CheckInput, plan) and
// when decoded (RGB), naming the file; the limit is the resized size, so
// a long image that stays within it, and squash mode, still work.
func TestElongatedInputs(t *testing.T) {
	p := PaperPreprocess()
	cases := []struct {
		w, h int
		ok   bool
	}{
		{8000, 1, false},
		{1, 8000, false},
		{100000, 1, false},
		{8192, 32, true}, // 65536x256 = MaxPixels/4
		{8192, 8, true},  // 262144x256 = MaxPixels exactly
		{8192, 7, false}, // 299593x256 > MaxPixels
		{900, 900, true},
	}
	for _, c := range cases {
		err := p.CheckInput(c.w, c.h)
		if (err == nil) != c.ok {
			t.Errorf("CheckInput(%d, %d) = %v, want ok %v", c.w, c.h, err, c.ok)
		}
		if _, perr := p.plan(c.w, c.h, "x"); (perr == nil) != c.ok {
			t.Errorf("plan(%d, %d) = %v, want ok %v", c.w, c.h, perr, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "too elongated for resize and centre crop") {
			t.Errorf("CheckInput(%d, %d): %v", c.w, c.h, err)
		}
	}
	if err := (Preprocess{Height: 64, Width: 64}).CheckInput(100000, 1); err != nil {
		t.Errorf("squash mode refused an elongated input: %v", err)
	}

	dir := t.TempDir()
	long := filepath.Join(dir, "long.png")
	writeTestPNG(t, long, 8000, 1, func(x, y int) color.Color { return color.Gray{uint8(x)} })
	if _, err := p.RGB(long); err == nil || !strings.HasPrefix(err.Error(), long+": a 8000x1 image resized to 256") {
		t.Errorf("RGB(8000x1) = %v", err)
	}
	if img, err := (Preprocess{Height: 32, Width: 64}).RGB(long); err != nil || img.W != 64 || img.H != 32 {
		t.Errorf("squashed 8000x1: %v", err)
	}

	// Inspect names the most elongated image of a split.
	root := filepath.Join(dir, "cat")
	for _, f := range []struct {
		path string
		w, h int
	}{{"train/good/0.png", 40, 30}, {"train/good/1.png", 300, 2}, {"test/good/0.png", 30, 40}} {
		writeTestPNG(t, filepath.Join(root, f.path), f.w, f.h, func(x, y int) color.Color { return color.Gray{uint8(x + y)} })
	}
	split, err := LoadMVTec(dir, "cat")
	if err != nil {
		t.Fatal(err)
	}
	info, err := split.Inspect()
	if err != nil {
		t.Fatal(err)
	}
	if info.ElongatedImage != filepath.Join(root, "train/good/1.png") || info.ElongatedW != 300 || info.ElongatedH != 2 {
		t.Errorf("ElongatedImage = %s %dx%d, want train/good/1.png 300x2", info.ElongatedImage, info.ElongatedW, info.ElongatedH)
	}
}
