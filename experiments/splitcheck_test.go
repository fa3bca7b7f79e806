package experiments

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/internal/testenv"
)

// TestValidateSplitRemembered: an Env validates a split once; a file that
// changes on disk (size or modification time) is validated again, and a
// split that failed is not remembered. The last case proves the remembering:
// a file corrupted in place with its size and modification time restored is
// caught by Validate but not by the Env that validated it before.
func TestValidateSplitRemembered(t *testing.T) {
	root := t.TempDir()
	if err := datasets.GenerateSynthetic(root, datasets.SyntheticOptions{Categories: []string{"stripes"}, Size: 32, Train: 3, TestGood: 2, TestPerDefect: 1, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	split, err := datasets.LoadMVTec(root, "stripes")
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{}
	if err := e.validateSplit(split); err != nil {
		t.Fatal(err)
	}
	img := split.Test[0].Path
	good, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(img)
	if err != nil {
		t.Fatal(err)
	}
	corrupt := append([]byte(nil), good...)
	copy(corrupt, "not a png")

	// Changed on disk (content and modification time): validated again.
	if err := os.WriteFile(img, corrupt, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(img, st.ModTime(), st.ModTime().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	for range 2 { // a failure is not remembered
		if err := e.validateSplit(split); err == nil || !strings.Contains(err.Error(), img) {
			t.Fatalf("validateSplit after %s changed: %v, want an error naming it", img, err)
		}
	}

	// Repaired: passes, and is remembered under the new modification time.
	if err := os.WriteFile(img, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(img, st.ModTime(), st.ModTime().Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := e.validateSplit(split); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(img, corrupt, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(img, st.ModTime(), st.ModTime().Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := split.Validate(); err == nil {
		t.Fatal("Validate accepts the corrupted image")
	}
	if err := e.validateSplit(split); err != nil {
		t.Errorf("validateSplit validated again although no file's path, size or modification time changed: %v", err)
	}
	// Another Env (another process) validates for itself.
	if err := (&Env{}).validateSplit(split); err == nil {
		t.Error("a new Env accepts the corrupted image")
	}
}

// BenchmarkValidateSplit: validating MVTec bottle (mask decoding dominates)
// against finding it remembered (a stat of each of its 355 files).
func BenchmarkValidateSplit(b *testing.B) {
	split, err := datasets.LoadMVTec(filepath.Dir(testenv.SharedFile(b, "mvtec_ad/bottle")), "bottle")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("validate", func(b *testing.B) {
		for b.Loop() {
			if err := split.Validate(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("remembered", func(b *testing.B) {
		e := &Env{}
		if err := e.validateSplit(split); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := e.validateSplit(split); err != nil {
				b.Fatal(err)
			}
		}
	})
}
