package padim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/internal/tensor"
)

// fakeBackbone is a fixed, deterministic "CNN" on 3 x 32 x 32 inputs:
// layer1 (stride 4, 5 channels), layer2 (stride 8, 4 channels) and layer3
// (stride 16, 3 channels) are block means, block maxima and nonlinear mixes
// of the input, so a local change of the image changes the features of the
// cells that cover it and only those.
type fakeBackbone struct{}

func (fakeBackbone) Name() string { return "fake" }

func (fakeBackbone) Layers() []backbones.Layer {
	return []backbones.Layer{
		{Name: "layer1", Channels: 5, Stride: 4},
		{Name: "layer2", Channels: 4, Stride: 8},
		{Name: "layer3", Channels: 3, Stride: 16},
	}
}

func (fb fakeBackbone) Forward(x *tensor.Tensor, layers []string) (backbones.Features, error) {
	if x.C != 3 || x.H%16 != 0 || x.W%16 != 0 {
		return nil, fmt.Errorf("fake backbone: input %v", x)
	}
	f := backbones.Features{}
	for _, name := range layers {
		var l backbones.Layer
		for _, c := range fb.Layers() {
			if c.Name == name {
				l = c
			}
		}
		if l.Name == "" {
			return nil, fmt.Errorf("fake backbone: no layer %q", name)
		}
		s := l.Stride
		out := tensor.New(x.N, l.Channels, x.H/s, x.W/s)
		for n := 0; n < x.N; n++ {
			for y := 0; y < out.H; y++ {
				for xx := 0; xx < out.W; xx++ {
					var mean [3]float64
					var peak [3]float64
					for c := 0; c < 3; c++ {
						peak[c] = math.Inf(-1)
						for dy := 0; dy < s; dy++ {
							for dx := 0; dx < s; dx++ {
								v := float64(x.At(n, c, y*s+dy, xx*s+dx))
								mean[c] += v
								peak[c] = math.Max(peak[c], v)
							}
						}
						mean[c] /= float64(s * s)
					}
					for c := 0; c < l.Channels; c++ {
						var v float64
						switch c % 5 {
						case 0, 1, 2:
							v = mean[c%3] * float64(1+c/3)
						case 3:
							v = math.Max(0, mean[0]-mean[1]) + peak[2]
						case 4:
							v = math.Tanh(mean[0]*mean[2]) + 0.5*peak[0]
						}
						out.Set(n, c, y, xx, float32(v))
					}
				}
			}
		}
		f[name] = out
	}
	return f, nil
}

// fakeLoader makes images from their path: "img-<seed>" is smooth noise,
// "anomaly-<seed>" the same noise with a bright 8x8 square at (16..23, 4..11).
type fakeLoader struct{ loads *atomic.Int64 } // Fit loads on several goroutines

func (l fakeLoader) Image(path string) (*tensor.Tensor, error) {
	base := filepath.Base(path)
	i := strings.LastIndexByte(base, '-')
	seed, err := strconv.Atoi(base[i+1:])
	if i < 0 || err != nil {
		return nil, fmt.Errorf("%s: not a fake image name", path)
	}
	if l.loads != nil {
		l.loads.Add(1)
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	t := tensor.New(1, 3, 32, 32)
	for c := 0; c < 3; c++ {
		for y := 0; y < 32; y++ {
			for x := 0; x < 32; x++ {
				v := 0.3*math.Sin(float64(x+c)/3) + 0.3*math.Cos(float64(y)/4) + 0.2*rng.NormFloat64()
				if strings.HasPrefix(base, "anomaly") && y >= 16 && y < 24 && x >= 4 && x < 12 {
					v += 2.5
				}
				t.Set(0, c, y, x, float32(v))
			}
		}
	}
	return t, nil
}

func trainSamples(n int) []datasets.Sample {
	s := make([]datasets.Sample, n)
	for i := range s {
		s[i] = datasets.Sample{Path: fmt.Sprintf("train/img-%d", i), Defect: "good"}
	}
	return s
}

func loadBatch(t *testing.T, paths ...string) *tensor.Tensor {
	t.Helper()
	var items []*tensor.Tensor
	for _, p := range paths {
		x, err := fakeLoader{}.Image(p)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, x)
	}
	b, err := tensor.Stack(items)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFitScoreFindsAnomaly(t *testing.T) {
	ctx := context.Background()
	for _, cfg := range []FitConfig{
		{D: 6, Seed: 3},
		{Selection: SelectIndices, Indices: []int{11, 0, 7, 5, 9}},
		{Selection: SelectPCA, D: 5},
		{D: 12, Seed: 1, Layers: []string{"layer1", "layer2", "layer3"}},
	} {
		t.Run(string(cfg.Selection)+fmt.Sprint(cfg.D), func(t *testing.T) {
			var progressed []int
			m, err := Fit(ctx, cfg, fakeBackbone{}, trainSamples(40), fakeLoader{}, func(done, total int) {
				progressed = append(progressed, done)
				if done > total {
					t.Errorf("progress %d of %d", done, total)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if m.Header.GridH != 8 || m.Header.GridW != 8 || m.Header.NTrain != 40 || m.Header.TotalChannels != 12 {
				t.Fatalf("header %+v", m.Header)
			}
			if len(progressed) == 0 {
				t.Fatal("no progress reported")
			}
			imgs := loadBatch(t, "test/img-1000", "test/img-1001", "test/anomaly-1002", "test/img-1003")
			res, err := m.Score(ctx, fakeBackbone{}, imgs)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res {
				if r.H != 32 || r.W != 32 || len(r.Map) != 32*32 {
					t.Fatalf("result %d is %dx%d with %d values", i, r.H, r.W, len(r.Map))
				}
				if i != 2 && r.Score >= res[2].Score {
					t.Errorf("normal image %d scores %v >= anomalous %v", i, r.Score, res[2].Score)
				}
			}
			// The peak of the anomalous map lies in or next to the square.
			best := 0
			for i, v := range res[2].Map {
				if v > res[2].Map[best] {
					best = i
				}
			}
			if y, x := best/32, best%32; y < 12 || y >= 28 || x < 0 || x >= 16 {
				t.Errorf("anomaly map peaks at (%d, %d), square is at (16..23, 4..11)", y, x)
			}
		})
	}
}

// Backbone batch size, accumulation chunk and worker count must not change
// the model beyond float64 rounding (workers: not at all).
func TestFitStreamingInvariance(t *testing.T) {
	ctx := context.Background()
	base := FitConfig{D: 7, Seed: 9, BatchSize: 8, AccumulateImages: 32, Workers: 2}
	ref, err := Fit(ctx, base, fakeBackbone{}, trainSamples(23), fakeLoader{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ batch, acc, workers int }{{1, 1, 2}, {3, 5, 1}, {23, 4, 3}, {5, 100, 2}, {8, 32, 1}} {
		cfg := base
		cfg.BatchSize, cfg.AccumulateImages, cfg.Workers = tc.batch, tc.acc, tc.workers
		m, err := Fit(ctx, cfg, fakeBackbone{}, trainSamples(23), fakeLoader{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		exact := tc.batch == base.BatchSize && tc.acc == base.AccumulateImages
		for name, pair := range map[string][2][]float32{"mean": {ref.Mean, m.Mean}, "Cholesky factor": {ref.Cholesky, m.Cholesky}} {
			for i := range pair[0] {
				a, b := float64(pair[0][i]), float64(pair[1][i])
				if (exact && a != b) || !relClose(b, a, 1e-5) {
					t.Fatalf("%+v: %s[%d] = %v, reference fit %v", tc, name, i, b, a)
				}
			}
		}
	}
}

func TestFitErrors(t *testing.T) {
	ctx := context.Background()
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	for name, tc := range map[string]struct {
		ctx     context.Context
		cfg     FitConfig
		samples []datasets.Sample
	}{
		"one image":       {ctx, FitConfig{D: 3}, trainSamples(1)},
		"d too large":     {ctx, FitConfig{D: 13}, trainSamples(3)},
		"pca d too large": {ctx, FitConfig{Selection: SelectPCA, D: 13}, trainSamples(3)},
		"bad indices":     {ctx, FitConfig{Selection: SelectIndices, Indices: []int{1, 12}}, trainSamples(3)},
		"bad selection":   {ctx, FitConfig{Selection: "magic", D: 3}, trainSamples(3)},
		"unknown layer":   {ctx, FitConfig{D: 3, Layers: []string{"layer4"}}, trainSamples(3)},
		"bad image":       {ctx, FitConfig{D: 3}, []datasets.Sample{{Path: "x/img-1"}, {Path: "x/broken"}}},
		"canceled":        {canceled, FitConfig{D: 3}, trainSamples(3)},
	} {
		if _, err := Fit(tc.ctx, tc.cfg, fakeBackbone{}, tc.samples, fakeLoader{}, nil); err == nil {
			t.Errorf("%s: no error", name)
		} else if name == "canceled" && !errors.Is(err, context.Canceled) {
			t.Errorf("canceled: error %v is not context.Canceled", err)
		}
	}
}

func TestPCALoadsImagesTwice(t *testing.T) {
	var loads atomic.Int64
	if _, err := Fit(context.Background(), FitConfig{Selection: SelectPCA, D: 4}, fakeBackbone{}, trainSamples(6), fakeLoader{&loads}, nil); err != nil {
		t.Fatal(err)
	}
	if loads.Load() != 12 {
		t.Errorf("PCA fit loaded %d images, want 2 passes x 6", loads.Load())
	}
}

func TestScoreErrors(t *testing.T) {
	ctx := context.Background()
	m, err := Fit(ctx, FitConfig{D: 4}, fakeBackbone{}, trainSamples(5), fakeLoader{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Score(ctx, fakeBackbone{}, tensor.New(1, 3, 48, 48)); err == nil {
		t.Error("a different patch grid was accepted")
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.Score(canceled, fakeBackbone{}, loadBatch(t, "a/img-1")); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: %v", err)
	}
	other := *m
	other.Header.Backbone = "resnet18"
	if _, err := other.Score(ctx, fakeBackbone{}, loadBatch(t, "a/img-1")); err == nil {
		t.Error("a model of another backbone was accepted")
	}
}

// countingBackbone records the batch sizes the backbone is called with.
type countingBackbone struct {
	fakeBackbone
	calls *[]int
}

func (cb countingBackbone) Forward(x *tensor.Tensor, layers []string) (backbones.Features, error) {
	*cb.calls = append(*cb.calls, x.N)
	return cb.fakeBackbone.Forward(x, layers)
}

// A call with more images than ScoreBackboneBatch runs the backbone in
// chunks and scores every image as if it had been scored alone: the chunk
// boundaries must not shift any image's features or distances.
func TestScoreLargeBatchMatchesSingleImages(t *testing.T) {
	ctx := context.Background()
	for _, cfg := range []FitConfig{{D: 6, Seed: 3}, {Selection: SelectPCA, D: 5}} {
		t.Run(string(cfg.Selection), func(t *testing.T) {
			m, err := Fit(ctx, cfg, fakeBackbone{}, trainSamples(30), fakeLoader{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			n := 2*ScoreBackboneBatch + 3
			paths := make([]string, n)
			for i := range paths {
				paths[i] = fmt.Sprintf("test/img-%d", 2000+i)
				if i%5 == 2 {
					paths[i] = fmt.Sprintf("test/anomaly-%d", 2000+i)
				}
			}
			var calls []int
			all, err := m.Score(ctx, countingBackbone{calls: &calls}, loadBatch(t, paths...))
			if err != nil {
				t.Fatal(err)
			}
			if want := []int{ScoreBackboneBatch, ScoreBackboneBatch, 3}; fmt.Sprint(calls) != fmt.Sprint(want) {
				t.Errorf("backbone called with batches %v, want %v", calls, want)
			}
			for i, p := range paths {
				one, err := m.Score(ctx, fakeBackbone{}, loadBatch(t, p))
				if err != nil {
					t.Fatal(err)
				}
				if d := math.Abs(all[i].Score - one[0].Score); d > 1e-5*math.Abs(one[0].Score) {
					t.Fatalf("image %d (%s): score %v in the batch of %d, %v alone", i, p, all[i].Score, n, one[0].Score)
				}
				for j, v := range one[0].Map {
					if d := math.Abs(float64(all[i].Map[j] - v)); d > 1e-5*math.Abs(float64(v))+1e-6 {
						t.Fatalf("image %d pixel %d: %v in the batch, %v alone", i, j, all[i].Map[j], v)
					}
				}
			}
		})
	}
}
