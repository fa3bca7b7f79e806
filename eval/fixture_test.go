package eval

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// Fixtures written by scripts/eval_fixtures.py from sklearn, scipy and a
// numpy PRO sweep written from the published definition.
const fixtureDir = "../testdata/eval"

type fixtures struct {
	ROC []struct {
		Name      string    `json:"name"`
		Scores    []float64 `json:"scores"`
		Labels    []bool    `json:"labels"`
		AUROC     float64   `json:"auroc"`
		FPR       []float64 `json:"fpr"`
		TPR       []float64 `json:"tpr"`
		Threshold []float64 `json:"thresholds_after_inf"`
	} `json:"roc"`
	Pixels []struct {
		Name         string             `json:"name"`
		N            int                `json:"n"`
		H            int                `json:"h"`
		W            int                `json:"w"`
		PixelAUROC   float64            `json:"pixel_auroc"`
		RegionsPer   []int              `json:"regions_per_image"`
		Regions      int                `json:"regions"`
		NormalPixels int                `json:"normal_pixels"`
		CurvePoints  int                `json:"curve_points"`
		AUPRO        map[string]float64 `json:"aupro"`
	} `json:"pixels"`
}

func loadFixtures(t *testing.T) fixtures {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, "fixtures.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f fixtures
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("fixtures.json: %v", err)
	}
	return f
}

// readRaw reads a little-endian binary fixture of exactly n elements of T.
func readRaw[T any](t *testing.T, name string, n int) []T {
	t.Helper()
	path := filepath.Join(fixtureDir, name)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]T, n)
	if want := binary.Size(out); len(b) != want {
		t.Fatalf("%s: %d bytes, want %d", path, len(b), want)
	}
	if _, err := binary.Decode(b, binary.LittleEndian, out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}

func TestROCFixtures(t *testing.T) {
	for _, c := range loadFixtures(t).ROC {
		t.Run(c.Name, func(t *testing.T) {
			got, err := AUROC(c.Scores, c.Labels)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-c.AUROC) > 1e-12 {
				t.Errorf("AUROC = %.17g, sklearn %.17g", got, c.AUROC)
			}
			fpr, tpr, thr, err := ROC(c.Scores, c.Labels)
			if err != nil {
				t.Fatal(err)
			}
			if !equalFloats(fpr, c.FPR, 1e-15) || !equalFloats(tpr, c.TPR, 1e-15) {
				t.Errorf("ROC differs from sklearn:\nfpr %v\nwant %v\ntpr %v\nwant %v", fpr, c.FPR, tpr, c.TPR)
			}
			if !math.IsInf(thr[0], 1) || !equalFloats(thr[1:], c.Threshold, 0) {
				t.Errorf("thresholds = %v, sklearn inf then %v", thr, c.Threshold)
			}
		})
	}
}

func TestPixelFixtures(t *testing.T) {
	for _, c := range loadFixtures(t).Pixels {
		t.Run(c.Name, func(t *testing.T) {
			if c.N == 0 || c.H == 0 || c.W == 0 {
				t.Fatalf("fixture %s has no shape", c.Name)
			}
			size := c.H * c.W
			flat := readRaw[float32](t, c.Name+"_maps.f32", c.N*size)
			rawMasks := readRaw[uint8](t, c.Name+"_masks.u8", c.N*size)
			wantLabels := readRaw[int32](t, c.Name+"_labels.i32", c.N*size)
			curve := readRaw[float64](t, c.Name+"_curve.f64", 2*c.CurvePoints)
			maps := make([][]float32, c.N)
			masks := make([][]bool, c.N)
			for i := range maps {
				maps[i] = flat[i*size : (i+1)*size]
				masks[i] = make([]bool, size)
				for j := range masks[i] {
					masks[i][j] = rawMasks[i*size+j] != 0
				}
				labels, n, err := LabelRegions(masks[i], c.W)
				if err != nil {
					t.Fatal(err)
				}
				if n != c.RegionsPer[i] {
					t.Errorf("image %d: %d regions, scipy %d", i, n, c.RegionsPer[i])
				}
				for j, l := range labels {
					if l != wantLabels[i*size+j] {
						t.Fatalf("image %d pixel %d: label %d, scipy %d", i, j, l, wantLabels[i*size+j])
					}
				}
			}
			got, err := PixelAUROC(maps, masks)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-c.PixelAUROC) > 1e-12 {
				t.Errorf("PixelAUROC = %.17g, sklearn %.17g", got, c.PixelAUROC)
			}
			for key, want := range c.AUPRO {
				limit, err := strconv.ParseFloat(key, 64)
				if err != nil {
					t.Fatalf("fixture limit %q: %v", key, err)
				}
				res, err := PRO(maps, masks, c.W, limit)
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(res.AUPRO-want) > 1e-12 {
					t.Errorf("limit %v: AU-PRO = %.17g, reference %.17g", limit, res.AUPRO, want)
				}
				if res.Regions != c.Regions || res.NormalPixels != c.NormalPixels {
					t.Errorf("regions %d normal pixels %d, reference %d %d", res.Regions, res.NormalPixels, c.Regions, c.NormalPixels)
				}
				checkCurveOn(t, res.Curve, curve[:c.CurvePoints], curve[c.CurvePoints:])
			}
		})
	}
}

func BenchmarkPixelMetrics(b *testing.B) {
	// 100 maps of 224 x 224 (5 M pixels), a tenth of the pixels anomalous.
	const n, side = 100, 224
	maps := make([][]float32, n)
	masks := make([][]bool, n)
	for i := range maps {
		maps[i] = make([]float32, side*side)
		masks[i] = make([]bool, side*side)
		for j := range maps[i] {
			x := uint32(j*2654435761 + i*40503)
			maps[i][j] = float32(x%100000) / 1000
			masks[i][j] = (j/side)%10 == i%10 && x%3 != 0
		}
	}
	for _, bm := range []struct {
		name string
		run  func() error
	}{
		{"PixelAUROC", func() error { _, err := PixelAUROC(maps, masks); return err }},
		{"PRO", func() error { _, err := PRO(maps, masks, side, PaperPROLimit); return err }},
	} {
		b.Run(fmt.Sprintf("%s/%.1fMpx", bm.name, n*side*side/1e6), func(b *testing.B) {
			for b.Loop() {
				if err := bm.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
