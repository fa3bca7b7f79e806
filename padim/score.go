package padim

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/internal/imgproc"
	"github.com/padim-go/padim/internal/nn"
)

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

// ScoreFeatures computes anomaly maps and scores from the features of a
// batch of test images: every layer of the model's Header.Layers, item n
// of each belonging to image n, as the model's backbone returns them for
// images of h x w pixels (the size of the maps). The features must give
// the patch grid the model was fitted on.
//
// The Mahalanobis distances of all the batch's images are computed
// together: that step reads every position's covariance factor
// (d(d+1)/2 floats, 605 KB for d = 550) from memory once per call, so it
// is memory-bound for small batches and its time per image falls with the
// batch size (see Model.Score).
func (m *Model) ScoreFeatures(ctx context.Context, feats backbones.Features, h, w int) ([]Result, error) {
	if h <= 0 || w <= 0 {
		return nil, fmt.Errorf("padim: anomaly map size %dx%d must be positive", h, w)
	}
	layers := make([]backbones.Layer, 0, len(m.Header.Layers))
	for _, name := range m.Header.Layers {
		t := feats[name]
		if t == nil {
			return nil, fmt.Errorf("padim: features have no layer %q, the model uses %v", name, m.Header.Layers)
		}
		layers = append(layers, backbones.Layer{Name: name, Channels: t.C})
	}
	n := feats[m.Header.Layers[0]].N
	if n == 0 {
		return nil, nil
	}
	s, err := m.newScoring(layers, n)
	if err != nil {
		return nil, err
	}
	if _, err := s.add(feats, 0, func(i int) string { return fmt.Sprintf("test image %d of the batch", i) }); err != nil {
		return nil, err
	}
	return s.results(ctx, h, w)
}

// scoring collects the embeddings of n test images, which may come from
// several backbone calls, for one Mahalanobis call over all of them.
type scoring struct {
	m         *Model
	emb       *embedding // kept channels; the full width with PCA
	proj      *projector // nil without PCA
	n         int
	backbone  string
	positions int
	// x is position-major: the n vectors of position p are x[p*n*d:].
	x []float32
}

func (m *Model) newScoring(layers []backbones.Layer, n int) (*scoring, error) {
	full, err := newEmbedding(layers, m.Header.Layers, nil)
	if err != nil {
		return nil, err
	}
	if full.total() != m.Header.TotalChannels {
		return nil, fmt.Errorf("padim: backbone %s layers %v have %d channels, model expects %d", m.Header.Backbone, m.Header.Layers, full.total(), m.Header.TotalChannels)
	}
	d, positions := m.Header.D, m.Header.GridH*m.Header.GridW
	s := &scoring{m: m, emb: full, n: n, positions: positions, x: make([]float32, positions*n*d)}
	if m.PCA != nil {
		s.proj = newProjector(full, m.PCA, d, positions)
	} else if s.emb, err = newEmbedding(layers, m.Header.Layers, m.Header.Channels); err != nil {
		return nil, err
	}
	return s, nil
}

// add embeds the images of a batch of features as images first,
// first+1, ... of the call and returns how many there were; name(i) names
// image i of the call in errors.
func (s *scoring) add(f backbones.Features, first int, name func(i int) string) (int, error) {
	h := s.m.Header
	if err := checkFiniteFeatures(f, h.Layers, h.Backbone, func(i int) string { return name(first + i) }); err != nil {
		return 0, err
	}
	n, gh, gw, err := s.emb.grid(f)
	if err != nil {
		return 0, err
	}
	if first+n > s.n {
		return 0, fmt.Errorf("padim: backbone returned %d feature maps for %d images", n, s.n-first)
	}
	if gh != h.GridH || gw != h.GridW {
		return 0, fmt.Errorf("padim: images give a %dx%d patch grid, the model was fitted on %dx%d", gh, gw, h.GridH, h.GridW)
	}
	d := h.D
	for b := 0; b < n; b++ {
		embedImage(f, b, gh, gw, s.emb, s.proj, s.x[(first+b)*d:], s.n*d)
	}
	return n, nil
}

// results computes the distances of all n images and their h x w maps.
func (s *scoring) results(ctx context.Context, h, w int) ([]Result, error) {
	hd := s.m.Header
	dist, err := Mahalanobis(ctx, s.m.Mean, s.m.Cholesky, s.positions, hd.D, s.x, s.n, 0)
	if err != nil {
		return nil, err
	}
	for i, v := range dist {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("padim: Mahalanobis distance of test image %d of the batch at grid position %d is %v: the model's means or covariance factors are not usable",
				i/s.positions, i%s.positions, v)
		}
	}
	res := make([]Result, s.n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for b := range res {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			res[b] = AnomalyMap(dist[b*s.positions:(b+1)*s.positions], hd.GridH, hd.GridW, h, w)
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
