package experiments

import (
	"context"
	"fmt"
	"slices"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/padim"
	"github.com/padim-go/padim/spade"
)

// Policy records pre in the form a model file stores.
func Policy(pre datasets.Preprocess) padim.PreprocessPolicy {
	p := padim.PreprocessPolicy{Mode: padim.PreprocessCrop, Resize: pre.Resize, Crop: pre.Crop, Filter: pre.Filter.String()}
	if pre.Resize == 0 {
		p = padim.PreprocessPolicy{Mode: padim.PreprocessSquash, Height: pre.Height, Width: pre.Width, Filter: pre.Filter.String()}
	}
	return p
}

func (e *Env) fitPaDiM(ctx context.Context, ms ModelSpec, bb backbones.Backbone, sha string, split *datasets.Split, pre datasets.Preprocess, load Loader) (Scorer, int64, error) {
	groups := [][]string{ms.Layers}
	if ms.Combine == CombineSum {
		groups = nil
		for _, l := range ms.Layers {
			groups = append(groups, []string{l})
		}
	}
	var parts SumScorer
	var bytes int64
	for _, layers := range groups {
		cfg := padim.FitConfig{Layers: layers, D: ms.Dims, Seed: uint64(ms.Seed), BatchSize: e.BatchSize, WeightsSHA256: sha, Preprocess: Policy(pre)}
		switch ms.Reduce {
		case ReduceRandom, "":
			cfg.Selection = padim.SelectRandom
		case ReducePCA:
			cfg.Selection = padim.SelectPCA
		case ReduceNone:
			total, err := channelsOf(bb, layers)
			if err != nil {
				return nil, 0, err
			}
			cfg.Selection, cfg.Indices = padim.SelectIndices, make([]int, total)
			for i := range cfg.Indices {
				cfg.Indices[i] = i
			}
		default:
			return nil, 0, fmt.Errorf("unknown reduction %q", ms.Reduce)
		}
		m, err := padim.Fit(ctx, cfg, bb, split.Train, load, nil)
		if err != nil {
			return nil, 0, err
		}
		bytes += int64(len(m.Mean)+len(m.Cholesky)+len(m.PCA)) * 4
		parts = append(parts, PaDiMScorer{Model: m, Backbone: bb})
	}
	if len(parts) == 1 {
		return parts[0], bytes, nil
	}
	return parts, bytes, nil
}

func channelsOf(bb backbones.Backbone, layers []string) (int, error) {
	total := 0
	for _, l := range layers {
		found := false
		for _, info := range bb.Layers() {
			if info.Name == l {
				total += info.Channels
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("backbone %s has no layer %q", bb.Name(), l)
		}
	}
	return total, nil
}

func (e *Env) fitSPADE(ctx context.Context, ms ModelSpec, bb backbones.Backbone, split *datasets.Split, pre datasets.Preprocess, load Loader) (Scorer, int64, error) {
	h, w := pre.Size()
	cfg := spade.PaperConfig(ms.PoolLayer, h, w)
	if ms.K > 0 {
		cfg.K = ms.K
	}
	if cfg.K > len(split.Train) {
		// SPADE's K = 50 needs 50 training images; small sets use all of them.
		cfg.K = len(split.Train)
	}
	cfg.PixelLayers = ms.Layers
	m, err := spade.New(cfg)
	if err != nil {
		return nil, 0, err
	}
	layers := append(append([]string(nil), ms.Layers...), ms.PoolLayer)
	if slices.Contains(ms.Layers, ms.PoolLayer) {
		layers = ms.Layers
	}
	var bytes int64
	reader := datasets.BatchReader{Size: e.BatchSize, Load: load.Image}
	err = reader.Each(ctx, datasets.Paths(split.Train), func(b datasets.ImageBatch) error {
		f, err := bb.Forward(b.X, layers)
		if err != nil {
			return err
		}
		for _, l := range ms.Layers {
			t := f[l]
			bytes += int64(t.N*t.H*t.W*(t.C+1)) * 4
		}
		bytes += int64(f[ms.PoolLayer].N*(f[ms.PoolLayer].C+1)) * 4
		return m.AddTrain(f)
	})
	if err != nil {
		return nil, 0, err
	}
	return SPADEScorer{Model: m, Backbone: bb, Layers: layers}, bytes, nil
}

// PreprocessFromPolicy rebuilds the preprocessing a model was fitted with.
func PreprocessFromPolicy(p padim.PreprocessPolicy) (datasets.Preprocess, error) {
	var pre datasets.Preprocess
	switch p.Mode {
	case padim.PreprocessCrop:
		pre = datasets.Preprocess{Resize: p.Resize, Crop: p.Crop}
	case padim.PreprocessSquash:
		pre = datasets.Preprocess{Height: p.Height, Width: p.Width}
	default:
		err := p.Mode.Validate()
		if err == nil { // the empty mode: a model fitted without a policy
			err = fmt.Errorf("no preprocessing recorded (empty preprocess mode)")
		}
		return pre, err
	}
	if p.Filter != "" {
		f, err := datasets.ParseFilter(p.Filter)
		if err != nil {
			return pre, err
		}
		pre.Filter = f
	}
	return pre, pre.Validate()
}
