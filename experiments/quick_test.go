package experiments

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/padim-go/padim/internal/testenv"

	"github.com/padim-go/padim/datasets"
)

// TestQuickVariantOfEveryTable runs `reproduce --quick` for every declared
// table on a data root made of the shared real data, the committed
// ShanghaiTech Campus fixture (official layout) and generated synthetic
// categories, and checks what ran, what could not, and what was rendered.
func TestQuickVariantOfEveryTable(t *testing.T) {
	shared := testenv.SharedData(t)
	if testing.Short() {
		t.Skip("runs every table on real data (about 12 minutes); skipped with -short, run by make test's full pass")
	}
	root := testenv.RepoRoot(t)
	data := t.TempDir()
	for name, target := range map[string]string{
		"mvtec_ad":      filepath.Join(shared, "mvtec_ad"),
		"magnetic_tile": filepath.Join(shared, "magnetic_tile"),
		"weights":       filepath.Join(shared, "weights"),
		"stc":           filepath.Join(root, "testdata", "datasets", "stc"),
	} {
		if err := os.Symlink(target, filepath.Join(data, name)); err != nil {
			t.Fatal(err)
		}
	}
	syn := t.TempDir()
	cats := []string{"stripes", "disc"}
	if err := datasets.GenerateSynthetic(syn, datasets.SyntheticOptions{Categories: cats, Size: 96, Train: 12, TestGood: 4, TestPerDefect: 2, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	env := &Env{DataRoot: data, SyntheticRoot: syn, WeightsDirs: []string{filepath.Join(data, "weights")}, BatchSize: 6}
	cache, out := t.TempDir(), t.TempDir()
	runner := &Runner{Exec: env, CacheDir: cache}
	paper, err := PaperValues()
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range Tables(Options{Quick: true, SyntheticCategories: cats}) {
		results, err := runner.RunTable(context.Background(), tb)
		if err != nil {
			t.Fatalf("%s: %v", tb.Name, err)
		}
		ran := 0
		for _, r := range results {
			needsMissingWeights := r.Run.Model.Backbone != "resnet18" && r.Run.Model.RandomWeights == 0
			switch {
			case needsMissingWeights && r.Status != "not-run":
				t.Errorf("%s: %s ran without its weights", tb.Name, r.Run.ID())
			case needsMissingWeights && !strings.Contains(r.Fetch, "padim fetch weights "+r.Run.Model.Backbone):
				t.Errorf("%s: %s: fetch hint %q", tb.Name, r.Run.ID(), r.Fetch)
			case !needsMissingWeights && r.Status != "ok":
				t.Errorf("%s: %s did not run: %s", tb.Name, r.Run.ID(), r.Reason)
			case r.Status == "ok":
				ran++
				for _, m := range tb.Metrics {
					v := r.Metric(m)
					if m == "image_auroc" && v == nil {
						t.Errorf("%s: %s: no image AUROC", tb.Name, r.Run.ID())
					}
					if v != nil && (m == "image_auroc" || m == "pixel_auroc" || m == "pro") && (*v < 0 || *v > 1) {
						t.Errorf("%s: %s: %s = %v outside [0, 1]", tb.Name, r.Run.ID(), m, *v)
					}
				}
				// MVTec bottle has its ground-truth masks in the shared data: a
				// table that asks for pixel metrics must get them.
				if r.Run.Dataset.Category == "bottle" && (r.Run.Dataset.Kind == "mvtec" || r.Run.Dataset.Kind == "rd-mvtec") {
					for _, m := range tb.Metrics {
						if (m == "pixel_auroc" || m == "pro") && r.Metric(m) == nil {
							t.Errorf("%s: %s: bottle has masks, yet %s is missing", tb.Name, r.Run.ID(), m)
						}
					}
				}
			}
		}
		if ran == 0 {
			t.Errorf("%s: nothing ran", tb.Name)
		}
		if err := WriteTable(out, tb, results, paper); err != nil {
			t.Fatal(err)
		}
		if _, err := WriteFigures(out, cache, tb, results); err != nil {
			t.Fatal(err)
		}
		md, err := os.ReadFile(filepath.Join(out, tb.Name+".md"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(md), "| "+datasetLabel(results[0].Run.Dataset)) {
			t.Errorf("%s.md lacks its first row:\n%s", tb.Name, md)
		}
		t.Logf("%s: %d of %d runs ran", tb.Name, ran, len(results))
	}
}
