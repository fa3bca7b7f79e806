package experiments

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/padim-go/padim/datasets"
)

func TestImageCacheReturnsWhatPreprocessGives(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i := 0; i < 3; i++ {
		img := image.NewGray(image.Rect(0, 0, 40, 30))
		for j := range img.Pix {
			img.Pix[j] = uint8(j*7 + i*50)
		}
		p := filepath.Join(dir, string(rune('a'+i))+".png")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		png.Encode(f, img)
		f.Close()
		paths = append(paths, p)
	}
	pre := datasets.Preprocess{Height: 16, Width: 16}
	c := &ImageCache{MaxBytes: 2 * 3 * 16 * 16 * 4} // two images
	l := c.Loader(pre)
	for _, p := range append(paths, paths...) {
		got, err := l.Image(p)
		if err != nil {
			t.Fatal(err)
		}
		want, err := pre.Image(p)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want.Data {
			if got.Data[i] != want.Data[i] {
				t.Fatalf("%s: cached image differs at %d", p, i)
			}
		}
	}
	if len(c.entries) != 2 || c.bytes > c.MaxBytes {
		t.Fatalf("cache holds %d entries, %d bytes; budget %d", len(c.entries), c.bytes, c.MaxBytes)
	}
	// Other preprocessing settings are other entries.
	other := datasets.Preprocess{Height: 8, Width: 8}
	if img, err := c.Loader(other).Image(paths[0]); err != nil || img.H != 8 {
		t.Fatalf("other settings gave %v, %v", img, err)
	}
}
