package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/padim-go/padim/datasets"
)

// TestFitTestPredict drives the three user commands end to end on a
// generated MVTec-style category with the real ResNet-18 weights, once with
// masks and once with the ground truth removed, as a user would.
func TestFitTestPredict(t *testing.T) {
	data := testDataDir(t)
	weights := filepath.Join(data, "weights", "resnet18-imagenet-layer1to3.pth")
	root := t.TempDir()
	if err := datasets.GenerateSynthetic(root, datasets.SyntheticOptions{Categories: []string{"disc"}, Size: 128, Train: 10, TestGood: 3, TestPerDefect: 2, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	model := filepath.Join(t.TempDir(), "disc.padim")
	var out bytes.Buffer
	fo := fitOptions{dataOptions: dataOptions{data: root, format: "mvtec", category: "disc"}, backbone: "resnet18", weights: weights, dims: 30, seed: 7, batch: 4, out: model}
	if err := runFit(ctx, &out, fo); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "d=30") {
		t.Errorf("fit output does not state d: %s", out.String())
	}

	report := func(name string) testReport {
		t.Helper()
		var r testReport
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	withMasks := filepath.Join(t.TempDir(), "with.json")
	out.Reset()
	if err := runTest(ctx, &out, testOptions{dataOptions: dataOptions{data: root, format: "mvtec", category: "disc"}, model: model, weights: weights, jsonOut: withMasks, batch: 4}); err != nil {
		t.Fatal(err)
	}
	r := report(withMasks)
	if r.NTest != 9 || r.NTestAnomalous != 6 || r.NTrain != 10 || !r.HasMasks || len(r.Images) != 9 {
		t.Fatalf("counts: %+v", r)
	}
	for name, m := range map[string]interface{ Get() (float64, bool) }{"image": r.ImageAUROC, "pixel": r.PixelAUROC, "pro": r.PRO} {
		if v, ok := m.Get(); !ok || v < 0.8 || v > 1 {
			t.Errorf("%s metric %v (valid %v): the synthetic defects should be found", name, v, ok)
		}
	}

	// The same category without ground truth: pixel metrics are null, not 0 or 1.
	if err := os.RemoveAll(filepath.Join(root, "disc", "ground_truth")); err != nil {
		t.Fatal(err)
	}
	noMasks := filepath.Join(t.TempDir(), "without.json")
	out.Reset()
	if err := runTest(ctx, &out, testOptions{dataOptions: dataOptions{data: root, format: "mvtec", category: "disc"}, model: model, weights: weights, jsonOut: noMasks, batch: 4}); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(noMasks)
	if !bytes.Contains(raw, []byte(`"pixel_auroc": null`)) || !bytes.Contains(raw, []byte(`"pro": null`)) {
		t.Errorf("pixel metrics without masks are not null:\n%s", raw)
	}
	if !strings.Contains(out.String(), "n/a") || !strings.Contains(out.String(), "unavailable, not zero") {
		t.Errorf("test output does not say pixel metrics are unavailable:\n%s", out.String())
	}
	if r2 := report(noMasks); r2.ImageAUROC != r.ImageAUROC {
		t.Errorf("image AUROC changed when masks were removed: %v vs %v", r2.ImageAUROC, r.ImageAUROC)
	}

	// predict: one score per image (equal to test's), a heatmap per image, scores.csv.
	imgs := []string{r.Images[0].Path, r.Images[len(r.Images)-1].Path}
	pdir := t.TempDir()
	out.Reset()
	if err := runPredict(ctx, &out, predictOptions{model: model, weights: weights, out: pdir, threshold: 1}, imgs); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(pdir, "scores.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) != 3 || rows[0][1] != "score" || rows[1][3] != "anomalous" {
		t.Fatalf("scores.csv = %v, %v", rows, err)
	}
	for i, row := range rows[1:] {
		want := r.Images[[]int{0, len(r.Images) - 1}[i]].Score
		got, err := strconv.ParseFloat(row[1], 64)
		if row[0] != imgs[i] || err != nil || math.Abs(got-want) > 1e-5*math.Abs(want) {
			t.Errorf("predict row %v: want score %.6f of %s as padim test gave", row, want, imgs[i])
		}
		if st, err := os.Stat(row[2]); err != nil || st.Size() == 0 {
			t.Errorf("heatmap %s: %v", row[2], err)
		}
	}
}
