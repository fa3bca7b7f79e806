package spade

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/internal/tensor"
)

// PaperK is SPADE's number of nearest training images.
const PaperK = 50

// PaperSigma is the standard deviation of the Gaussian that smooths SPADE's
// anomaly maps.
const PaperSigma = 4

// Config selects what SPADE compares.
type Config struct {
	K           int      // nearest training images averaged for the image score
	GalleryK    int      // nearest training images forming the pixel gallery; 0 means K
	PoolLayer   string   // layer whose global average pool is the image vector
	PixelLayers []string // layers compared position by position; empty = image scores only
	Height      int      // anomaly map height (the network input height); needed with PixelLayers
	Width       int      // anomaly map width
	Sigma       float64  // Gaussian smoothing of the map; 0 means PaperSigma
	Workers     int      // goroutines for the neighbour searches; 0 means GOMAXPROCS
}

// PaperConfig returns SPADE's settings for an input of h x w pixels, pooling
// poolLayer for the image score and comparing layer1, layer2 and layer3.
func PaperConfig(poolLayer string, h, w int) Config {
	return Config{K: PaperK, PoolLayer: poolLayer, PixelLayers: []string{"layer1", "layer2", "layer3"}, Height: h, Width: w}
}

// String describes the configuration for reports.
func (c Config) String() string {
	s := fmt.Sprintf("SPADE(K=%d, pool=%s", c.K, c.PoolLayer)
	if len(c.PixelLayers) > 0 {
		s += fmt.Sprintf(", galleryK=%d, pixel=%s, %dx%d, sigma=%g", c.GalleryK, strings.Join(c.PixelLayers, "+"), c.Height, c.Width, c.Sigma)
	}
	return s + ")"
}

// layerBank holds one layer's features of every training image, position
// major: image i, position p occupies feats[(i*hw+p)*c : (i*hw+p+1)*c].
type layerBank struct {
	name    string
	c, h, w int
	feats   []float32
	norms   []float32 // squared norm of every stored vector
}

func (b *layerBank) hw() int { return b.h * b.w }

// Model is a SPADE model: the features of the training images. It is not
// safe to call AddTrain concurrently with anything else; Score may be called
// from several goroutines once training images are added.
type Model struct {
	cfg    Config
	pool   layerBank // h = w = 1
	pixels []layerBank
	n      int
}

// New validates cfg, fills in defaults and returns an empty model.
func New(cfg Config) (*Model, error) {
	if cfg.K < 1 {
		return nil, fmt.Errorf("spade: K = %d, need at least 1", cfg.K)
	}
	if cfg.GalleryK == 0 {
		cfg.GalleryK = cfg.K
	}
	if cfg.GalleryK < 1 {
		return nil, fmt.Errorf("spade: GalleryK = %d, need at least 1", cfg.GalleryK)
	}
	if cfg.PoolLayer == "" {
		return nil, fmt.Errorf("spade: no PoolLayer for the image vectors")
	}
	if cfg.Sigma == 0 {
		cfg.Sigma = PaperSigma
	}
	if !(cfg.Sigma > 0) || math.IsInf(cfg.Sigma, 0) {
		return nil, fmt.Errorf("spade: Gaussian sigma %v must be positive and finite", cfg.Sigma)
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Workers < 0 {
		return nil, fmt.Errorf("spade: Workers = %d is negative", cfg.Workers)
	}
	if len(cfg.PixelLayers) > 0 && (cfg.Height < 1 || cfg.Width < 1) {
		return nil, fmt.Errorf("spade: anomaly map size %dx%d must be positive when PixelLayers is set", cfg.Height, cfg.Width)
	}
	cfg.PixelLayers = slices.Clone(cfg.PixelLayers)
	m := &Model{cfg: cfg, pool: layerBank{name: cfg.PoolLayer}}
	for i, name := range cfg.PixelLayers {
		if name == "" || slices.Contains(cfg.PixelLayers[:i], name) {
			return nil, fmt.Errorf("spade: pixel layer %q is empty or repeated in %q", name, cfg.PixelLayers)
		}
		m.pixels = append(m.pixels, layerBank{name: name})
	}
	return m, nil
}

// Config returns the configuration in use, defaults filled in.
func (m *Model) Config() Config {
	c := m.cfg
	c.PixelLayers = slices.Clone(c.PixelLayers)
	return c
}

// Len is the number of training images added.
func (m *Model) Len() int { return m.n }

// layer returns the requested feature map, checking that it is usable.
func layer(feats backbones.Features, name string) (*tensor.Tensor, error) {
	t, ok := feats[name]
	if !ok || t == nil {
		have := make([]string, 0, len(feats))
		for k := range feats {
			have = append(have, k)
		}
		slices.Sort(have)
		return nil, fmt.Errorf("spade: features have no layer %q (have %q)", name, have)
	}
	if t.N < 1 || t.C < 1 || t.H < 1 || t.W < 1 || len(t.Data) != t.Len() {
		return nil, fmt.Errorf("spade: layer %q is an invalid %v with %d values", name, t, len(t.Data))
	}
	for i, v := range t.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			n, rest := i/(t.C*t.H*t.W), i%(t.C*t.H*t.W)
			return nil, fmt.Errorf("spade: layer %q image %d holds a non-finite value %v at offset %d", name, n, v, rest)
		}
	}
	return t, nil
}

// gather fetches the pool and pixel layers of feats, checking that every
// layer has the same batch size and, once the model has shapes, the same
// shapes as the training features.
func (m *Model) gather(feats backbones.Features) (pool *tensor.Tensor, pix []*tensor.Tensor, err error) {
	pool, err = layer(feats, m.cfg.PoolLayer)
	if err != nil {
		return nil, nil, err
	}
	if m.n > 0 && pool.C != m.pool.c {
		return nil, nil, fmt.Errorf("spade: pool layer %q has %d channels, training features had %d", m.cfg.PoolLayer, pool.C, m.pool.c)
	}
	for i := range m.pixels {
		b := &m.pixels[i]
		t, err := layer(feats, b.name)
		if err != nil {
			return nil, nil, err
		}
		if t.N != pool.N {
			return nil, nil, fmt.Errorf("spade: layer %q has %d images, layer %q has %d", b.name, t.N, m.cfg.PoolLayer, pool.N)
		}
		if m.n > 0 && (t.C != b.c || t.H != b.h || t.W != b.w) {
			return nil, nil, fmt.Errorf("spade: layer %q is %dx%dx%d per image, training features were %dx%dx%d", b.name, t.C, t.H, t.W, b.c, b.h, b.w)
		}
		pix = append(pix, t)
	}
	return pool, pix, nil
}

// AddTrain appends the features of a batch of defect-free training images.
// feats must hold PoolLayer and every pixel layer, with equal batch sizes and
// the same shapes for every call.
func (m *Model) AddTrain(feats backbones.Features) error {
	pool, pix, err := m.gather(feats)
	if err != nil {
		return err
	}
	if m.n == 0 {
		m.pool.c, m.pool.h, m.pool.w = pool.C, 1, 1
		for i, t := range pix {
			m.pixels[i].c, m.pixels[i].h, m.pixels[i].w = t.C, t.H, t.W
		}
	}
	for n := 0; n < pool.N; n++ {
		m.pool.append(avgPool(pool, n))
		for i, t := range pix {
			m.pixels[i].append(positionMajor(t, n))
		}
	}
	m.n += pool.N
	return nil
}

func (b *layerBank) append(vecs []float32) {
	b.feats = append(b.feats, vecs...)
	for v := range slices.Chunk(vecs, b.c) {
		b.norms = append(b.norms, sqNorm(v))
	}
}

func sqNorm(v []float32) float32 {
	s := 0.0
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return float32(s)
}

// avgPool returns the channel means of image n of t (global average pool).
func avgPool(t *tensor.Tensor, n int) []float32 {
	out := make([]float32, t.C)
	for c := range out {
		s := 0.0
		for _, v := range t.Channel(n, c) {
			s += float64(v)
		}
		out[c] = float32(s / float64(t.H*t.W))
	}
	return out
}

// positionMajor returns image n of t as H*W rows of C values.
func positionMajor(t *tensor.Tensor, n int) []float32 {
	hw := t.H * t.W
	out := make([]float32, hw*t.C)
	for c := 0; c < t.C; c++ {
		for p, v := range t.Channel(n, c) {
			out[p*t.C+c] = v
		}
	}
	return out
}

// exactDist is the float64 Euclidean distance between a and b.
func exactDist(a, b []float32) float64 {
	s := 0.0
	for i, x := range a {
		d := float64(x) - float64(b[i])
		s += d * d
	}
	return math.Sqrt(s)
}
