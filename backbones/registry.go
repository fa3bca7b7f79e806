package backbones

import (
	"fmt"
	"sort"
	"strings"
)

// Weights says where a backbone's official ImageNet weights come from.
type Weights struct {
	// URL is the torchvision download address.
	URL string
	// File is the file name torchvision caches the weights under.
	File string
	// SHA256 is the hex SHA-256 of File: the full 64-digit digest where it
	// is known, otherwise the 8-digit prefix torchvision writes into the
	// file name (a downloader compares the prefix only).
	SHA256 string
	// Source names the torchvision weights enum entry.
	Source string
}

// Spec describes one registered backbone.
type Spec struct {
	Name string
	// Layers lists every layer Forward can return, shallowest first, with
	// channels and stride (input pixels per feature cell).
	Layers []Layer
	// PaDiMLayers are the layers the PaDiM paper concatenates for this
	// backbone, shallowest first.
	PaDiMLayers []string
	// PaDiMDims is the embedding size d the paper keeps for this backbone
	// (a random subset of the PaDiMLayers channels); 0 keeps them all, as
	// the paper does for EfficientNet-B5.
	PaDiMDims int
	Weights   Weights
}

type entry struct {
	spec  Spec
	build func() *network
}

var registry = map[string]entry{
	"resnet18": {
		spec: Spec{
			Name:        "resnet18",
			PaDiMLayers: []string{"layer1", "layer2", "layer3"},
			PaDiMDims:   100,
			Weights: Weights{
				URL:    "https://download.pytorch.org/models/resnet18-f37072fd.pth",
				File:   "resnet18-f37072fd.pth",
				SHA256: "f37072fd47e89c5e827621c5baffa7500819f7896bbacec160b1a16c560e07ec",
				Source: "torchvision ResNet18_Weights.IMAGENET1K_V1",
			},
		},
		build: func() *network {
			return newResNet("resnet18", resnetConfig{blocks: [4]int{2, 2, 2, 2}, widthPerGroup: 64})
		},
	},
	"wide_resnet50_2": {
		spec: Spec{
			Name:        "wide_resnet50_2",
			PaDiMLayers: []string{"layer1", "layer2", "layer3"},
			PaDiMDims:   550,
			Weights: Weights{
				URL:    "https://download.pytorch.org/models/wide_resnet50_2-95faca4d.pth",
				File:   "wide_resnet50_2-95faca4d.pth",
				SHA256: "95faca4d11227dddf8633dbb5ff6c8a9003c1aa5b8945c73834b8007b10950b8",
				Source: "torchvision Wide_ResNet50_2_Weights.IMAGENET1K_V1",
			},
		},
		build: func() *network {
			return newResNet("wide_resnet50_2", resnetConfig{bottleneck: true, blocks: [4]int{3, 4, 6, 3}, widthPerGroup: 128})
		},
	},
	"efficientnet_b5": {
		spec: Spec{
			Name: "efficientnet_b5",
			// The paper's "layers 7 (level 2), 20 (level 4) and 26 (level 5)"
			// count MBConv blocks from 1; see doc.go.
			PaDiMLayers: []string{"block6", "block19", "block25"},
			Weights: Weights{
				URL:  "https://download.pytorch.org/models/efficientnet_b5_lukemelas-b6417697.pth",
				File: "efficientnet_b5_lukemelas-b6417697.pth",
				// Prefix only: the full digest of torchvision's re-keyed file
				// was not found. (b6417697 is also the prefix of lukemelas's
				// original efficientnet-b5-b6417697.pth, whose keys differ.)
				SHA256: "b6417697",
				Source: "torchvision EfficientNet_B5_Weights.IMAGENET1K_V1",
			},
		},
		build: func() *network { return newEfficientNet("efficientnet_b5", 1.6, 2.2) },
	},
}

// Names lists the registered backbones in alphabetical order.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup returns the description of the named backbone.
func Lookup(name string) (Spec, error) {
	e, ok := registry[name]
	if !ok {
		return Spec{}, fmt.Errorf("backbones: unknown backbone %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	s := e.spec
	s.Layers = e.build().Layers()
	s.PaDiMLayers = append([]string(nil), s.PaDiMLayers...)
	return s, nil
}

// build lays out the named architecture without allocating weights.
func build(name string) (*network, error) {
	e, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("backbones: unknown backbone %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return e.build(), nil
}

// OutputSize returns the height and width of the named layer's output for an
// h x w input, traced through the architecture's steps (no weights are
// read): the grid a model fitted on that layer has, checkable before any
// image is run.
func OutputSize(name, layer string, h, w int) (int, int, error) {
	n, err := build(name)
	if err != nil {
		return 0, 0, err
	}
	last, ok := n.at[layer]
	if !ok {
		return 0, 0, fmt.Errorf("backbones: %s has no layer %q", name, layer)
	}
	for _, s := range n.steps[:last+1] {
		_, h, w = s.flops(h, w)
	}
	return h, w, nil
}
