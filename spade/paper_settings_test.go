package spade

import (
	"slices"
	"testing"
)

// TestPaperSettings pins SPADE as the PaDiM paper runs it: K = 50 nearest
// training images, pixel kNN over layer1-3, and a Gaussian of sigma 4 on the
// maps, also when a Config leaves Sigma and GalleryK unset.
func TestPaperSettings(t *testing.T) {
	if PaperK != 50 || PaperSigma != 4 {
		t.Fatalf("PaperK %d, PaperSigma %v; want 50 and 4", PaperK, PaperSigma)
	}
	cfg := PaperConfig("layer4", 224, 224)
	if cfg.K != 50 || !slices.Equal(cfg.PixelLayers, []string{"layer1", "layer2", "layer3"}) || cfg.Height != 224 || cfg.Width != 224 {
		t.Fatalf("PaperConfig = %+v", cfg)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Config(); got.Sigma != 4 || got.GalleryK != 50 {
		t.Fatalf("defaults filled in: sigma %v, GalleryK %d; want 4 and 50", got.Sigma, got.GalleryK)
	}
}
