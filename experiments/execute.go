package experiments

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/eval"
	"github.com/padim-go/padim/internal/atomicfile"
	"github.com/padim-go/padim/internal/statedict"
	"github.com/padim-go/padim/internal/tensor"
	"github.com/padim-go/padim/padim"
	"github.com/padim-go/padim/spade"
)

// ResultsVersion is mixed into every cache key. Bump it when a change to the
// computation makes earlier cached results stale.
const ResultsVersion = 2

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
	case "mvtec", "rd-mvtec":
		root := filepath.Join(e.DataRoot, mvtecDir)
		if !datasets.DirExists(filepath.Join(root, spec.Category)) {
			return nil, pre, missing("MVTec AD category "+spec.Category, root, "padim fetch mvtec")
		}
		split, err = datasets.LoadMVTec(root, spec.Category)
		pre = datasets.PaperPreprocess()
		if spec.Kind == "rd-mvtec" {
			pre = datasets.RdMVTecPreprocess(spec.Seed)
		}
	case "magnetic-tile":
		root := filepath.Join(e.DataRoot, magneticDir)
		if !datasets.DirExists(root) {
			return nil, pre, missing("Magnetic Tile Defects", e.DataRoot, "see README: Data (Magnetic Tile Defects)")
		}
		split, err = datasets.LoadMagneticTile(root)
		pre = datasets.MagneticTilePreprocess()
	case "stc":
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
	case "synthetic":
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

// WeightsFile finds the ImageNet weights of a backbone: the file name the
// registry downloads to, or any file named BACKBONE-*.pth / .safetensors.
func (e *Env) WeightsFile(backbone string) (string, error) {
	spec, err := backbones.Lookup(backbone)
	if err != nil {
		return "", err
	}
	for _, dir := range e.WeightsDirs {
		if spec.Weights.File != "" {
			if p := filepath.Join(dir, spec.Weights.File); fileExists(p) {
				return p, nil
			}
		}
		for _, ext := range []string{".pth", ".safetensors"} {
			m, _ := filepath.Glob(filepath.Join(dir, backbone+"-*"+ext))
			sort.Strings(m)
			if len(m) > 0 {
				return m[0], nil
			}
		}
	}
	return "", &NotAvailable{
		Reason: fmt.Sprintf("ImageNet weights for %s not found in %s", backbone, strings.Join(e.WeightsDirs, ", ")),
		Fetch:  "padim fetch weights " + backbone,
	}
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func (e *Env) weightsSHA(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	k := fmt.Sprintf("%s|%d|%d", path, st.Size(), st.ModTime().UnixNano())
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sha == nil {
		e.sha = map[string]string{}
	}
	if s, ok := e.sha[k]; ok {
		return s, nil
	}
	s, err := statedict.SHA256File(path)
	if err != nil {
		return "", err
	}
	e.sha[k] = s
	return s, nil
}

// Inputs implements Executor: the dataset's file list with sizes, and the weights' sha256.
func (e *Env) Inputs(run Run) (string, error) {
	split, _, err := e.Dataset(run.Dataset)
	if err != nil {
		return "", err
	}
	sha := fmt.Sprintf("random:%d", run.Model.RandomWeights)
	if run.Model.RandomWeights == 0 {
		wpath, err := e.WeightsFile(run.Model.Backbone)
		if err != nil {
			return "", err
		}
		if sha, err = e.weightsSHA(wpath); err != nil {
			return "", err
		}
	}
	h := sha256.New()
	fmt.Fprintf(h, "v%d\nweights %s\n", ResultsVersion, sha)
	for _, group := range [][]datasets.Sample{split.Train, split.Test} {
		for _, s := range group {
			for _, p := range []string{s.Path, s.MaskPath} {
				if p == "" {
					continue
				}
				st, err := os.Stat(p)
				if err != nil {
					return "", err
				}
				fmt.Fprintf(h, "%s %d %d\n", filepath.Base(filepath.Dir(p))+"/"+filepath.Base(p), st.Size(), s.MaskIndex)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
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
	if run.Model.Method == "spade" && !slices.Contains(layers, run.Model.PoolLayer) {
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
	case "padim":
		scorer, res.ModelBytes, err = e.fitPaDiM(ctx, run.Model, bb, sha, split, pre, load)
	case "spade":
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

// openBackbone loads the run's backbone with ImageNet weights, or with
// deterministic untrained weights for timing-only runs.
func (e *Env) openBackbone(ms ModelSpec, layers []string) (backbones.Backbone, string, error) {
	if ms.RandomWeights != 0 {
		bb, err := backbones.NewRandom(ms.Backbone, ms.RandomWeights)
		return bb, fmt.Sprintf("random:%d", ms.RandomWeights), err
	}
	wpath, err := e.WeightsFile(ms.Backbone)
	if err != nil {
		return nil, "", err
	}
	bb, sha, err := backbones.Open(ms.Backbone, wpath, layers)
	var missing *backbones.MissingTensorError
	if errors.As(err, &missing) {
		return nil, "", &NotAvailable{Reason: fmt.Sprintf("%v (the file lacks a layer this run needs)", err),
			Fetch: "padim fetch weights " + ms.Backbone}
	}
	return bb, sha, err
}

// Policy records pre in the form a model file stores.
func Policy(pre datasets.Preprocess) padim.PreprocessPolicy {
	p := padim.PreprocessPolicy{Mode: "crop", Resize: pre.Resize, Crop: pre.Crop, Filter: pre.Filter.String()}
	if pre.Resize == 0 {
		p = padim.PreprocessPolicy{Mode: "squash", Height: pre.Height, Width: pre.Width, Filter: pre.Filter.String()}
	}
	return p
}

func (e *Env) fitPaDiM(ctx context.Context, ms ModelSpec, bb backbones.Backbone, sha string, split *datasets.Split, pre datasets.Preprocess, load Loader) (Scorer, int64, error) {
	groups := [][]string{ms.Layers}
	if ms.Combine == "sum" {
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
		case "random", "":
			cfg.Selection = padim.SelectRandom
		case "pca":
			cfg.Selection = padim.SelectPCA
		case "none":
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
	batch := e.BatchSize
	if batch <= 0 {
		batch = 8
	}
	var bytes int64
	for start := 0; start < len(split.Train); start += batch {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		end := min(start+batch, len(split.Train))
		imgs, err := datasets.LoadImages(datasets.Paths(split.Train[start:end]), 0, load.Image)
		if err != nil {
			return nil, 0, err
		}
		x, err := tensor.Stack(imgs)
		if err != nil {
			return nil, 0, err
		}
		f, err := bb.Forward(x, layers)
		if err != nil {
			return nil, 0, err
		}
		for _, l := range ms.Layers {
			t := f[l]
			bytes += int64(t.N*t.H*t.W*(t.C+1)) * 4
		}
		bytes += int64(f[ms.PoolLayer].N*(f[ms.PoolLayer].C+1)) * 4
		if err := m.AddTrain(f); err != nil {
			return nil, 0, err
		}
	}
	return SPADEScorer{Model: m, Backbone: bb, Layers: layers}, bytes, nil
}

// Curves is the plotting data a run leaves in curves.json.
type Curves struct {
	ROCFPR, ROCTPR           []float64 `json:",omitempty"` // image level
	PixelROCFPR, PixelROCTPR []float64 `json:",omitempty"`
	PROFPR, PRO              []float64 `json:",omitempty"`
}

// writeArtifacts stores the run's curves and a heatmap grid beside its result.
func writeArtifacts(dir string, s *Scored, m eval.Result, pre datasets.Preprocess, nImages int) ([]string, error) {
	var c Curves
	if fpr, tpr, _, err := eval.ROC(s.Scores, s.Labels); err == nil {
		c.ROCFPR, c.ROCTPR = thin(fpr, 400), thin(tpr, 400)
	}
	if s.Masks != nil {
		fpr, tpr, err := eval.PixelROC(s.Maps, s.Masks, 400)
		if err != nil {
			return nil, fmt.Errorf("pixel ROC: %w", err)
		}
		c.PixelROCFPR, c.PixelROCTPR = fpr, tpr
	}
	if m.PROCurve != nil {
		c.PROFPR, c.PRO = thinCurve(m.PROCurve.FPR, m.PROCurve.PRO, PROPlotLimit, 400)
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	arts := []string{"curves.json"}
	if err := atomicfile.WriteBytes(filepath.Join(dir, "curves.json"), b); err != nil {
		return nil, err
	}
	if nImages <= 0 {
		nImages = 4
	}
	panels, lo, hi, err := heatmapPanels(s, pre, nImages)
	if err != nil {
		return nil, err
	}
	if len(panels) > 0 {
		if err := WriteHeatmapGrid(filepath.Join(dir, "heatmaps.png"), panels, lo, hi); err != nil {
			return nil, err
		}
		arts = append(arts, "heatmaps.png")
	}
	return arts, nil
}

// PROPlotLimit is the FPR range the PRO curves are kept and plotted over.
const PROPlotLimit = 0.3

// thin keeps about n evenly spaced points of a curve, always the ends.
func thin(v []float64, n int) []float64 {
	if len(v) <= n {
		return v
	}
	out := make([]float64, 0, n+1)
	for i := 0; i < n; i++ {
		out = append(out, v[i*len(v)/n])
	}
	return append(out, v[len(v)-1])
}

func thinCurve(x, y []float64, xMax float64, n int) ([]float64, []float64) {
	k := len(x)
	for i, v := range x {
		if v > xMax {
			k = min(i+1, len(x))
			break
		}
	}
	return thin(x[:k], n), thin(y[:k], n)
}

// heatmapPanels picks the first anomalous images (one per defect type first)
// and one normal image, in test order, and draws them on a common scale
// spanning all test maps.
func heatmapPanels(s *Scored, pre datasets.Preprocess, n int) ([]HeatmapPanel, float32, float32, error) {
	lo, hi := float32(0), float32(0)
	for i, m := range s.Maps {
		for j, v := range m {
			if (i == 0 && j == 0) || v < lo {
				lo = v
			}
			if (i == 0 && j == 0) || v > hi {
				hi = v
			}
		}
	}
	var pick []int
	seenDefect := map[string]bool{}
	for i, smp := range s.Samples {
		if smp.Label != 0 && !seenDefect[smp.Defect] && len(pick) < n-1 {
			seenDefect[smp.Defect] = true
			pick = append(pick, i)
		}
	}
	for i, smp := range s.Samples {
		if smp.Label != 0 && len(pick) < n-1 && !slices.Contains(pick, i) {
			pick = append(pick, i)
		}
	}
	for i, smp := range s.Samples {
		if smp.Label == 0 {
			pick = append(pick, i)
			break
		}
	}
	var panels []HeatmapPanel
	for _, i := range pick {
		smp := s.Samples[i]
		rgb, err := pre.RGB(smp.Path)
		if err != nil {
			return nil, 0, 0, err
		}
		p := HeatmapPanel{RGB: rgb.Pix, Map: s.Maps[i], H: s.H, W: s.W, Label: smp.Defect}
		if s.Masks != nil {
			p.Mask = s.Masks[i]
			if p.Mask == nil {
				p.Mask = make([]bool, s.H*s.W)
			}
		}
		if rgb.W != s.W || rgb.H != s.H {
			return nil, 0, 0, fmt.Errorf("%s: drawn image is %dx%d, map is %dx%d", smp.Path, rgb.W, rgb.H, s.W, s.H)
		}
		panels = append(panels, p)
	}
	return panels, lo, hi, nil
}

// PreprocessFromPolicy rebuilds the preprocessing a model was fitted with.
func PreprocessFromPolicy(p padim.PreprocessPolicy) (datasets.Preprocess, error) {
	var pre datasets.Preprocess
	switch p.Mode {
	case "crop":
		pre = datasets.Preprocess{Resize: p.Resize, Crop: p.Crop}
	case "squash":
		pre = datasets.Preprocess{Height: p.Height, Width: p.Width}
	default:
		return pre, fmt.Errorf("unknown preprocessing mode %q", p.Mode)
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
