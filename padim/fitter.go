package padim

import (
	"fmt"
	"runtime"
	"slices"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/internal/blas"
)

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
	Selection Selection
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

// Fitter fits a PaDiM model from backbone features: the training images'
// features go in batch by batch through Add, the model comes out of Model.
// It holds per-position Gaussian statistics, never all the embeddings
// (see FitHeldBytes). Fit drives one from image files; code with its own
// backbone or its own features drives one directly.
//
// With SelectPCA every training image's features are added twice: a first
// pass finds the principal axes of the channels, EndPass computes them, a
// second pass fits the Gaussians on the projected embeddings. Passes
// tells how many passes the configuration takes.
type Fitter struct {
	cfg    FitConfig
	model  *Model
	full   *embedding // every channel of cfg.Layers
	emb    *embedding // the kept channels (nil with SelectPCA)
	pass   int
	passes int
	gh, gw int // the patch grid, set by the first batch

	cov  *covarianceAccumulator // SelectPCA's first pass
	rows []float32

	acc    *GaussianAccumulator
	chunk  []float32 // positions x AccumulateImages x d, position-major
	filled int       // images in chunk
	proj   *projector
}

// NewFitter checks cfg against the layers the backbone offers (its
// Layers(), shallowest first) and chooses the embedding channels. backbone
// is the name recorded in the model, which Model.Score checks.
func NewFitter(cfg FitConfig, backbone string, layers []backbones.Layer) (*Fitter, error) {
	cfg.defaults()
	full, err := newEmbedding(layers, cfg.Layers, nil)
	if err != nil {
		return nil, err
	}
	total := full.total()
	h := Header{
		Backbone:      backbone,
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
	f := &Fitter{cfg: cfg, full: full, passes: 1}
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
		f.passes = 2
		f.cov = newCovarianceAccumulator(total)
	default:
		return nil, fmt.Errorf("padim: %w", cfg.Selection.Validate())
	}
	if cfg.Selection != SelectPCA {
		if f.emb, err = newEmbedding(layers, cfg.Layers, h.Channels); err != nil {
			return nil, err
		}
		h.D = len(h.Channels)
	}
	f.model = &Model{Header: h}
	return f, nil
}

// Passes is how many times every training image's features must be
// added: 2 with SelectPCA, else 1.
func (f *Fitter) Passes() int { return f.passes }

// Layers are the layers Add needs, in the order of the embedding: ask the
// backbone for these.
func (f *Fitter) Layers() []string { return slices.Clone(f.cfg.Layers) }

// Add adds the features of a batch of training images to the current
// pass. Every layer of Layers must be present, item n of each belonging to
// image n of the batch, and all images must give the same patch grid.
// Non-finite activations are an error naming the layer and the image's
// place in the batch.
func (f *Fitter) Add(feats backbones.Features) error {
	return f.add(feats, -1, func(n int) string { return fmt.Sprintf("image %d of the batch", n) })
}

// add is Add for drivers that know the batch: images is its size (-1 if
// unknown) and name(n) names image n in errors.
func (f *Fitter) add(feats backbones.Features, images int, name func(n int) string) error {
	if f.model == nil {
		return fmt.Errorf("padim: Fitter used after Model")
	}
	if err := checkFiniteFeatures(feats, f.cfg.Layers, f.model.Header.Backbone, name); err != nil {
		return err
	}
	e := f.emb
	if e == nil {
		e = f.full
	}
	n, gh, gw, err := e.grid(feats)
	if err != nil {
		return err
	}
	if images >= 0 && n != images {
		return fmt.Errorf("padim: backbone returned %d feature maps for %d images", n, images)
	}
	if f.gh > 0 && (gh != f.gh || gw != f.gw) {
		return fmt.Errorf("padim: %s gives a %dx%d grid, earlier images %dx%d: images must share one size", name(0), gh, gw, f.gh, f.gw)
	}
	f.gh, f.gw = gh, gw
	if f.pass == 0 && f.cov != nil {
		f.addToChannelCovariance(feats, n)
		return nil
	}
	return f.addToGaussians(feats, n)
}

// addToChannelCovariance is SelectPCA's first pass: the full-width
// embeddings into the pooled channel covariance.
func (f *Fitter) addToChannelCovariance(feats backbones.Features, n int) {
	total, positions := f.full.total(), f.gh*f.gw
	if cap(f.rows) < positions*total {
		f.rows = make([]float32, positions*total)
	}
	rows := f.rows[:positions*total]
	for b := 0; b < n; b++ {
		gather(feats, f.full.refs, b, f.gh, f.gw, rows, total)
		f.cov.add(rows, positions)
	}
}

// addToGaussians embeds each image of the batch into the chunk buffer and
// hands full chunks to the Gaussian accumulator.
func (f *Fitter) addToGaussians(feats backbones.Features, n int) error {
	d, positions := f.model.Header.D, f.gh*f.gw
	if f.acc == nil {
		f.model.Header.GridH, f.model.Header.GridW = f.gh, f.gw
		var err error
		if f.acc, err = NewGaussianAccumulator(positions, d, f.cfg.Workers); err != nil {
			return err
		}
		f.chunk = make([]float32, positions*f.cfg.AccumulateImages*d)
		if f.model.PCA != nil {
			f.proj = newProjector(f.full, f.model.PCA, d, positions)
		}
	}
	stride := f.cfg.AccumulateImages * d
	for b := 0; b < n; b++ {
		embedImage(feats, b, f.gh, f.gw, f.emb, f.proj, f.chunk[f.filled*d:], stride)
		f.filled++
		if f.filled == f.cfg.AccumulateImages {
			if err := f.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush adds the buffered embeddings to the Gaussian accumulator.
func (f *Fitter) flush() error {
	if f.filled == 0 {
		return nil
	}
	k, d, positions := f.filled, f.model.Header.D, f.gh*f.gw
	// Compact position-major rows from stride AccumulateImages to k.
	if k < f.cfg.AccumulateImages {
		for p := 1; p < positions; p++ {
			copy(f.chunk[p*k*d:(p+1)*k*d], f.chunk[p*f.cfg.AccumulateImages*d:p*f.cfg.AccumulateImages*d+k*d])
		}
	}
	f.filled = 0
	return f.acc.AddFloat32(f.chunk[:positions*k*d], k)
}

// EndPass ends a pass over the training images before the last; with
// SelectPCA it computes the principal axes the second pass projects onto.
// Model ends the last pass.
func (f *Fitter) EndPass() error {
	if f.model == nil {
		return fmt.Errorf("padim: Fitter used after Model")
	}
	if f.pass+1 >= f.passes {
		return fmt.Errorf("padim: EndPass after the last of %d passes: call Model", f.passes)
	}
	var err error
	if f.model.PCA, err = f.cov.principalAxes(f.cfg.D); err != nil {
		return err
	}
	f.model.Header.D = f.cfg.D
	f.cov, f.rows = nil, nil
	f.pass++
	return nil
}

// Model ends the last pass and fits the Gaussians. It consumes the
// Fitter: the covariance factors are written over its sums.
func (f *Fitter) Model() (*Model, error) {
	if f.model == nil {
		return nil, fmt.Errorf("padim: Fitter used after Model")
	}
	if f.pass+1 < f.passes {
		return nil, fmt.Errorf("padim: Model called in pass %d of %d: call EndPass and add the images again", f.pass+1, f.passes)
	}
	if f.acc == nil {
		return nil, fmt.Errorf("padim: need at least 2 training images for a covariance, have 0")
	}
	if err := f.flush(); err != nil {
		return nil, err
	}
	m := f.model
	f.model, f.chunk = nil, nil
	m.Header.NTrain = f.acc.N()
	// Finalize writes the factors over the sums and fails on any value
	// that is not finite in float32.
	var err error
	if m.Mean, m.Cholesky, err = f.acc.Finalize(f.cfg.Epsilon); err != nil {
		return nil, err
	}
	return m, nil
}

// FitHeldBytes is what Fit holds by construction at its peak for the given
// grid positions, embedding dimension d and FitConfig.AccumulateImages:
// the float64 shift, sum and panel sums of outer products of every
// position, plus the float32 embedding buffer. Finalize writes the float32
// Cholesky factors over the sums, so they add nothing. The backbone's activations
// for one batch come on top.
func FitHeldBytes(positions, d, accumulate int) int64 {
	p := int64(positions)
	return p*(2*int64(d)+int64(gramLen(d)))*8 + p*int64(accumulate)*int64(d)*4
}

// CheckLayers checks a layer list against a backbone's layers (shallowest
// first) the way Fit will, so a command can refuse an unknown, repeated or
// misordered layer before it loads weights or reads an image.
func CheckLayers(available []backbones.Layer, layers []string) error {
	_, err := newEmbedding(available, layers, nil)
	return err
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

// embed writes image b's reduced embedding into dst, position p's d
// values at dst[p*stride:].
func (pr *projector) embed(f backbones.Features, b, gh, gw int, dst []float32, stride int) {
	t := pr.full.total()
	gather(f, pr.full.refs, b, gh, gw, pr.rows, t)
	blas.Sgemm(false, false, pr.positions, pr.d, t, 1, pr.rows, t, pr.axes, pr.d, 0, pr.reduced, pr.d)
	for p := 0; p < pr.positions; p++ {
		copy(dst[p*stride:p*stride+pr.d], pr.reduced[p*pr.d:(p+1)*pr.d])
	}
}

// embedImage writes image b's embedding, position-major with stride
// between positions, into dst: the kept channels (emb), or with PCA the
// projection (proj, emb unused). Fitting and scoring both embed this way.
func embedImage(f backbones.Features, b, gh, gw int, emb *embedding, proj *projector, dst []float32, stride int) {
	if proj != nil {
		proj.embed(f, b, gh, gw, dst, stride)
		return
	}
	gather(f, emb.refs, b, gh, gw, dst, stride)
}
