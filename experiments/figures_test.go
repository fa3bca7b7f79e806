package experiments

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/padim-go/padim/internal/chart"
)

// fakeRun writes a cache entry with curves for a finished run.
func fakeRun(t *testing.T, cache string, key string, run Run, img, pix, pro float64) *Result {
	t.Helper()
	c := Curves{ROCFPR: []float64{0, 0.2, 1}, ROCTPR: []float64{0, img, 1},
		PixelROCFPR: []float64{0, 0.1, 1}, PixelROCTPR: []float64{0, pix, 1},
		PROFPR: []float64{0, 0.1, 0.3}, PRO: []float64{0, pro, 0.95}}
	b, _ := json.Marshal(c)
	if err := os.MkdirAll(filepath.Join(cache, key), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cache, key, "curves.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return &Result{Key: key, Run: run, Status: "ok", ImageAUROC: fptr(img), PixelAUROC: fptr(pix), PRO: fptr(pro)}
}

// Pixel tables get pixel ROC and PRO curves, not the image ROC a detection
// table draws: the two tables' figures differ.
func TestWriteFiguresPixelTablesDrawPixelCurves(t *testing.T) {
	cache, out := t.TempDir(), t.TempDir()
	ds := DatasetSpec{Kind: "mvtec", Category: "bottle"}
	var results []*Result
	for i, s := range []int64{1, 2} {
		results = append(results, fakeRun(t, cache, "r"+string(rune('a'+i)), Run{Row: "PaDiM-R18-Rd100", Dataset: ds, Model: padimR18(100, s)}, 0.9+0.01*float64(i), 0.8, 0.7))
	}
	loc := Table{Name: "localization", Metrics: []string{"pixel_auroc", "pro", "image_auroc"}}
	det := Table{Name: "detection", Metrics: []string{"image_auroc"}}
	locFigs, err := WriteFigures(out, cache, loc, results)
	if err != nil {
		t.Fatal(err)
	}
	detFigs, err := WriteFigures(out, cache, det, results)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"localization/pixel-roc-bottle.png", "localization/pro-bottle.png"} {
		if !slices.Contains(locFigs, want) {
			t.Errorf("localization figures %v lack %s", locFigs, want)
		}
	}
	if slices.Contains(locFigs, "localization/roc-bottle.png") {
		t.Errorf("localization draws the image ROC: %v", locFigs)
	}
	if !slices.Contains(detFigs, "detection/roc-bottle.png") || slices.Contains(detFigs, "detection/pixel-roc-bottle.png") {
		t.Errorf("detection figures %v: want the image ROC and no pixel curves", detFigs)
	}
	a, _ := os.ReadFile(filepath.Join(out, "localization/pixel-roc-bottle.png"))
	b, _ := os.ReadFile(filepath.Join(out, "detection/roc-bottle.png"))
	if len(a) == 0 || bytes.Equal(a, b) {
		t.Error("the pixel ROC figure is empty or a copy of the image ROC figure")
	}
	if got := legendName("PaDiM-R18-Rd100", "image AUROC", []float64{0.9, 0.91}); got != "PaDiM-R18-Rd100: image AUROC 0.905 ± 0.007 (2)" {
		t.Errorf("legend %q does not carry the mean ± sd over seeds", got)
	}
}

// The random-subset legend of a dimension plot promises error bars only
// where the curve has them: a mean over classes has none.
func TestRandomSubsetLegend(t *testing.T) {
	for _, tc := range []struct {
		sd   []float64
		want string
	}{
		{[]float64{0.008, 0.001, 0}, "random subset (mean ± sd over seeds)"},
		{[]float64{0, 0, 0}, "random subset (mean over seeds)"},
		{nil, "random subset (mean over seeds)"},
	} {
		if got := randomSubsetLegend(tc.sd); got != tc.want {
			t.Errorf("sd %v: legend %q, want %q", tc.sd, got, tc.want)
		}
	}
}

// A zoomed ROC keeps two false-positive steps in view: with 20 normal
// images (bottle) the first step is 0.05, the zoom for AUROC >= 0.99.
func TestROCZoomKeepsTwoSteps(t *testing.T) {
	roc := func(step float64) []*methodCurves {
		return []*methodCurves{{
			method: "PaDiM",
			roc:    []chart.Series{{X: []float64{0, 0, step, 1}, Y: []float64{0, 0.95, 1, 1}}},
			image:  []float64{0.997},
		}}
	}
	image := func(m *methodCurves) ([]chart.Series, []float64) { return m.roc, m.image }
	for _, tc := range []struct {
		step, wantXMax float64
	}{
		{0.05, 0.1},   // bottle: the zoom would end on the step
		{0.001, 0.05}, // many normal images: the zoom is kept
		{0.7, 1},      // never past FPR 1
	} {
		z, ok := rocZoom(roc(tc.step), image)
		if !ok {
			t.Fatalf("step %v: no zoom for AUROC 0.997", tc.step)
		}
		if z.x.Max != tc.wantXMax {
			t.Errorf("step %v: zoom to FPR %v, want %v", tc.step, z.x.Max, tc.wantXMax)
		}
		if z.y.Min != 0.8 {
			t.Errorf("step %v: TPR from %v, want 0.8", tc.step, z.y.Min)
		}
	}
}
