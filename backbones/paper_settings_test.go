package backbones

import (
	"slices"
	"testing"
)

// TestPaperLayers pins the layers the PaDiM paper concatenates per backbone
// (Section 4.2 / Table 3): layer1-3 of the ResNets and EfficientNet-B5's
// layers 7, 20 and 26 (block6, block19, block25 counted from 0).
func TestPaperLayers(t *testing.T) {
	for name, want := range map[string][]string{
		"resnet18":        {"layer1", "layer2", "layer3"},
		"wide_resnet50_2": {"layer1", "layer2", "layer3"},
		"efficientnet_b5": {"block6", "block19", "block25"},
	} {
		spec, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(spec.PaDiMLayers, want) {
			t.Errorf("%s: PaDiM layers %q, want %q", name, spec.PaDiMLayers, want)
		}
	}
}
