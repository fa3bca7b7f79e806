package datasets

import (
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkResize is the paper protocol's main cost: a 900x900 MVTec AD
// image resized to 256x256.
func BenchmarkResize(b *testing.B) {
	img := NewRGB(900, 900)
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 31)
	}
	for _, f := range []Filter{Lanczos, Bilinear, Nearest} {
		b.Run(f.String(), func(b *testing.B) {
			for b.Loop() {
				img.Resize(256, 256, f)
			}
		})
	}
}

// BenchmarkPaperImage decodes and preprocesses the 311x277 png fixture.
func BenchmarkPaperImage(b *testing.B) {
	p := PaperPreprocess()
	path := filepath.Join(pilDir, "big.png")
	for b.Loop() {
		if _, err := p.Image(path); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRdMVTec adds the rotation and random crop.
func BenchmarkRdMVTec(b *testing.B) {
	path := filepath.Join(pilDir, "big.png")
	for i := 0; b.Loop(); i++ {
		if _, err := RdMVTecPreprocess(int64(i)).Image(path); err != nil {
			b.Fatal(fmt.Errorf("seed %d: %w", i, err))
		}
	}
}
