package experiments

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/eval"
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

	mu        sync.Mutex
	sha       map[string]string // weights path|size|mtime -> sha256
	validated map[string]bool   // splitFilesKey of the splits that passed Validate
}

func (e *Env) logf(format string, args ...any) {
	if e.Log != nil {
		fmt.Fprintf(e.Log, format+"\n", args...)
	}
}

// Execute implements Executor: it fits the run's model on the training
// images, scores the test images and writes the metrics and artifacts.
func (e *Env) Execute(ctx context.Context, run Run, dir string) (*Result, error) {
	split, pre, err := e.Dataset(run.Dataset)
	if err != nil {
		return nil, err
	}
	// Header-level check of every image and mask the run reads, before the
	// fit: a bad test file must not cost a fitted model. Runs on the same
	// files check them once.
	if err := e.validateSplit(split); err != nil {
		return nil, err
	}
	bb, sha, load, err := e.runInputs(run, pre)
	if err != nil {
		return nil, err
	}
	res := newResult(run, split, sha)
	scorer, err := e.fitModel(ctx, run, bb, sha, split, pre, load, res)
	if err != nil {
		return nil, err
	}
	scored, err := scoreTestSet(ctx, scorer, split, load, res)
	if err != nil {
		return nil, err
	}
	m, err := evaluateRun(scored, res)
	if err != nil {
		return nil, err
	}
	if res.Artifacts, err = writeArtifacts(dir, scored, m, pre, e.HeatmapImages); err != nil {
		return nil, err
	}
	return res, nil
}

// runInputs opens the run's backbone with the layers it reads and, for
// untimed runs, puts the feature and image caches in front of the backbone
// and the loader (timing runs measure the work itself, not the caches).
func (e *Env) runInputs(run Run, pre datasets.Preprocess) (backbones.Backbone, string, Loader, error) {
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
		return nil, "", nil, err
	}
	load := Loader(pre)
	if !run.Timing {
		bb = e.Features.Wrap(bb, run.Model.Backbone+"|"+sha, prefetch...)
		load = e.Images.Loader(pre)
	}
	return bb, sha, load, nil
}

// newResult starts a run's result with the data set's counts.
func newResult(run Run, split *datasets.Split, sha string) *Result {
	res := &Result{NTrain: len(split.Train), NTest: len(split.Test), WeightsSHA256: sha, Seconds: map[string]float64{}}
	for _, t := range split.Test {
		if t.Label != 0 {
			res.NTestAnomalous++
		}
	}
	if run.Timing {
		res.Machine = newMachineInfo()
	}
	return res
}

// fitModel fits the run's PaDiM or SPADE model, recording its size, the
// fit time and notes in res.
func (e *Env) fitModel(ctx context.Context, run Run, bb backbones.Backbone, sha string, split *datasets.Split, pre datasets.Preprocess, load Loader, res *Result) (Scorer, error) {
	t0 := time.Now()
	var scorer Scorer
	var err error
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
	return scorer, nil
}

// scoreTestSet scores every test image, recording the times in res.
func scoreTestSet(ctx context.Context, scorer Scorer, split *datasets.Split, load Loader, res *Result) (*Scored, error) {
	scored, err := ScoreSplit(ctx, scorer, split, load, ScoreGroup, nil)
	if err != nil {
		return nil, err
	}
	res.Seconds["score"] = scored.InferenceSeconds
	res.Seconds["decode"] = scored.DecodeSeconds
	res.InferenceSeconds = scored.InferenceSeconds / float64(max(1, len(split.Test)))
	return scored, nil
}

// evaluateRun computes the run's metrics, overall and per defect type,
// into res.
func evaluateRun(scored *Scored, res *Result) (eval.Result, error) {
	t1 := time.Now()
	m, err := scored.Evaluate()
	if err != nil {
		return m, err
	}
	res.ImageAUROC, res.PixelAUROC, res.PRO = metricPtr(m.ImageAUROC), metricPtr(m.PixelAUROC), metricPtr(m.PRO)
	if res.PerDefect, err = scored.EvaluatePerDefect(); err != nil {
		return m, err
	}
	res.Seconds["metrics"] = time.Since(t1).Seconds()
	if res.Machine != nil {
		res.Machine.LoadEnd = loadAverage()
	}
	return m, nil
}
