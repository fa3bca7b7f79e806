package experiments

import (
	"context"
	"encoding/json"
	"github.com/padim-go/padim/internal/testenv"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/padim"
)

// These tests run the paper's protocol on the shared real data and compare
// with the committed PyTorch run of the same protocol and the same channel
// indices (scripts/padim_torch.py, reports/torch-reference/). They need
// PADIM_DATA (CI sets it).

type torchReference struct {
	Metrics struct {
		ImageAUROC *float64 `json:"image_auroc"`
		PixelAUROC *float64 `json:"pixel_auroc"`
		PRO        *float64 `json:"pro_0.3"`
	} `json:"metrics"`
	PerImage []struct {
		Path  string  `json:"path"`
		Score float64 `json:"score"`
	} `json:"per_image"`
}

func readTorchReference(t *testing.T, name string) torchReference {
	t.Helper()
	var ref torchReference
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "reports", "torch-reference", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ref
}

// fitAndScore fits PaDiM-R18 with the reference channel indices and scores the test split.
func fitAndScore(t *testing.T, data string, split *datasets.Split, pre datasets.Preprocess) (*Scored, map[string]*float64) {
	t.Helper()
	bb, sha, err := backbones.Open("resnet18", filepath.Join(data, "weights", "resnet18-imagenet-layer1to3.pth"), r18Layers)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := padim.ReadChannelIndices(filepath.Join(testenv.RepoRoot(t), "testdata", "torchref", "channels-r18-d100.txt"), 448)
	if err != nil {
		t.Fatal(err)
	}
	cfg := padim.FitConfig{Layers: r18Layers, Selection: padim.SelectIndices, Indices: idx, BatchSize: 16, WeightsSHA256: sha, Preprocess: Policy(pre)}
	m, err := padim.Fit(context.Background(), cfg, bb, split.Train, pre, nil)
	if err != nil {
		t.Fatal(err)
	}
	scored, err := ScoreSplit(context.Background(), PaDiMScorer{Model: m, Backbone: bb}, split, pre, 16, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := scored.Evaluate()
	if err != nil {
		t.Fatal(err)
	}
	return scored, map[string]*float64{"image_auroc": metricPtr(res.ImageAUROC), "pixel_auroc": metricPtr(res.PixelAUROC), "pro": metricPtr(res.PRO)}
}

// compareScores logs how far per-image scores are from PyTorch's and fails
// if the two rank the images very differently.
func compareScores(t *testing.T, scored *Scored, ref torchReference, root string) {
	t.Helper()
	torch := map[string]float64{}
	for _, p := range ref.PerImage {
		torch[p.Path] = p.Score
	}
	var goS, tS []float64
	maxRel := 0.0
	for i, s := range scored.Samples {
		rel, _ := filepath.Rel(root, s.Path)
		v, ok := torch[filepath.ToSlash(rel)]
		if !ok {
			t.Fatalf("%s: no PyTorch score for this image", rel)
		}
		goS, tS = append(goS, scored.Scores[i]), append(tS, v)
		maxRel = math.Max(maxRel, math.Abs(scored.Scores[i]-v)/math.Abs(v))
	}
	rho := spearman(goS, tS)
	t.Logf("per-image scores vs PyTorch: max relative difference %.4f, Spearman rank correlation %.5f over %d images", maxRel, rho, len(goS))
	if rho < 0.99 {
		t.Errorf("image scores rank differently from PyTorch's: Spearman %.4f < 0.99", rho)
	}
}

func spearman(a, b []float64) float64 {
	rank := func(v []float64) []float64 {
		idx := make([]int, len(v))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(i, j int) bool { return v[idx[i]] < v[idx[j]] })
		r := make([]float64, len(v))
		for k, i := range idx {
			r[i] = float64(k)
		}
		return r
	}
	ra, rb := rank(a), rank(b)
	n := float64(len(a))
	var d2 float64
	for i := range ra {
		d := ra[i] - rb[i]
		d2 += d * d
	}
	return 1 - 6*d2/(n*(n*n-1))
}

func TestAcceptanceBottle(t *testing.T) {
	data := testenv.SharedData(t)
	if testing.Short() {
		t.Skip("fits 209 real images; skipped with -short")
	}
	split, err := datasets.LoadMVTec(filepath.Join(data, "mvtec_ad"), "bottle")
	if err != nil {
		t.Fatal(err)
	}
	scored, got := fitAndScore(t, data, split, datasets.PaperPreprocess())
	ref := readTorchReference(t, "bottle-resnet18-d100.json")
	t.Logf("bottle image AUROC: Go %.4f, PyTorch %.4f", *got["image_auroc"], *ref.Metrics.ImageAUROC)
	if *got["image_auroc"] < 0.99 {
		t.Errorf("bottle image AUROC %.4f < 0.99", *got["image_auroc"])
	}
	if d := math.Abs(*got["image_auroc"] - *ref.Metrics.ImageAUROC); d > 0.015 {
		t.Errorf("bottle image AUROC differs from PyTorch's by %.4f > 0.015", d)
	}
	if got["pixel_auroc"] != nil || got["pro"] != nil {
		t.Errorf("bottle has no masks here, yet pixel metrics were reported: %v %v", got["pixel_auroc"], got["pro"])
	}
	compareScores(t, scored, ref, filepath.Join(data, "mvtec_ad"))
}

func TestAcceptanceMagneticTile(t *testing.T) {
	data := testenv.SharedData(t)
	if testing.Short() {
		t.Skip("fits 762 real images; skipped with -short")
	}
	split, err := datasets.LoadMagneticTile(filepath.Join(data, "magnetic_tile"))
	if err != nil {
		t.Fatal(err)
	}
	scored, got := fitAndScore(t, data, split, datasets.MagneticTilePreprocess())
	ref := readTorchReference(t, "magnetic_tile-resnet18-d100.json")
	for _, m := range []struct {
		name  string
		torch *float64
	}{{"image_auroc", ref.Metrics.ImageAUROC}, {"pixel_auroc", ref.Metrics.PixelAUROC}, {"pro", ref.Metrics.PRO}} {
		g := got[m.name]
		if g == nil || m.torch == nil {
			t.Fatalf("%s missing (Go %v, PyTorch %v)", m.name, g, m.torch)
		}
		t.Logf("magnetic tile %s: Go %.4f, PyTorch %.4f, difference %+.4f", m.name, *g, *m.torch, *g-*m.torch)
		if d := math.Abs(*g - *m.torch); d > 0.015 {
			t.Errorf("magnetic tile %s differs from PyTorch's by %.4f > 0.015", m.name, d)
		}
	}
	compareScores(t, scored, ref, filepath.Join(data, "magnetic_tile"))
}
