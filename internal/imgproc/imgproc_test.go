package imgproc

import (
	"fmt"
	"github.com/padim-go/padim/internal/testenv"
	"math"
	"testing"
)

func maxAbsDiff(t *testing.T, got []float32, want []float64) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d values, want %d", len(got), len(want))
	}
	var worst float64
	for i := range got {
		worst = math.Max(worst, math.Abs(float64(got[i])-want[i]))
	}
	return worst
}

func TestResizeBilinearMatchesTorch(t *testing.T) {
	m := testenv.LoadManifest(t, "testdata/padim")
	for _, name := range []string{"bilinear_up", "bilinear_56to224", "bilinear_down", "bilinear_mixed", "bilinear_1px"} {
		t.Run(name, func(t *testing.T) {
			c := m.Cases[name]
			h, w, oh, ow := int(c["h"]), int(c["w"]), int(c["oh"]), int(c["ow"])
			got := ResizeBilinear(m.Array32(t, name+"_in"), h, w, oh, ow)
			if d := maxAbsDiff(t, got, m.Array(t, name+"_out")); d > 2e-6 {
				t.Errorf("%dx%d -> %dx%d: max |diff| vs torch = %g", h, w, oh, ow, d)
			}
		})
	}
}

func TestGaussianBlurMatchesScipy(t *testing.T) {
	m := testenv.LoadManifest(t, "testdata/padim")
	for _, name := range []string{"gauss_224_s4", "gauss_small_s4", "gauss_20x17_s1.5", "gauss_1x40_s2"} {
		t.Run(name, func(t *testing.T) {
			c := m.Cases[name]
			h, w := int(c["h"]), int(c["w"])
			img := m.Array32(t, name+"_in")
			GaussianBlur(img, h, w, c["sigma"])
			if d := maxAbsDiff(t, img, m.Array(t, name+"_out")); d > 1e-6 {
				t.Errorf("%dx%d sigma %v: max |diff| vs scipy = %g", h, w, c["sigma"], d)
			}
		})
	}
}

func TestGaussianKernel(t *testing.T) {
	for _, tc := range []struct {
		sigma float64
		taps  int
	}{{4, 33}, {1, 9}, {0.1, 1}, {1.5, 13}} {
		k := GaussianKernel(tc.sigma)
		if len(k) != tc.taps {
			t.Errorf("sigma %v: %d taps, want %d", tc.sigma, len(k), tc.taps)
		}
		var sum float64
		for i := range k {
			sum += k[i]
			if k[i] != k[len(k)-1-i] {
				t.Errorf("sigma %v: kernel not symmetric at %d", tc.sigma, i)
			}
		}
		if math.Abs(sum-1) > 1e-12 {
			t.Errorf("sigma %v: weights sum to %v", tc.sigma, sum)
		}
	}
}

func TestReflectIndex(t *testing.T) {
	// scipy "reflect" for n=3: ... 2 1 0 | 0 1 2 | 2 1 0 | 0 1 2 ...
	want := map[int]int{-8: 1, -7: 0, -6: 0, -4: 2, -3: 2, -2: 1, -1: 0, 0: 0, 2: 2, 3: 2, 4: 1, 5: 0, 6: 0, 8: 2, 9: 2}
	for i, w := range want {
		if got := reflectIndex(i, 3); got != w {
			t.Errorf("reflectIndex(%d, 3) = %d, want %d", i, got, w)
		}
	}
	if got := reflectIndex(-5, 1); got != 0 {
		t.Errorf("reflectIndex(-5, 1) = %d", got)
	}
}

func TestUpsampleNearest(t *testing.T) {
	for _, tc := range []struct {
		h, w, f int
	}{{2, 3, 2}, {1, 1, 4}, {3, 2, 1}, {4, 5, 3}} {
		src := make([]float32, tc.h*tc.w)
		for i := range src {
			src[i] = float32(i)
		}
		got := UpsampleNearest(src, tc.h, tc.w, tc.f)
		ow := tc.w * tc.f
		if len(got) != tc.h*tc.f*ow {
			t.Fatalf("%+v: %d values", tc, len(got))
		}
		for y := 0; y < tc.h*tc.f; y++ {
			for x := 0; x < ow; x++ {
				if want := src[(y/tc.f)*tc.w+x/tc.f]; got[y*ow+x] != want {
					t.Fatalf("%+v: (%d,%d) = %v, want %v", tc, y, x, got[y*ow+x], want)
				}
			}
		}
	}
}

func TestBadSizesPanic(t *testing.T) {
	for name, f := range map[string]func(){
		"resize short":   func() { ResizeBilinear(make([]float32, 5), 2, 3, 4, 4) },
		"resize zero":    func() { ResizeBilinear(nil, 0, 3, 4, 4) },
		"blur short":     func() { GaussianBlur(make([]float32, 5), 2, 3, 4) },
		"blur sigma 0":   func() { GaussianBlur(make([]float32, 6), 2, 3, 0) },
		"nearest factor": func() { UpsampleNearest(make([]float32, 6), 2, 3, 0) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func BenchmarkGaussianBlur224(b *testing.B) {
	img := make([]float32, 224*224)
	for i := range img {
		img[i] = float32(i % 17)
	}
	b.ReportAllocs()
	for b.Loop() {
		GaussianBlur(img, 224, 224, 4)
	}
}

func BenchmarkResizeBilinear56to224(b *testing.B) {
	src := make([]float32, 56*56)
	b.ReportAllocs()
	for b.Loop() {
		ResizeBilinear(src, 56, 56, 224, 224)
	}
}

func ExampleResizeBilinear() {
	// A 1x2 image doubled in width: PyTorch's half-pixel rule puts output
	// pixel centres at source x = -0.25 (clamped to 0), 0.25, 0.75, 1.25.
	out := ResizeBilinear([]float32{0, 4}, 1, 2, 1, 4)
	fmt.Println(out)
	// Output: [0 1 3 4]
}

func ExampleGaussianBlur() {
	// A constant image is unchanged by a normalised kernel with reflected borders.
	img := []float32{2, 2, 2, 2, 2, 2}
	GaussianBlur(img, 2, 3, 4)
	fmt.Printf("%.4f\n", img)
	// Output: [2.0000 2.0000 2.0000 2.0000 2.0000 2.0000]
}
