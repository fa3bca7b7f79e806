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
func BenchmarkScoreResNet18(b *testing.B) { benchScore(b, benchResNet18(b)) }

// benchScore fits bb on 16 noise images, then times Model.Score on 32 others.
func benchScore(b *testing.B, bb backbones.Backbone) {
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

// cannedBackbone returns ResNet-18's layer shapes at 224 x 224 filled with
// noise that depends on the input's first value, at almost no cost, so a
// benchmark through it times padim's own work.
type cannedBackbone struct{}

func (cannedBackbone) Name() string { return "canned" }

func (cannedBackbone) Layers() []backbones.Layer {
	return []backbones.Layer{{Name: "layer1", Channels: 64, Stride: 4}, {Name: "layer2", Channels: 128, Stride: 8}, {Name: "layer3", Channels: 256, Stride: 16}}
}

func (cb cannedBackbone) Forward(x *tensor.Tensor, layers []string) (backbones.Features, error) {
	f := backbones.Features{}
	for _, l := range cb.Layers() {
		t := tensor.New(x.N, l.Channels, x.H/l.Stride, x.W/l.Stride)
		for n := 0; n < x.N; n++ {
			rng := rand.New(rand.NewPCG(uint64(x.At(n, 0, 0, 0)*1e6), uint64(l.Stride)))
			img := t.Image(n).Data
			for i := range img {
				img[i] = float32(rng.Float64())
			}
		}
		f[l.Name] = t
	}
	return f, nil
}

// Model.Score on 32 images through cannedBackbone: embedding, Mahalanobis
// distances and maps, with the backbone's cost taken out.
func BenchmarkScoreCanned(b *testing.B) { benchScore(b, cannedBackbone{}) }
