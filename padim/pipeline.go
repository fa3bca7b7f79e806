package padim

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/internal/blas"
	"github.com/padim-go/padim/nchw"
)

// This file holds the drivers that run images through a backbone into the
// features-in core: Fit over a Fitter (fitter.go), Model.Score over the
// scoring of score.go.

// ImageLoader turns an image file into a 1 x 3 x H x W ImageNet-normalised
// tensor. datasets.Preprocess satisfies it. Fit calls Image from several
// goroutines at once (a batch is decoded on all cores, the next one while
// the backbone runs), so it must be safe for concurrent use.
type ImageLoader interface {
	Image(path string) (*nchw.Tensor, error)
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

// Fit learns a PaDiM model from normal training images. Images are loaded
// with pre, run through bb in batches of cfg.BatchSize, embedded and
// streamed into per-position Gaussian statistics (a Fitter); no more than
// cfg.AccumulateImages embeddings are held at once. With SelectPCA the
// images are read twice: once for the channel covariance, once for the
// Gaussians. progress, if not nil, is called after every batch with the
// number of image passes done and the total. ctx is checked between
// batches.
func Fit(ctx context.Context, cfg FitConfig, bb backbones.Backbone, samples []datasets.Sample, pre ImageLoader, progress func(done, total int)) (*Model, error) {
	if bb == nil || pre == nil {
		return nil, fmt.Errorf("padim: Fit needs a backbone and an image loader")
	}
	if len(samples) < 2 {
		return nil, fmt.Errorf("padim: need at least 2 training images, have %d", len(samples))
	}
	fitter, err := NewFitter(cfg, bb.Name(), bb.Layers())
	if err != nil {
		return nil, err
	}
	cfg = fitter.cfg // defaults filled in
	paths := datasets.Paths(samples)
	reader := datasets.BatchReader{Size: cfg.BatchSize, Workers: cfg.Workers, Load: namingLoader(pre)}
	for pass := 0; pass < fitter.Passes(); pass++ {
		if pass > 0 {
			if err := fitter.EndPass(); err != nil {
				return nil, err
			}
		}
		if progress != nil {
			reader.Progress = func(done, total int) { progress(pass*total+done, fitter.Passes()*total) }
		}
		if err := reader.Each(ctx, paths, func(b datasets.ImageBatch) error { return fitBatch(fitter, bb, b) }); err != nil {
			return nil, err
		}
	}
	return fitter.Model()
}

// namingLoader makes pre's errors name the file.
func namingLoader(pre ImageLoader) func(path string) (*nchw.Tensor, error) {
	return func(path string) (*nchw.Tensor, error) {
		t, err := pre.Image(path)
		if err != nil {
			return nil, fmt.Errorf("padim: %s: %w", path, err)
		}
		return t, nil
	}
}

// fitBatch runs the backbone on one batch of training images and adds
// the features to the fitter.
func fitBatch(fitter *Fitter, bb backbones.Backbone, b datasets.ImageBatch) error {
	f, err := bb.Forward(b.X, fitter.cfg.Layers)
	if err != nil {
		return fmt.Errorf("padim: backbone %s on batch starting at %s: %w", bb.Name(), b.Paths[0], err)
	}
	err = fitter.add(f, b.X.N, func(n int) string {
		if n < len(b.Paths) {
			return "training image " + b.Paths[n]
		}
		return fmt.Sprintf("batch image %d", n)
	})
	// The live heap is dominated by the pointer-free accumulators (3.8 GB
	// for Wide-ResNet-50-2, d=550), and Go's default pacing (GOGC=100)
	// lets garbage grow to the size of the live heap before collecting:
	// the batch's activations (about 0.5 GB for that backbone at batch 8)
	// would pile up to double the peak. Collecting here keeps the peak at
	// live data plus one batch; marking is cheap because the large arrays
	// hold no pointers.
	runtime.GC()
	return err
}

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
func (m *Model) Score(ctx context.Context, bb backbones.Backbone, images *nchw.Tensor) ([]Result, error) {
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
	s, err := m.newScoring(bb.Layers(), images.N)
	if err != nil {
		return nil, err
	}
	for start := 0; start < images.N; start += ScoreBackboneBatch {
		if err := m.embedTestBatch(s, bb, images.Images(start, min(start+ScoreBackboneBatch, images.N)), start); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return s.results(ctx, images.H, images.W)
}

// embedTestBatch runs the backbone on part, images first.. of a Score
// call, and adds their embeddings to s.
func (m *Model) embedTestBatch(s *scoring, bb backbones.Backbone, part *nchw.Tensor, first int) error {
	f, err := bb.Forward(part, m.Header.Layers)
	if err != nil {
		return fmt.Errorf("padim: backbone %s: %w", bb.Name(), err)
	}
	n, err := s.add(f, first, func(i int) string { return fmt.Sprintf("test image %d of the batch", i) })
	if err != nil {
		return err
	}
	if n != part.N {
		return fmt.Errorf("padim: backbone returned %d feature maps for %d images", n, part.N)
	}
	return nil
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
