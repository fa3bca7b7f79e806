package backbones

import (
	"github.com/padim-go/padim/internal/tensor"
	"slices"
	"sort"
	"strings"
	"testing"
)

// parityTol is the largest max|go - torch| / max|torch| accepted.
const parityTol = 1e-4

// TestParamsMatchTorchvision proves the state-dict names and shapes the Go
// architectures read are exactly torchvision's, in torchvision's order,
// minus the classifier head (fc, classifier, and EfficientNet's features.8).
func TestParamsMatchTorchvision(t *testing.T) {
	m, _ := readManifest(t)
	head := []string{"fc.", "classifier.", "features.8."}
	for _, model := range Names() {
		t.Run(model, func(t *testing.T) {
			torch, ok := m.Params[model]
			if !ok {
				t.Fatalf("manifest has no params for %s", model)
			}
			var want []fixtureParam
			for _, p := range torch {
				if !slices.ContainsFunc(head, func(h string) bool { return strings.HasPrefix(p.Name, h) }) {
					want = append(want, p)
				}
			}
			n, err := build(model)
			if err != nil {
				t.Fatal(err)
			}
			got := n.params(len(n.steps))
			if len(got) != len(want) {
				t.Fatalf("Go reads %d tensors, torchvision has %d (without the head)", len(got), len(want))
			}
			for i, p := range got {
				if p.name != want[i].Name || !slices.Equal(p.shape, want[i].Shape) {
					t.Fatalf("tensor %d: Go %s %v, torchvision %s %v", i, p.name, p.shape, want[i].Name, want[i].Shape)
				}
			}
		})
	}
}

// TestSyntheticParity runs each architecture with the fixture script's
// formula weights and compares every stored layer with torchvision.
// TestSyntheticParity also proves that no layer reads its output buffer
// before writing it: recycled buffers are NaN-filled, and the network runs
// twice so that the second pass gets its intermediates back from the first.
func TestSyntheticParity(t *testing.T) {
	defer tensor.SetPoisonRecycled(tensor.SetPoisonRecycled(true))
	m, dir := readManifest(t)
	for _, c := range m.Cases {
		if c.Kind != "synthetic" {
			continue
		}
		t.Run(c.Model, func(t *testing.T) {
			if testing.Short() && c.Model == "wide_resnet50_2" {
				t.Skip("-short: the largest network is checked in the full run (make test runs it without -short)")
			}
			layers := make([]string, 0, len(c.Outputs))
			for l := range c.Outputs {
				layers = append(layers, l)
			}
			sort.Strings(layers)
			b, err := Load(c.Model, formulaStateDict(t, c.Model), layers)
			if err != nil {
				t.Fatal(err)
			}
			in := formulaInput(m.InputShape)
			if _, err := b.Forward(in, layers); err != nil {
				t.Fatal(err)
			}
			feats, err := b.Forward(in, layers)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range layers {
				want := readArray(t, m, dir, c.Outputs[l])
				e, err := relErr(feats[l], want)
				if err != nil {
					t.Errorf("%s: %v", l, err)
					continue
				}
				t.Logf("%s %s %v: max|go-torch|/max|torch| = %.2e", c.Model, l, want.Shape(), e)
				if e > parityTol {
					t.Errorf("%s: relative error %.3g > %g", l, e, parityTol)
				}
			}
		})
	}
}
