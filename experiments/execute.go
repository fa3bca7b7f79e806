package experiments

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/padim-go/padim/backbones"
)

// Env is the Executor that runs declared experiments on this machine's data.
type Env struct {
	// DataRoot holds mvtec_ad/, magnetic_tile/, stc/ and weights/, the
	// layout of PADIM_DATA.
	DataRoot string
	// SyntheticRoot holds the generated synthetic categories.
	SyntheticRoot string
	// WeightsDirs are searched, in order, for backbone weight files.
	WeightsDirs []string
	BatchSize   int
	Log         io.Writer
	// HeatmapImages is how many test images the heatmap grid of a run shows.
	HeatmapImages int
	// Features, when set, memoises backbone outputs across runs.
	Features *FeatureCache
	// Images, when set, memoises preprocessed images across runs.
	Images *ImageCache

	mu  sync.Mutex
	sha map[string]string // weights path|size|mtime -> sha256
}

func (e *Env) logf(format string, args ...any) {
	if e.Log != nil {
		fmt.Fprintf(e.Log, format+"\n", args...)
	}
}

// Execute implements Executor.
func (e *Env) Execute(ctx context.Context, run Run, dir string) (*Result, error) {
	split, pre, err := e.Dataset(run.Dataset)
	if err != nil {
		return nil, err
	}
	// Header-level check of every image and mask the run reads, before the
	// fit: a bad test file must not cost a fitted model.
	if err := split.Validate(); err != nil {
		return nil, err
	}
	layers := append([]string(nil), run.Model.Layers...)
	if run.Model.Method == MethodSPADE && !slices.Contains(layers, run.Model.PoolLayer) {
		layers = append(layers, run.Model.PoolLayer)
	}
	// Untimed runs share features through the cache, which computes the
	// backbone's PaDiM layers on every miss: load the weights they need too.
	var prefetch []string
	if spec, err := backbones.Lookup(run.Model.Backbone); err == nil && !run.Timing && e.Features != nil {
		prefetch = spec.PaDiMLayers
	}
	open := append([]string(nil), layers...)
	for _, l := range prefetch {
		if !slices.Contains(open, l) {
			open = append(open, l)
		}
	}
	bb, sha, err := e.openBackbone(run.Model, open)
	if err != nil {
		return nil, err
	}
	load := Loader(pre)
	if !run.Timing { // timing runs measure the work itself, not the caches
		bb = e.Features.Wrap(bb, run.Model.Backbone+"|"+sha, prefetch...)
		load = e.Images.Loader(pre)
	}
	res := &Result{NTrain: len(split.Train), NTest: len(split.Test), WeightsSHA256: sha, Seconds: map[string]float64{}}
	for _, t := range split.Test {
		if t.Label != 0 {
			res.NTestAnomalous++
		}
	}
	if run.Timing {
		res.Machine = newMachineInfo()
	}
	t0 := time.Now()
	var scorer Scorer
	switch run.Model.Method {
	case MethodPaDiM:
		scorer, res.ModelBytes, err = e.fitPaDiM(ctx, run.Model, bb, sha, split, pre, load)
	case MethodSPADE:
		scorer, res.ModelBytes, err = e.fitSPADE(ctx, run.Model, bb, split, pre, load)
		res.Notes = append(res.Notes, fmt.Sprintf("SPADE images pooled after %s", run.Model.PoolLayer))
		if run.Model.K > len(split.Train) {
			res.Notes = append(res.Notes, fmt.Sprintf("K = %d capped at the %d training images", run.Model.K, len(split.Train)))
		}
	default:
		err = fmt.Errorf("unknown method %q", run.Model.Method)
	}
	if err != nil {
		return nil, err
	}
	res.Seconds["fit"] = time.Since(t0).Seconds()
	e.logf("  fitted %s on %d images in %.1fs; scoring %d test images", run.Row, len(split.Train), res.Seconds["fit"], len(split.Test))
	scored, err := ScoreSplit(ctx, scorer, split, load, ScoreGroup, nil)
	if err != nil {
		return nil, err
	}
	res.Seconds["score"] = scored.InferenceSeconds
	res.Seconds["decode"] = scored.DecodeSeconds
	res.InferenceSeconds = scored.InferenceSeconds / float64(max(1, len(split.Test)))
	t1 := time.Now()
	m, err := scored.Evaluate()
	if err != nil {
		return nil, err
	}
	res.ImageAUROC, res.PixelAUROC, res.PRO = metricPtr(m.ImageAUROC), metricPtr(m.PixelAUROC), metricPtr(m.PRO)
	if res.PerDefect, err = scored.EvaluatePerDefect(); err != nil {
		return nil, err
	}
	res.Seconds["metrics"] = time.Since(t1).Seconds()
	if res.Machine != nil {
		res.Machine.LoadEnd = loadAverage()
	}
	arts, err := writeArtifacts(dir, scored, m, pre, e.HeatmapImages)
	if err != nil {
		return nil, err
	}
	res.Artifacts = arts
	return res, nil
}
