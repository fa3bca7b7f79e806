package padim

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/internal/blas"
	"github.com/padim-go/padim/internal/imgproc"
	"github.com/padim-go/padim/internal/nn"
	"github.com/padim-go/padim/internal/tensor"
)

// ImageLoader turns an image file into a 1 x 3 x H x W ImageNet-normalised
// tensor. datasets.Preprocess satisfies it. Fit calls Image from several
// goroutines at once (a batch is decoded on all cores, the next one while
// the backbone runs), so it must be safe for concurrent use.
type ImageLoader interface {
	Image(path string) (*tensor.Tensor, error)
}

// PreprocessPolicy records how images were prepared, so a model is scored
// with the same policy it was fitted with. Mode PreprocessCrop uses Resize
// and Crop, PreprocessSquash Height and Width; Filter names the resampling
// filter.
type PreprocessPolicy struct {
	Mode   PreprocessMode `json:"mode"`
	Resize int            `json:"resize,omitempty"`
	Crop   int            `json:"crop,omitempty"`
	Height int            `json:"height,omitempty"`
	Width  int            `json:"width,omitempty"`
	Filter string         `json:"filter,omitempty"`
}

// FitConfig chooses what Fit models.
type FitConfig struct {
	// Layers are the backbone stages joined into the embedding, shallowest
	// first; the first one sets the patch grid. Default layer1..layer3.
	Layers []string
	// D is the number of embedding channels kept (the paper's d:
	// 100 for ResNet-18, 550 for Wide-ResNet-50-2). Ignored for
	// SelectIndices, where it is len(Indices).
	D int
	// Selection is SelectRandom (default), SelectIndices or SelectPCA.
	Selection string
	// Seed drives SelectRandom.
	Seed uint64
	// Indices are the 0-based channels kept by SelectIndices, over the
	// concatenation of Layers (see ReadChannelIndices).
	Indices []int
	// BatchSize is the number of images per backbone call (default 8).
	BatchSize int
	// AccumulateImages is how many images' embeddings are buffered before
	// they are added to the covariance sums (default 64). Larger
	// amortises the pass over the sums (every Add reads and writes all
	// 4.0 GB of them for Wide-ResNet-50-2, d=550); the buffer takes
	// AccumulateImages * positions * D * 4 bytes (0.44 GB at the default
	// for Wide-ResNet-50-2, d=550).
	AccumulateImages int
	// Epsilon is the covariance regulariser (default 0.01, the paper's).
	// Use a negative value to ask for exactly 0.
	Epsilon float64
	// Workers is the number of goroutines sharing grid positions
	// (default GOMAXPROCS). Results do not depend on it.
	Workers int
	// Recorded in the model file, not used for computation. WeightsPath
	// (absolute) lets scoring find the weights again without being told.
	WeightsSHA256 string
	WeightsPath   string
	Preprocess    PreprocessPolicy
}

func (c *FitConfig) defaults() {
	if len(c.Layers) == 0 {
		c.Layers = []string{"layer1", "layer2", "layer3"}
	}
	if c.Selection == "" {
		c.Selection = SelectRandom
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 8
	}
	if c.AccumulateImages <= 0 {
		c.AccumulateImages = 64
	}
	if c.Epsilon == 0 {
		c.Epsilon = 0.01
	} else if c.Epsilon < 0 {
		c.Epsilon = 0
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
}

// Fit learns a PaDiM model from normal training images. Images are loaded
// with pre, run through bb in batches of cfg.BatchSize, embedded and
// streamed into per-position Gaussian statistics; no more than
// cfg.AccumulateImages embeddings are held at once. With SelectPCA the
// images are read twice: once for the channel covariance, once for the
// Gaussians. progress, if not nil, is called after every batch with the
// number of image passes done and the total. ctx is checked between
// batches.
func Fit(ctx context.Context, cfg FitConfig, bb backbones.Backbone, samples []datasets.Sample, pre ImageLoader, progress func(done, total int)) (*Model, error) {
	cfg.defaults()
	if bb == nil || pre == nil {
		return nil, fmt.Errorf("padim: Fit needs a backbone and an image loader")
	}
	if len(samples) < 2 {
		return nil, fmt.Errorf("padim: need at least 2 training images, have %d", len(samples))
	}
	full, err := newEmbedding(bb.Layers(), cfg.Layers, nil)
	if err != nil {
		return nil, err
	}
	total := full.total()
	h := Header{
		Backbone:      bb.Name(),
		WeightsSHA256: cfg.WeightsSHA256,
		WeightsPath:   cfg.WeightsPath,
		Layers:        slices.Clone(cfg.Layers),
		TotalChannels: total,
		Selection:     cfg.Selection,
		Epsilon:       cfg.Epsilon,
		Preprocess:    cfg.Preprocess,
	}
	if h.Created, err = creationInfo(); err != nil {
		return nil, err
	}
	passes := len(samples)
	switch cfg.Selection {
	case SelectRandom:
		h.Seed = cfg.Seed
		if h.Channels, err = RandomChannels(total, cfg.D, cfg.Seed); err != nil {
			return nil, err
		}
	case SelectIndices:
		if err := validateChannels(cfg.Indices, total); err != nil {
			return nil, err
		}
		h.Channels = slices.Clone(cfg.Indices)
	case SelectPCA:
		if cfg.D <= 0 || cfg.D > total {
			return nil, fmt.Errorf("padim: cannot keep %d principal axes of %d channels", cfg.D, total)
		}
		passes *= 2
	default:
		return nil, fmt.Errorf("padim: unknown channel selection %q (want %s, %s or %s)", cfg.Selection, SelectRandom, SelectIndices, SelectPCA)
	}
	done := 0
	tick := func(k int) {
		done += k
		if progress != nil {
			progress(done, passes)
		}
	}

	m := &Model{Header: h}
	emb := full
	if cfg.Selection == SelectPCA {
		cov := newCovarianceAccumulator(total)
		var rows []float32
		err := forBatches(ctx, cfg, bb, samples, pre, full, func(f backbones.Features, n, gh, gw int) error {
			if cap(rows) < gh*gw*total {
				rows = make([]float32, gh*gw*total)
			}
			for b := 0; b < n; b++ {
				gather(f, full.refs, b, gh, gw, rows[:gh*gw*total], total)
				cov.add(rows[:gh*gw*total], gh*gw)
			}
			tick(n)
			return nil
		})
		if err != nil {
			return nil, err
		}
		if m.PCA, err = cov.principalAxes(cfg.D); err != nil {
			return nil, err
		}
		m.Header.D = cfg.D
	} else {
		if emb, err = newEmbedding(bb.Layers(), cfg.Layers, h.Channels); err != nil {
			return nil, err
		}
		m.Header.D = len(h.Channels)
	}
	d := m.Header.D

	// Second (or only) pass: embeddings into the Gaussian accumulators.
	var acc *GaussianAccumulator
	var chunk []float32 // positions x AccumulateImages x d
	var proj *projector
	filled := 0
	flush := func(positions int) error {
		if filled == 0 {
			return nil
		}
		k := filled
		// Compact position-major rows from stride AccumulateImages to k.
		if k < cfg.AccumulateImages {
			for p := 1; p < positions; p++ {
				copy(chunk[p*k*d:(p+1)*k*d], chunk[p*cfg.AccumulateImages*d:p*cfg.AccumulateImages*d+k*d])
			}
		}
		filled = 0
		return acc.AddFloat32(chunk[:positions*k*d], k)
	}
	err = forBatches(ctx, cfg, bb, samples, pre, emb, func(f backbones.Features, n, gh, gw int) error {
		positions := gh * gw
		if acc == nil {
			m.Header.GridH, m.Header.GridW = gh, gw
			if acc, err = NewGaussianAccumulator(positions, d, cfg.Workers); err != nil {
				return err
			}
			chunk = make([]float32, positions*cfg.AccumulateImages*d)
			if m.PCA != nil {
				proj = newProjector(full, m.PCA, d, positions)
			}
		}
		stride := cfg.AccumulateImages * d
		for b := 0; b < n; b++ {
			dst := chunk[filled*d:]
			if proj != nil {
				proj.embed(f, b, gh, gw, func(p int, v []float32) {
					copy(dst[p*stride:p*stride+d], v)
				})
			} else {
				gather(f, emb.refs, b, gh, gw, dst, stride)
			}
			filled++
			if filled == cfg.AccumulateImages {
				if err := flush(positions); err != nil {
					return err
				}
			}
		}
		tick(n)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := flush(m.Header.GridH * m.Header.GridW); err != nil {
		return nil, err
	}
	chunk = nil
	m.Header.NTrain = acc.N()
	// Finalize writes the factors over the sums and fails on any value
	// that is not finite in float32.
	if m.Mean, m.Cholesky, err = acc.Finalize(cfg.Epsilon); err != nil {
		return nil, err
	}
	return m, nil
}

// forBatches loads samples in batches, runs the backbone and hands each
// validated batch of features to use, checking ctx between batches. All
// images must give the same embedding grid.
func forBatches(ctx context.Context, cfg FitConfig, bb backbones.Backbone, samples []datasets.Sample, pre ImageLoader, e *embedding,
	use func(f backbones.Features, n, gh, gw int) error) error {
	gh0, gw0 := -1, -1
	// The next batch is decoded while the backbone runs on this one.
	batches, stop := datasets.Prefetch(ctx, len(samples), cfg.BatchSize, func(start, end int) ([]*tensor.Tensor, error) {
		return datasets.LoadImages(datasets.Paths(samples[start:end]), cfg.Workers, func(path string) (*tensor.Tensor, error) {
			t, err := pre.Image(path)
			if err != nil {
				return nil, fmt.Errorf("padim: %s: %w", path, err)
			}
			return t, nil
		})
	})
	defer stop()
	for {
		lb, ok, err := datasets.Receive(ctx, batches)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		start, end, imgs := lb.Start, lb.End, lb.Value
		if lb.Err != nil {
			return lb.Err
		}
		x, err := tensor.Stack(imgs)
		if err != nil {
			return fmt.Errorf("padim: batch starting at %s: %w", samples[start].Path, err)
		}
		f, err := bb.Forward(x, e.layers)
		if err != nil {
			return fmt.Errorf("padim: backbone %s on batch starting at %s: %w", bb.Name(), samples[start].Path, err)
		}
		batch := samples[start:end]
		if err := checkFiniteFeatures(f, e.layers, bb.Name(), func(n int) string {
			if n < len(batch) {
				return "training image " + batch[n].Path
			}
			return fmt.Sprintf("batch image %d", n)
		}); err != nil {
			return err
		}
		n, gh, gw, err := e.grid(f)
		if err != nil {
			return err
		}
		if n != x.N {
			return fmt.Errorf("padim: backbone returned %d feature maps for %d images", n, x.N)
		}
		if gh0 >= 0 && (gh != gh0 || gw != gw0) {
			return fmt.Errorf("padim: %s gives a %dx%d grid, earlier images %dx%d: images must share one size", samples[start].Path, gh, gw, gh0, gw0)
		}
		gh0, gw0 = gh, gw
		if err := use(f, n, gh, gw); err != nil {
			return err
		}
		// The live heap is dominated by the pointer-free accumulators
		// (3.8 GB for Wide-ResNet-50-2, d=550), and Go's default pacing
		// (GOGC=100) lets garbage grow to the size of the live heap
		// before collecting: the batch's activations (about 0.5 GB for
		// that backbone at batch 8) would pile up to double the peak.
		// Collecting here keeps the peak at live data plus one batch;
		// marking is cheap because the large arrays hold no pointers.
		imgs, x, f = nil, nil, nil
		runtime.GC()
	}
	return ctx.Err()
}

// projector maps full-width embeddings onto PCA axes one image at a time,
// so the full width is never held for more than one image.
type projector struct {
	full          *embedding
	axes          []float32 // total x d
	d, positions  int
	rows, reduced []float32
}

func newProjector(full *embedding, axes []float32, d, positions int) *projector {
	t := full.total()
	return &projector{full: full, axes: axes, d: d, positions: positions,
		rows: make([]float32, positions*t), reduced: make([]float32, positions*d)}
}

// embed computes image b's reduced embedding and calls put for each position.
func (pr *projector) embed(f backbones.Features, b, gh, gw int, put func(p int, v []float32)) {
	t := pr.full.total()
	gather(f, pr.full.refs, b, gh, gw, pr.rows, t)
	blas.Sgemm(false, false, pr.positions, pr.d, t, 1, pr.rows, t, pr.axes, pr.d, 0, pr.reduced, pr.d)
	for p := 0; p < pr.positions; p++ {
		put(p, pr.reduced[p*pr.d:(p+1)*pr.d])
	}
}

// Result is one test image's anomaly map and score.
type Result struct {
	// Score is the image-level anomaly score: the maximum of Map.
	Score float64
	// Map is the H x W (input size) anomaly map, row-major: Mahalanobis
	// distances on the patch grid, bilinearly upsampled to the input size
	// (align_corners=False) and smoothed by a Gaussian of sigma BlurSigma.
	Map  []float32
	H, W int
}

// BlurSigma is the standard deviation, in input pixels, of the Gaussian
// that smooths anomaly maps (the paper's and reference code's 4). With
// scipy's truncate=4 the kernel has 2*16+1 = 33 taps; borders are
// mirrored half-sample symmetric (scipy mode "reflect").
const BlurSigma = 4

// ScoreBackboneBatch is the most images Score passes to the backbone at
// once; larger calls to Score are cut into backbone batches of this size.
const ScoreBackboneBatch = 8

// Score computes anomaly maps and scores for a batch of preprocessed images
// (N x 3 x H x W, prepared with the model's preprocessing policy). The
// backbone must be the one the model was fitted with.
//
// The backbone runs on at most ScoreBackboneBatch images at a time, but the
// Mahalanobis distances of all N images are computed together: that step
// reads every position's covariance factor (d(d+1)/2 floats, 605 KB for
// d = 550) from memory once per call, so it is memory-bound for small N
// and its time per image falls with N. Measured for d = 550 on the
// development machine (BenchmarkMahalanobisWide): 8 images per call cost
// about twice as much per image as 32. Callers scoring many images should
// pass a few dozen at a time (the CLI and the experiments use 32).
func (m *Model) Score(ctx context.Context, bb backbones.Backbone, images *tensor.Tensor) ([]Result, error) {
	if bb == nil || images == nil {
		return nil, fmt.Errorf("padim: Score needs a backbone and images")
	}
	if bb.Name() != m.Header.Backbone {
		return nil, fmt.Errorf("padim: model was fitted with backbone %q, scoring with %q", m.Header.Backbone, bb.Name())
	}
	if images.N == 0 {
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	full, err := newEmbedding(bb.Layers(), m.Header.Layers, nil)
	if err != nil {
		return nil, err
	}
	if full.total() != m.Header.TotalChannels {
		return nil, fmt.Errorf("padim: backbone %s layers %v have %d channels, model expects %d", bb.Name(), m.Header.Layers, full.total(), m.Header.TotalChannels)
	}
	emb := full
	if m.PCA == nil {
		if emb, err = newEmbedding(bb.Layers(), m.Header.Layers, m.Header.Channels); err != nil {
			return nil, err
		}
	}
	n, d, gh, gw := images.N, m.Header.D, m.Header.GridH, m.Header.GridW
	positions := gh * gw
	// x is position-major: the n vectors of position p are x[p*n*d:].
	x := make([]float32, positions*n*d)
	var proj *projector
	if m.PCA != nil {
		proj = newProjector(full, m.PCA, d, positions)
	}
	chw := images.C * images.H * images.W
	for start := 0; start < n; start += ScoreBackboneBatch {
		end := min(start+ScoreBackboneBatch, n)
		part := &tensor.Tensor{N: end - start, C: images.C, H: images.H, W: images.W, Data: images.Data[start*chw : end*chw]}
		f, err := bb.Forward(part, m.Header.Layers)
		if err != nil {
			return nil, fmt.Errorf("padim: backbone %s: %w", bb.Name(), err)
		}
		if err := checkFiniteFeatures(f, m.Header.Layers, bb.Name(), func(i int) string { return fmt.Sprintf("test image %d of the batch", start+i) }); err != nil {
			return nil, err
		}
		pn, ph, pw, err := emb.grid(f)
		if err != nil {
			return nil, err
		}
		if pn != part.N {
			return nil, fmt.Errorf("padim: backbone returned %d feature maps for %d images", pn, part.N)
		}
		if ph != gh || pw != gw {
			return nil, fmt.Errorf("padim: images give a %dx%d patch grid, the model was fitted on %dx%d", ph, pw, gh, gw)
		}
		for b := 0; b < part.N; b++ {
			i := start + b
			if proj != nil {
				proj.embed(f, b, gh, gw, func(p int, v []float32) { copy(x[(p*n+i)*d:], v) })
			} else {
				gather(f, emb.refs, b, gh, gw, x[i*d:], n*d)
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	dist, err := Mahalanobis(ctx, m.Mean, m.Cholesky, positions, d, x, n, 0)
	if err != nil {
		return nil, err
	}
	for i, v := range dist {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("padim: Mahalanobis distance of test image %d of the batch at grid position %d is %v: the model's means or covariance factors are not usable",
				i/positions, i%positions, v)
		}
	}
	res := make([]Result, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for b := range res {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			res[b] = AnomalyMap(dist[b*positions:(b+1)*positions], gh, gw, images.H, images.W)
		}()
	}
	wg.Wait()
	return res, nil
}

// AnomalyMap turns a gh x gw grid of patch distances into the full
// resolution map and image score exactly as the reference code does:
// bilinear upsampling to h x w (align_corners=False), Gaussian blur with
// sigma BlurSigma (scipy.ndimage.gaussian_filter defaults), score = max.
func AnomalyMap(dist []float32, gh, gw, h, w int) Result {
	up := imgproc.ResizeBilinear(dist, gh, gw, h, w)
	imgproc.GaussianBlur(up, h, w, BlurSigma)
	score := math.Inf(-1)
	for _, v := range up {
		score = math.Max(score, float64(v))
	}
	return Result{Score: score, Map: up, H: h, W: w}
}

// creationInfo records with what a model was made, and when only if
// SOURCE_DATE_EPOCH asks for a time: a wall-clock time would make two fits
// of the same data differ in their header and checksum, and byte-identical
// model files are how reproducibility is checked.
func creationInfo() (Creation, error) {
	c := Creation{GoVersion: runtime.Version(), BLAS: blas.Backend}
	if v, ok := os.LookupEnv("SOURCE_DATE_EPOCH"); ok && v != "" {
		sec, err := strconv.ParseInt(v, 10, 64)
		if err != nil || sec < 0 {
			return c, fmt.Errorf("padim: SOURCE_DATE_EPOCH=%q is not a non-negative count of seconds", v)
		}
		c.Time = time.Unix(sec, 0).UTC().Format(time.RFC3339)
	}
	return c, nil
}

// checkFiniteFeatures returns an error naming the layer and image of the
// first NaN or infinite activation. Non-finite features come from bad
// weights or bad input tensors; caught here they name the stage, instead of
// surfacing later as a NaN covariance or metric.
func checkFiniteFeatures(f backbones.Features, layers []string, bbName string, image func(n int) string) error {
	for _, name := range layers {
		t := f[name]
		if t == nil {
			continue
		}
		if nn.AllFinite(t.Data) {
			continue
		}
		per := t.C * t.H * t.W
		for i, v := range t.Data {
			if x := float64(v); math.IsNaN(x) || math.IsInf(x, 0) {
				bad := 0
				for _, w := range t.Data {
					if x := float64(w); math.IsNaN(x) || math.IsInf(x, 0) {
						bad++
					}
				}
				return fmt.Errorf("padim: backbone %s features: layer %s of %s holds %v (%d non-finite values in the batch): the weights or the input are bad",
					bbName, name, image(i/max(per, 1)), v, bad)
			}
		}
	}
	return nil
}
