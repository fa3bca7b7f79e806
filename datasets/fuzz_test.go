package datasets

import (
	"bytes"
	"testing"
)

// FuzzDecodeImage feeds arbitrary bytes through the image loading path
// (format sniffing, header checks, decoding, PIL-style RGB and gray
// conversion). It must never panic or allocate for a size the header does
// not justify, and whatever decodes must be self-consistent: the header-only
// size that Split.Validate relies on equals the decoded size, and the RGB
// and gray conversions have exactly W*H pixels. The committed seed corpus
// (testdata/fuzz/FuzzDecodeImage, scripts/fuzz_seed_images.py) holds tiny
// png, jpeg and bmp files of every PIL mode the loaders meet.
func FuzzDecodeImage(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Add([]byte{0xff, 0xd8, 0xff})
	f.Add([]byte("BM"))
	f.Fuzz(func(t *testing.T, data []byte) {
		w, h, herr := imageSizeFrom(bytes.NewReader(data), "fuzz")
		img, err := decodeBytes(data, "fuzz")
		if err != nil {
			if !bytes.Contains([]byte(err.Error()), []byte("fuzz")) {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if herr != nil {
			t.Fatalf("decodes but its header does not: %v", herr)
		}
		b := img.Bounds()
		if b.Dx() != w || b.Dy() != h {
			t.Fatalf("header says %dx%d, decoded %dx%d", w, h, b.Dx(), b.Dy())
		}
		rgb := toRGB(img)
		if rgb.W != w || rgb.H != h || len(rgb.Pix) != 3*w*h {
			t.Fatalf("RGB %dx%d with %d bytes for a %dx%d image", rgb.W, rgb.H, len(rgb.Pix), w, h)
		}
		g := toGray(img)
		if g.W != w || g.H != h || len(g.Pix) != w*h {
			t.Fatalf("gray %dx%d with %d bytes for a %dx%d image", g.W, g.H, len(g.Pix), w, h)
		}
	})
}
