package datasets

import "testing"

// TestPaperPreprocessSettings pins the protocols as literals: the paper's
// Resize(256, Lanczos = PIL ANTIALIAS) + CenterCrop(224), Rd-MVTec AD's
// rotation of up to 10 degrees with a random crop, and the Magnetic Tile
// protocol's squash to 224x224 with Lanczos. (Masks are always resampled with
// Nearest: TestPILMask compares them with PIL's.)
func TestPaperPreprocessSettings(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want Preprocess
	}{
		{"paper", PaperPreprocess(), Preprocess{Resize: 256, Crop: 224, Filter: Lanczos}},
		{"rd-mvtec", RdMVTecPreprocess(4), Preprocess{Resize: 256, Crop: 224, Filter: Lanczos, RandomRotate: 10, RandomCrop: true, Seed: 4}},
		{"magnetic tile", MagneticTilePreprocess(), Preprocess{Height: 224, Width: 224, Filter: Lanczos}},
	} {
		if c.got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, c.got, c.want)
		}
		if s := c.got.Filter.String(); s != "lanczos" {
			t.Errorf("%s: filter %q, want lanczos", c.name, s)
		}
	}
}
