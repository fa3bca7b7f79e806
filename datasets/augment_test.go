package datasets

import (
	"bytes"
	"image/color"
	"path/filepath"
	"testing"
)

func TestRotate90IsExactPermutation(t *testing.T) {
	// Rotating a square image by 90 degrees counter-clockwise moves pixel
	// (x, y) to (y, n-1-x); source points land on pixel centres, so both
	// the bilinear and the nearest rotation must reproduce it exactly.
	const n = 9
	img := NewRGB(n, n)
	g := &Gray{W: n, H: n, Pix: make([]uint8, n*n)}
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	for i := range g.Pix {
		g.Pix[i] = uint8(i)
	}
	rot := rotateRGB(img, 90)
	rg := rotateGrayNearest(g, 90)
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			dx, dy := y, n-1-x
			for c := 0; c < 3; c++ {
				if got, want := rot.Pix[3*(dy*n+dx)+c], img.Pix[3*(y*n+x)+c]; got != want {
					t.Fatalf("rgb (%d,%d)->(%d,%d) c%d: %d, want %d", x, y, dx, dy, c, got, want)
				}
			}
			if got, want := rg.Pix[dy*n+dx], g.Pix[y*n+x]; got != want {
				t.Fatalf("gray (%d,%d)->(%d,%d): %d, want %d", x, y, dx, dy, got, want)
			}
		}
	}
	if !bytes.Equal(rotateRGB(img, 0).Pix, img.Pix) {
		t.Fatal("rotation by 0 is not the identity")
	}
}

func TestRotateFillsCornersBlack(t *testing.T) {
	img := NewRGB(20, 20)
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	out := rotateRGB(img, 10)
	if out.Pix[0] != 0 || out.Pix[len(out.Pix)-1] != 0 {
		t.Fatal("corners not filled with black after a 10 degree rotation")
	}
	if c := 3 * (10*20 + 10); out.Pix[c] != 200 {
		t.Fatalf("centre pixel %d, want 200", out.Pix[c])
	}
}

func TestRdMVTecAugmentation(t *testing.T) {
	// An image with a bright square and a mask of exactly that square:
	// after the same random rotation and crop, mask pixels must be bright
	// (away from the square's blended edge) and non-mask pixels dark.
	dir := t.TempDir()
	img := filepath.Join(dir, "test", "defect", "000.png")
	mask := filepath.Join(dir, "gt", "000_mask.png")
	inside := func(x, y int) bool { return x >= 100 && x < 180 && y >= 110 && y < 170 }
	writeTestPNG(t, img, 300, 300, func(x, y int) color.Color {
		if inside(x, y) {
			return color.Gray{250}
		}
		return color.Gray{10}
	})
	writeTestPNG(t, mask, 300, 300, func(x, y int) color.Color {
		if inside(x, y) {
			return color.Gray{255}
		}
		return color.Gray{0}
	})
	s := Sample{Path: img, MaskPath: mask, Label: 1}
	angles := map[float64]bool{}
	for seed := int64(0); seed < 6; seed++ {
		p := RdMVTecPreprocess(seed)
		g, err := p.plan(300, 300, augmentKey(img))
		if err != nil {
			t.Fatal(err)
		}
		if g.angle < -10 || g.angle > 10 || g.left < 0 || g.left > 32 || g.top < 0 || g.top > 32 {
			t.Fatalf("seed %d: angle %v, crop at (%d,%d) out of range", seed, g.angle, g.left, g.top)
		}
		angles[g.angle] = true
		rgb, err := p.RGB(img)
		if err != nil {
			t.Fatal(err)
		}
		m, err := p.SampleMask(s)
		if err != nil {
			t.Fatal(err)
		}
		if rgb.W != 224 || rgb.H != 224 || len(m) != 224*224 {
			t.Fatalf("sizes %dx%d, mask %d", rgb.W, rgb.H, len(m))
		}
		var bad, on int
		for i, v := range m {
			px := rgb.Pix[3*i]
			if v {
				on++
			}
			if (v && px < 60) || (!v && px > 200) {
				bad++
			}
		}
		if on == 0 || bad > on/10 {
			t.Fatalf("seed %d: %d mask pixels, %d disagree with the image", seed, on, bad)
		}
		again, err := p.RGB(img)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again.Pix, rgb.Pix) {
			t.Fatalf("seed %d: augmentation not deterministic", seed)
		}
		if _, err := p.Mask(mask); err == nil {
			t.Fatal("Mask accepted an augmented preprocess; it cannot know the image path")
		}
	}
	if len(angles) < 5 {
		t.Fatalf("6 seeds gave only %d distinct angles", len(angles))
	}
}

func TestAugmentKeyIgnoresLocation(t *testing.T) {
	a := augmentKey("/data/mvtec/bottle/test/good/000.png")
	b := augmentKey("../elsewhere/bottle/test/good/000.png")
	if a != b || a != "test/good/000.png" {
		t.Fatalf("keys %q and %q", a, b)
	}
}
