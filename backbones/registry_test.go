package backbones

import (
	"testing"

	"github.com/padim-go/padim/internal/tensor"
)

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
