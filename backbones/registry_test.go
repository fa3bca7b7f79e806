package backbones

import (
	"testing"

	"github.com/padim-go/padim/internal/tensor"
)

// TestPaDiMDims: the paper's d per backbone (Section 4.1: 100 of ResNet-18's
// 448 layer1-3 channels, 550 of Wide-ResNet-50-2's 1792, every channel of
// EfficientNet-B5), never more than the PaDiM layers provide.
func TestPaDiMDims(t *testing.T) {
	want := map[string]struct{ d, channels int }{"resnet18": {100, 448}, "wide_resnet50_2": {550, 1792}, "efficientnet_b5": {0, 0}}
	for _, name := range Names() {
		s, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, l := range s.Layers {
			for _, p := range s.PaDiMLayers {
				if l.Name == p {
					total += l.Channels
				}
			}
		}
		w, ok := want[name]
		if !ok {
			t.Errorf("%s: no expected d", name)
			continue
		}
		if s.PaDiMDims != w.d || (w.channels != 0 && total != w.channels) || s.PaDiMDims > total {
			t.Errorf("%s: d %d of %d channels, want %d of %d", name, s.PaDiMDims, total, w.d, w.channels)
		}
	}
}

// TestOutputSize: the traced size of every PaDiM layer equals what a
// forward pass of a randomly initialised network gives, at sizes no stride
// divides.
func TestOutputSize(t *testing.T) {
	for _, name := range Names() {
		b, err := NewRandom(name, 1)
		if err != nil {
			t.Fatal(err)
		}
		spec, _ := Lookup(name)
		for _, hw := range [][2]int{{64, 96}, {65, 71}, {37, 100}} {
			x := tensor.New(1, 3, hw[0], hw[1])
			f, err := b.Forward(x, spec.PaDiMLayers)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range spec.PaDiMLayers {
				h, w, err := OutputSize(name, l, hw[0], hw[1])
				if err != nil {
					t.Fatal(err)
				}
				if h != f[l].H || w != f[l].W {
					t.Errorf("%s %s at %dx%d: OutputSize %dx%d, forward %dx%d", name, l, hw[0], hw[1], h, w, f[l].H, f[l].W)
				}
			}
		}
	}
	if _, _, err := OutputSize("resnet18", "layer9", 64, 64); err == nil {
		t.Error("unknown layer: no error")
	}
}
