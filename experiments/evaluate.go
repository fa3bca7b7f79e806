package experiments

import (
	"context"
	"fmt"
	"time"

	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/eval"
	"github.com/padim-go/padim/internal/tensor"
	"github.com/padim-go/padim/nchw"
)

// Scorer turns a batch of preprocessed images into anomaly maps and image
// scores. A PaDiM model with its backbone, a SPADE model, or a sum of
// single-layer PaDiM models all are Scorers.
type Scorer interface {
	ScoreBatch(ctx context.Context, images *nchw.Tensor) (scores []float64, maps [][]float32, err error)
}

// Scored is a test set's scores, maps and ground truth, ready for eval.
type Scored struct {
	Samples []datasets.Sample
	Scores  []float64
	Labels  []bool
	Maps    [][]float32 // H x W each
	Masks   [][]bool    // nil when the split has no masks; an entry is nil for a normal image
	H, W    int
	// InferenceSeconds is the total time spent in ScoreBatch (features,
	// distances, upsampling, blur), excluding decoding.
	InferenceSeconds float64
	DecodeSeconds    float64
}

// ScoreGroup is how many test images the experiments and `padim test` hand
// to a Scorer per call. PaDiM computes the Mahalanobis distances of a call
// together, reading each position's covariance factor once per call, so
// a few dozen images per call cost about half as much per image as 8 (see
// padim.Model.Score); its backbone still sees at most 8 images at a time.
const ScoreGroup = 32

// ScoreSplit scores every test image of split, batch images per Scorer call.
// Masks are read for anomalous images when the split has them. Any image or
// mask that cannot be read stops the run with an error naming the file:
// nothing is skipped.
func ScoreSplit(ctx context.Context, s Scorer, split *datasets.Split, pre Loader, batch int, progress func(done, total int)) (*Scored, error) {
	if batch <= 0 {
		batch = 8
	}
	h, w := pre.Size()
	out := &Scored{H: h, W: w}
	if split.HasMasks {
		out.Masks = make([][]bool, 0, len(split.Test))
	}
	// The next group is decoded while this one is scored.
	groups, stop := datasets.Prefetch(ctx, len(split.Test), batch, func(start, end int) (testGroup, error) {
		return loadTestGroup(split, split.Test[start:end], pre, h, w)
	})
	defer stop()
	for {
		t0 := time.Now()
		g, ok, err := datasets.Receive(ctx, groups)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if g.Err != nil {
			return nil, g.Err
		}
		start, end, x := g.Start, g.End, g.Value.x
		if split.HasMasks {
			out.Masks = append(out.Masks, g.Value.masks...)
		}
		t1 := time.Now()
		scores, maps, err := s.ScoreBatch(ctx, x)
		if err != nil {
			return nil, err
		}
		out.DecodeSeconds += t1.Sub(t0).Seconds() // waiting for the group, not overlapped
		out.InferenceSeconds += time.Since(t1).Seconds()
		if len(scores) != end-start || len(maps) != end-start {
			return nil, fmt.Errorf("scorer returned %d scores and %d maps for %d images", len(scores), len(maps), end-start)
		}
		for i, smp := range split.Test[start:end] {
			out.Samples = append(out.Samples, smp)
			out.Scores = append(out.Scores, scores[i])
			out.Labels = append(out.Labels, smp.Label != 0)
			out.Maps = append(out.Maps, maps[i])
		}
		if progress != nil {
			progress(end, len(split.Test))
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(out.Scores) != len(split.Test) {
		return nil, fmt.Errorf("scored %d of %d test images", len(out.Scores), len(split.Test))
	}
	return out, nil
}

// testGroup is one group of decoded test images with their masks when
// the split has them.
type testGroup struct {
	x     *nchw.Tensor
	masks [][]bool
}

// loadTestGroup decodes samples (on all cores) and, when split has masks,
// reads their masks, checking each against the image size.
func loadTestGroup(split *datasets.Split, samples []datasets.Sample, pre Loader, h, w int) (testGroup, error) {
	imgs, err := datasets.LoadImages(datasets.Paths(samples), 0, pre.Image)
	if err != nil {
		return testGroup{}, err
	}
	var masks [][]bool
	if split.HasMasks {
		for _, smp := range samples {
			var m []bool
			if smp.MaskPath != "" {
				if m, err = pre.SampleMask(smp); err != nil {
					return testGroup{}, err
				}
				if len(m) != h*w {
					return testGroup{}, fmt.Errorf("%s: mask has %d pixels after preprocessing, image has %dx%d", smp.MaskPath, len(m), h, w)
				}
			} else if smp.Label != 0 {
				return testGroup{}, fmt.Errorf("%s: anomalous test image has no mask in a split with masks", smp.Path)
			}
			masks = append(masks, m)
		}
	}
	x, err := tensor.Stack(imgs)
	return testGroup{x: x, masks: masks}, err
}

// Evaluate computes image AUROC, and pixel AUROC and PRO when masks exist.
func (s *Scored) Evaluate() (eval.Result, error) {
	in := eval.Input{ImageScores: s.Scores, ImageLabels: s.Labels, Width: s.W}
	if s.Masks != nil {
		in.Maps, in.Masks = s.Maps, s.Masks
	}
	return eval.Evaluate(in)
}

// metricPtr converts an eval.Metric to the nil-when-unavailable form of Result.
func metricPtr(m eval.Metric) *float64 {
	if v, ok := m.Get(); ok {
		return &v
	}
	return nil
}

// EvaluatePerDefect computes each defect type's metrics against all normal
// test images (see eval.EvaluatePerDefect).
func (s *Scored) EvaluatePerDefect() ([]DefectMetrics, error) {
	in := eval.Input{ImageScores: s.Scores, ImageLabels: s.Labels, Width: s.W}
	if s.Masks != nil {
		in.Maps, in.Masks = s.Maps, s.Masks
	}
	defects := make([]string, len(s.Samples))
	for i, smp := range s.Samples {
		defects[i] = smp.Defect
	}
	rs, err := eval.EvaluatePerDefect(in, defects)
	if err != nil {
		return nil, err
	}
	out := make([]DefectMetrics, len(rs))
	for i, r := range rs {
		out[i] = DefectMetrics{Defect: r.Defect, Anomalous: r.Anomalous,
			ImageAUROC: metricPtr(r.ImageAUROC), PixelAUROC: metricPtr(r.PixelAUROC), PRO: metricPtr(r.PRO)}
	}
	return out, nil
}

// STCPreprocess is the paper's ShanghaiTech Campus geometry: frames resized
// to 256 x 256, no crop.
func STCPreprocess() datasets.Preprocess {
	return datasets.Preprocess{Height: 256, Width: 256, Filter: datasets.Lanczos}
}
