package experiments

import (
	"context"
	"fmt"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/nchw"
	"github.com/padim-go/padim/padim"
	"github.com/padim-go/padim/spade"
)

// PaDiMScorer scores with one fitted PaDiM model.
type PaDiMScorer struct {
	Model    *padim.Model
	Backbone backbones.Backbone
}

// ScoreBatch implements Scorer.
func (s PaDiMScorer) ScoreBatch(ctx context.Context, x *nchw.Tensor) ([]float64, [][]float32, error) {
	res, err := s.Model.Score(ctx, s.Backbone, x)
	if err != nil {
		return nil, nil, err
	}
	scores := make([]float64, len(res))
	maps := make([][]float32, len(res))
	for i, r := range res {
		scores[i], maps[i] = r.Score, r.Map
	}
	return scores, maps, nil
}

// SumScorer adds the anomaly maps of several models (the paper's "sum of
// single-layer maps" ablation, Table I). Upsampling and blurring are linear,
// so adding the final maps equals adding the patch-grid distances first; the
// image score is the maximum of the sum.
type SumScorer []Scorer

// ScoreBatch implements Scorer.
func (s SumScorer) ScoreBatch(ctx context.Context, x *nchw.Tensor) ([]float64, [][]float32, error) {
	var sum [][]float32
	for i, part := range s {
		_, maps, err := part.ScoreBatch(ctx, x)
		if err != nil {
			return nil, nil, err
		}
		if i == 0 {
			sum = maps
			continue
		}
		for j := range sum {
			if len(maps[j]) != len(sum[j]) {
				return nil, nil, fmt.Errorf("sum of maps: part %d gives %d pixels, part 0 gives %d", i, len(maps[j]), len(sum[j]))
			}
			for k, v := range maps[j] {
				sum[j][k] += v
			}
		}
	}
	scores := make([]float64, len(sum))
	for j, m := range sum {
		mx := float32(0)
		for k, v := range m {
			if k == 0 || v > mx {
				mx = v
			}
		}
		scores[j] = float64(mx)
	}
	return scores, sum, nil
}

// SPADEScorer scores with a SPADE model on features of its backbone.
type SPADEScorer struct {
	Model    *spade.Model
	Backbone backbones.Backbone
	Layers   []string // every layer the model reads: pooled and pixel layers
}

// ScoreBatch implements Scorer.
func (s SPADEScorer) ScoreBatch(ctx context.Context, x *nchw.Tensor) ([]float64, [][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	f, err := s.Backbone.Forward(x, s.Layers)
	if err != nil {
		return nil, nil, err
	}
	return s.Model.ScoreBatch(f)
}
