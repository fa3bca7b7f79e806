package experiments

import (
	"fmt"
	"path/filepath"

	"github.com/padim-go/padim/datasets"
)

// The directories under Env.DataRoot that hold the real datasets.
const (
	mvtecDir    = "mvtec_ad"
	magneticDir = "magnetic_tile"
	stcDir      = "stc"
)

// RealDatasets lists the real datasets present under dataRoot, by the
// directory names Env.Dataset reads: "mvtec_ad", "magnetic_tile", "stc".
func RealDatasets(dataRoot string) []string {
	var found []string
	for _, d := range []string{mvtecDir, magneticDir, stcDir} {
		if datasets.DirExists(filepath.Join(dataRoot, d)) {
			found = append(found, d)
		}
	}
	return found
}

// Dataset resolves a dataset declaration to its split and preprocessing.
func (e *Env) Dataset(spec DatasetSpec) (*datasets.Split, datasets.Preprocess, error) {
	var (
		split *datasets.Split
		pre   datasets.Preprocess
		err   error
	)
	missing := func(what, dir, fetch string) error {
		return &NotAvailable{Reason: fmt.Sprintf("%s not found under %s", what, dir), Fetch: fetch}
	}
	switch spec.Kind {
	case KindMVTec, KindRdMVTec:
		root := filepath.Join(e.DataRoot, mvtecDir)
		if !datasets.DirExists(filepath.Join(root, spec.Category)) {
			return nil, pre, missing("MVTec AD category "+spec.Category, root, "padim fetch mvtec")
		}
		split, err = datasets.LoadMVTec(root, spec.Category)
		pre = datasets.PaperPreprocess()
		if spec.Kind == KindRdMVTec {
			pre = datasets.RdMVTecPreprocess(spec.Seed)
		}
	case KindMagneticTile:
		root := filepath.Join(e.DataRoot, magneticDir)
		if !datasets.DirExists(root) {
			return nil, pre, missing("Magnetic Tile Defects", e.DataRoot, "see README: Data (Magnetic Tile Defects)")
		}
		split, err = datasets.LoadMagneticTile(root)
		pre = datasets.MagneticTilePreprocess()
	case KindSTC:
		root := filepath.Join(e.DataRoot, stcDir)
		if !datasets.DirExists(root) {
			return nil, pre, missing("ShanghaiTech Campus", e.DataRoot, "see README: Data (ShanghaiTech Campus)")
		}
		if spec.Category != "" {
			if m, _ := filepath.Glob(filepath.Join(root, "training", "frames", spec.Category+"_*")); len(m) == 0 {
				return nil, pre, missing("ShanghaiTech Campus scene "+spec.Category, filepath.Join(root, "training", "frames"), "see README: Data (ShanghaiTech Campus)")
			}
		}
		split, err = datasets.LoadSTCWith(root, datasets.STCOptions{Scene: spec.Category})
		pre = STCPreprocess()
	case KindSynthetic:
		root := e.SyntheticRoot
		if !datasets.DirExists(filepath.Join(root, spec.Category)) {
			return nil, pre, missing("synthetic category "+spec.Category, root, "padim generate synthetic --out "+root)
		}
		split, err = datasets.LoadMVTec(root, spec.Category)
		pre = datasets.PaperPreprocess()
	default:
		return nil, pre, fmt.Errorf("unknown dataset kind %q", spec.Kind)
	}
	if err != nil {
		return nil, pre, err
	}
	if spec.Limit > 0 {
		split = limitSplit(split, spec.Limit)
	}
	return split, pre, nil
}

// limitSplit keeps the first n training images and n test images, half of
// them normal and half anomalous where the split has both, so a quick run
// still has two classes to rank.
func limitSplit(s *datasets.Split, n int) *datasets.Split {
	out := *s
	if len(out.Train) > n {
		out.Train = out.Train[:n]
	}
	var good, bad []datasets.Sample
	for _, t := range s.Test {
		if t.Label == 0 {
			good = append(good, t)
		} else {
			bad = append(bad, t)
		}
	}
	ng := min(len(good), n/2)
	nb := min(len(bad), n-ng)
	if ng+nb < n {
		ng = min(len(good), n-nb)
	}
	// Spread the picks over each class so several defect types appear.
	out.Test = append(spread(good, ng), spread(bad, nb)...)
	return &out
}

func spread(s []datasets.Sample, n int) []datasets.Sample {
	if n >= len(s) {
		return s
	}
	out := make([]datasets.Sample, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, s[i*len(s)/n])
	}
	return out
}
