package datasets

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// sharedData returns the shared data folder from PADIM_DATA, resolving a
// relative value against the repository root (the folder holding go.mod),
// or skips the test when PADIM_DATA is unset.
func sharedData(t *testing.T) string {
	t.Helper()
	d := os.Getenv("PADIM_DATA")
	if d == "" {
		t.Skip("PADIM_DATA not set: shared real data unavailable")
	}
	if filepath.IsAbs(d) {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, d)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("PADIM_DATA=%s is relative but no go.mod found above the test directory", d)
		}
		dir = parent
	}
}

// writeTestPNG writes a w x h image whose pixel (x, y) is f(x, y).
func writeTestPNG(t *testing.T, path string, w, h int, f func(x, y int) color.Color) {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, f(x, y))
		}
	}
	writeImage(t, path, img)
}

func writeImage(t *testing.T, path string, img image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func touch(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
