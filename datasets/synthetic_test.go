package datasets

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenerateSynthetic(t *testing.T) {
	opts := SyntheticOptions{Categories: []string{"grid", "disc"}, Size: 64, Train: 3, TestGood: 2, TestPerDefect: 2, Seed: 5}
	a, b := t.TempDir(), t.TempDir()
	if err := GenerateSynthetic(a, opts); err != nil {
		t.Fatal(err)
	}
	if err := GenerateSynthetic(b, opts); err != nil {
		t.Fatal(err)
	}
	// Bit-identical for the same options.
	n := 0
	err := filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		rel, _ := filepath.Rel(a, p)
		x, _ := os.ReadFile(p)
		y, err := os.ReadFile(filepath.Join(b, rel))
		if err != nil {
			return err
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// per category: 3 train + 2 good + 3 defects x 2 x (image + mask)
	if want := 2 * (3 + 2 + 3*2*2); n != want {
		t.Fatalf("%d files, want %d", n, want)
	}
	for _, cat := range opts.Categories {
		s, err := LoadMVTec(a, cat)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Train) != 3 || len(s.Test) != 8 || !s.HasMasks {
			t.Fatalf("%s: train %d test %d masks %v", cat, len(s.Train), len(s.Test), s.HasMasks)
		}
		// Masks are non-empty, exact (only where pixels changed), and
		// the images differ from good ones inside the mask.
		p := Preprocess{Height: 64, Width: 64}
		for _, smp := range s.Test {
			m, err := p.SampleMask(smp)
			if err != nil {
				t.Fatal(err)
			}
			on := 0
			for _, v := range m {
				if v {
					on++
				}
			}
			if (on > 0) != (smp.Label == 1) {
				t.Errorf("%s: %d mask pixels, label %d", smp.Path, on, smp.Label)
			}
		}
	}
	// A different seed changes the images.
	opts.Seed = 6
	c := t.TempDir()
	if err := GenerateSynthetic(c, opts); err != nil {
		t.Fatal(err)
	}
	x, _ := os.ReadFile(filepath.Join(a, "grid", "train", "good", "000.png"))
	y, _ := os.ReadFile(filepath.Join(c, "grid", "train", "good", "000.png"))
	if bytes.Equal(x, y) {
		t.Fatal("seeds 5 and 6 gave the same image")
	}
}

// TestSyntheticMaskIsExact renders each defect image with and without
// painting the defect, from the same random stream, and checks the
// painted pixels lie inside the mask and cover most of it.
func TestSyntheticMaskIsExact(t *testing.T) {
	o, err := SyntheticOptions{Size: 48, Seed: 1}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	for _, cat := range SyntheticCategories {
		for _, d := range SyntheticDefects {
			img, mask := synthImage(o, cat, "test", d, 0)
			clean, mask2 := synthRender(o, cat, "test", d, 0, false)
			if !bytes.Equal(mask.Pix, mask2.Pix) {
				t.Fatalf("%s/%s: mask depends on painting", cat, d)
			}
			changed := 0
			for i := 0; i < 48*48; i++ {
				diff := !bytes.Equal(img.Pix[4*i:4*i+3], clean.Pix[4*i:4*i+3])
				if diff && mask.Pix[i] == 0 {
					t.Fatalf("%s/%s: pixel %d changed outside the mask", cat, d, i)
				}
				if diff {
					changed++
				}
			}
			on := 0
			for _, v := range mask.Pix {
				if v == 255 {
					on++
				} else if v != 0 {
					t.Fatalf("%s/%s: mask value %d", cat, d, v)
				}
			}
			if on == 0 || on > 48*48/4 {
				t.Errorf("%s/%s: %d mask pixels", cat, d, on)
			}
			// Inside the mask the defect colour replaces the content; a few
			// pixels may coincide after noise, most must change.
			if changed < on*3/4 {
				t.Errorf("%s/%s: only %d of %d mask pixels changed", cat, d, changed, on)
			}
			if img.Bounds().Dx() != 48 {
				t.Fatal("wrong size")
			}
		}
	}
	if _, err := (SyntheticOptions{Categories: []string{"zebra"}}).withDefaults(); err == nil {
		t.Fatal("unknown category accepted")
	}
	if _, err := (SyntheticOptions{Size: 8}).withDefaults(); err == nil {
		t.Fatal("size 8 accepted")
	}
}

func TestMVTecRegistry(t *testing.T) {
	if len(MVTecADArchives) != 16 {
		t.Fatalf("%d archives, want full + 15 categories", len(MVTecADArchives))
	}
	cats := append(append([]string{}, MVTecTextures...), MVTecObjects...)
	for _, c := range cats {
		a, ok := MVTecArchive(c)
		if !ok || a.Category != c || filepath.Base(a.URL) != c+".tar.xz" {
			t.Errorf("%s: archive %+v", c, a)
		}
	}
	full, ok := MVTecArchive("mvtec_ad")
	if !ok || len(full.SHA256) != 64 || full.Size <= 0 {
		t.Fatalf("full archive %+v", full)
	}
}

// TestReplaceSynthetic: a second generation replaces the first whole (no
// file of the first remains), a completion marker beside the categories is
// accepted, and a folder holding anything else is refused untouched.
func TestReplaceSynthetic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "syn")
	if err := ReplaceSynthetic(dir, SyntheticOptions{Categories: []string{"stripes"}, Size: 64, Train: 6, TestGood: 2, TestPerDefect: 1}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, ".padim-synthetic-complete"), []byte("{}"), 0o644)
	if err := ReplaceSynthetic(dir, SyntheticOptions{Categories: []string{"stripes"}, Size: 32, Train: 2, TestGood: 1, TestPerDefect: 1}); err != nil {
		t.Fatal(err)
	}
	train, _ := os.ReadDir(filepath.Join(dir, "stripes", "train", "good"))
	if len(train) != 2 {
		t.Errorf("%d training images after regenerating with 2: stale files remain", len(train))
	}
	if _, err := os.Stat(filepath.Join(dir, ".padim-synthetic-complete")); err == nil {
		t.Error("the old completion marker survived the replacement")
	}
	if entries, _ := os.ReadDir(filepath.Dir(dir)); len(entries) != 1 {
		t.Errorf("staging or old folders left beside the dataset: %v", entries)
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("keep"), 0o644)
	err := ReplaceSynthetic(dir, SyntheticOptions{Categories: []string{"stripes"}, Size: 32, Train: 2, TestGood: 1, TestPerDefect: 1})
	if err == nil || !strings.Contains(err.Error(), "not empty and not a synthetic dataset") {
		t.Fatalf("a folder with other files: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "notes.txt")); string(b) != "keep" {
		t.Error("the refused folder changed")
	}
}
