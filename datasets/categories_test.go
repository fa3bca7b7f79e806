package datasets

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestMVTecCategories: the 15 classes, textures first as the paper lists
// them, each once, and IsMVTecTexture true exactly for the first five.
func TestMVTecCategories(t *testing.T) {
	want := []string{"carpet", "grid", "leather", "tile", "wood",
		"bottle", "cable", "capsule", "hazelnut", "metal_nut", "pill", "screw", "toothbrush", "transistor", "zipper"}
	if !slices.Equal(MVTecCategories, want) {
		t.Fatalf("MVTecCategories = %v, want %v", MVTecCategories, want)
	}
	for i, c := range MVTecCategories {
		if got := IsMVTecTexture(c); got != (i < 5) {
			t.Errorf("IsMVTecTexture(%q) = %v", c, got)
		}
		if _, ok := MVTecArchive(c); !ok {
			t.Errorf("no archive for category %q", c)
		}
	}
	if IsMVTecTexture("stripes") {
		t.Error("a synthetic texture counts as an MVTec texture")
	}
}

func TestDirExists(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if !DirExists(dir) || DirExists(file) || DirExists(filepath.Join(dir, "missing")) {
		t.Errorf("DirExists: dir %v, file %v, missing %v", DirExists(dir), DirExists(file), DirExists(filepath.Join(dir, "missing")))
	}
}
