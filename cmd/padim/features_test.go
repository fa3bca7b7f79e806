package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/padim-go/padim/internal/testenv"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/internal/npy"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		h, w int
		ok   bool
	}{
		{"224x224", 224, 224, true},
		{"128X96", 128, 96, true},
		{"224", 0, 0, false},
		{"0x5", 0, 0, false},
		{"ax5", 0, 0, false},
		{"5x-1", 0, 0, false},
	}
	for _, tc := range tests {
		h, w, err := parseSize(tc.in)
		if (err == nil) != tc.ok || h != tc.h || w != tc.w {
			t.Errorf("parseSize(%q) = %d, %d, %v", tc.in, h, w, err)
		}
	}
}

// testDataDir is the shared real data (PADIM_DATA); see testenv.SharedData
// for when it skips and when it fails.
func testDataDir(t *testing.T) string {
	t.Helper()
	return testenv.SharedData(t)
}

// TestFeaturesCommand runs `padim features` on the shared ResNet-18 weights
// and a bottle image and checks each written .npy against a direct
// Open+Forward of the same preprocessed image (the backbone's own parity
// with torchvision is tested in package backbones).
func TestFeaturesCommand(t *testing.T) {
	data := testDataDir(t)
	weights := filepath.Join(data, "weights", "resnet18-imagenet-layer1to3.pth")
	image := filepath.Join(data, "mvtec_ad", "bottle", "test", "broken_large", "000.png")
	for _, tc := range []struct {
		size   string
		layers string
		want   []string
		pre    datasets.Preprocess
	}{
		{"", "", []string{"layer1", "layer2", "layer3"}, datasets.PaperPreprocess()},
		{"96x64", "layer2", []string{"layer2"}, datasets.Preprocess{Height: 96, Width: 64}},
	} {
		out := t.TempDir()
		var stdout bytes.Buffer
		o := featuresOptions{backbone: "resnet18", weights: weights, layers: tc.layers, size: tc.size, out: out}
		if err := runFeatures(&stdout, o, image); err != nil {
			t.Fatal(err)
		}
		x, err := tc.pre.Image(image)
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := backbones.Open("resnet18", weights, tc.want)
		if err != nil {
			t.Fatal(err)
		}
		feats, err := b.Forward(x, tc.want)
		if err != nil {
			t.Fatal(err)
		}
		entries, _ := os.ReadDir(out)
		if len(entries) != len(tc.want) {
			t.Fatalf("size %q: %d files written, want %d", tc.size, len(entries), len(tc.want))
		}
		for _, l := range tc.want {
			a, err := npy.ReadFile(filepath.Join(out, l+".npy"))
			if err != nil {
				t.Fatal(err)
			}
			f := feats[l]
			if !slices.Equal(a.Shape, []int{f.C, f.H, f.W}) || !slices.Equal(a.Float32, f.Data) {
				t.Fatalf("size %q %s: file %v differs from Forward %v", tc.size, l, a.Shape, f)
			}
		}
	}
	err := runFeatures(&bytes.Buffer{}, featuresOptions{backbone: "resnet18", weights: weights, layers: "layer4", out: t.TempDir()}, image)
	if err == nil {
		t.Fatal("layer4 from a file without layer4 succeeded")
	}
}
