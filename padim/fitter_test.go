package padim

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/internal/tensor"
)

// featuresOf runs fakeBackbone on the training images first..first+n-1.
func featuresOf(t *testing.T, first, n int, layers []string) backbones.Features {
	t.Helper()
	paths := make([]string, n)
	for i := range paths {
		paths[i] = trainSamples(first + n)[first+i].Path
	}
	f, err := fakeBackbone{}.Forward(loadBatch(t, paths...), layers)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// A Fitter fed features directly, in batches other than Fit's, gives the
// model Fit gives from the files: the same header and bit-identical means,
// factors and PCA axes (the sums are grouped by AccumulateImages, not by
// batch). ScoreFeatures on the backbone's features gives Score's results.
func TestFitterMatchesFit(t *testing.T) {
	ctx := context.Background()
	for _, cfg := range []FitConfig{
		{Selection: SelectRandom, D: 6, Seed: 3, AccumulateImages: 4},
		{Selection: SelectIndices, Indices: []int{11, 0, 7, 5, 9}},
		{Selection: SelectPCA, D: 5, AccumulateImages: 3},
	} {
		t.Run(string(cfg.Selection), func(t *testing.T) {
			want, err := Fit(ctx, cfg, fakeBackbone{}, trainSamples(10), fakeLoader{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			fitter, err := NewFitter(cfg, fakeBackbone{}.Name(), fakeBackbone{}.Layers())
			if err != nil {
				t.Fatal(err)
			}
			wantPasses := 1
			if cfg.Selection == SelectPCA {
				wantPasses = 2
			}
			if fitter.Passes() != wantPasses {
				t.Fatalf("%d passes, want %d", fitter.Passes(), wantPasses)
			}
			for pass := 0; pass < fitter.Passes(); pass++ {
				if pass > 0 {
					if err := fitter.EndPass(); err != nil {
						t.Fatal(err)
					}
				}
				for _, b := range [][2]int{{0, 3}, {3, 3}, {6, 4}} {
					if err := fitter.Add(featuresOf(t, b[0], b[1], fitter.Layers())); err != nil {
						t.Fatal(err)
					}
				}
			}
			got, err := fitter.Model()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Header, want.Header) {
				t.Errorf("header %+v, Fit's %+v", got.Header, want.Header)
			}
			if !slices.Equal(got.Mean, want.Mean) || !slices.Equal(got.Cholesky, want.Cholesky) || !slices.Equal(got.PCA, want.PCA) {
				t.Error("means, factors or PCA axes differ from Fit's")
			}

			imgs := loadBatch(t, "t/img-100", "t/anomaly-101", "t/img-102")
			viaScore, err := want.Score(ctx, fakeBackbone{}, imgs)
			if err != nil {
				t.Fatal(err)
			}
			f, err := fakeBackbone{}.Forward(imgs, want.Header.Layers)
			if err != nil {
				t.Fatal(err)
			}
			viaFeatures, err := got.ScoreFeatures(ctx, f, imgs.H, imgs.W)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := got.ScoreFeatures(ctx, f, 0, imgs.W); err == nil {
				t.Error("ScoreFeatures accepted a 0-pixel-high map")
			}
			delete(f, "layer2")
			if _, err := got.ScoreFeatures(ctx, f, imgs.H, imgs.W); err == nil || !strings.Contains(err.Error(), `no layer "layer2"`) {
				t.Errorf("features without layer2: error %v", err)
			}
			if !reflect.DeepEqual(viaFeatures, viaScore) {
				t.Error("ScoreFeatures differs from Score")
			}
			if viaScore[1].Score <= viaScore[0].Score {
				t.Errorf("anomalous image scores %v, normal %v", viaScore[1].Score, viaScore[0].Score)
			}
		})
	}
}

// Misuse of a Fitter is an error, never a panic or a wrong model.
func TestFitterErrors(t *testing.T) {
	bb := fakeBackbone{}
	newFitter := func(cfg FitConfig) *Fitter {
		f, err := NewFitter(cfg, bb.Name(), bb.Layers())
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	wantErr := func(what string, err error, want string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one saying %q", what, err, want)
		}
	}

	pca := newFitter(FitConfig{Selection: SelectPCA, D: 4})
	if err := pca.Add(featuresOf(t, 0, 3, pca.Layers())); err != nil {
		t.Fatal(err)
	}
	_, err := pca.Model()
	wantErr("Model in the first of two passes", err, "call EndPass")
	if err := pca.EndPass(); err != nil {
		t.Fatal(err)
	}
	wantErr("EndPass in the last pass", pca.EndPass(), "call Model")

	one := newFitter(FitConfig{D: 4})
	_, err = one.Model()
	wantErr("EndPass of a one-pass fit", one.EndPass(), "call Model")
	wantErr("Model without features", err, "have 0")

	f := newFitter(FitConfig{D: 4})
	wantErr("missing layer", f.Add(featuresOf(t, 0, 2, []string{"layer1", "layer2"})), `no "layer3" features`)
	if err := f.Add(featuresOf(t, 0, 2, f.Layers())); err != nil {
		t.Fatal(err)
	}
	other, err := bb.Forward(tensor.New(1, 3, 64, 64), f.Layers())
	if err != nil {
		t.Fatal(err)
	}
	wantErr("other image size", f.Add(other), "image 0 of the batch gives a 16x16 grid, earlier images 8x8")
	if _, err := f.Model(); err != nil {
		t.Fatal(err)
	}
	wantErr("Add after Model", f.Add(featuresOf(t, 0, 2, f.Layers())), "after Model")
	_, err = f.Model()
	wantErr("Model twice", err, "after Model")
}
