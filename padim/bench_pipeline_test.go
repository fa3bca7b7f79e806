package padim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path"
	"strconv"
	"testing"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/internal/tensor"
)

// noiseLoader makes a 224 x 224 noise image from the number in its path,
// so the drivers' benchmarks read no files.
type noiseLoader struct{}

func (noiseLoader) Image(p string) (*tensor.Tensor, error) {
	seed, err := strconv.Atoi(path.Base(p))
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 3))
	t := tensor.New(1, 3, 224, 224)
	for i := range t.Data {
		t.Data[i] = float32(rng.NormFloat64())
	}
	return t, nil
}

func benchResNet18(b *testing.B) backbones.Backbone {
	bb, err := backbones.NewRandom("resnet18", 1)
	if err != nil {
		b.Fatal(err)
	}
	return bb
}

// Fit end to end on 16 images at the paper's ResNet-18 setting (random
// weights, d = 100): decoding, backbone, embedding, accumulation, Finalize.
func BenchmarkFitResNet18(b *testing.B) {
	bb := benchResNet18(b)
	samples := make([]datasets.Sample, 16)
	for i := range samples {
		samples[i].Path = fmt.Sprint("train/", i)
	}
	for b.Loop() {
		if _, err := Fit(context.Background(), FitConfig{D: 100, Seed: 1}, bb, samples, noiseLoader{}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// Model.Score on 32 images (backbone in batches of 8, one Mahalanobis call).
func BenchmarkScoreResNet18(b *testing.B) {
	bb := benchResNet18(b)
	samples := make([]datasets.Sample, 16)
	for i := range samples {
		samples[i].Path = fmt.Sprint("train/", i)
	}
	m, err := Fit(context.Background(), FitConfig{D: 100, Seed: 1}, bb, samples, noiseLoader{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	imgs := make([]*tensor.Tensor, 32)
	for i := range imgs {
		imgs[i], _ = noiseLoader{}.Image(fmt.Sprint("test/", 100+i))
	}
	x, err := tensor.Stack(imgs)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := m.Score(context.Background(), bb, x); err != nil {
			b.Fatal(err)
		}
	}
}
