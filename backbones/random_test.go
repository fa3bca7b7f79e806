package backbones

import (
	"math"
	"slices"
	"testing"

	"github.com/padim-go/padim/internal/tensor"
)

func TestNewRandom(t *testing.T) {
	a, err := NewRandom("resnet18", 7)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewRandom("resnet18", 7)
	c, _ := NewRandom("resnet18", 8)
	if _, err := NewRandom("no-such-net", 1); err == nil {
		t.Error("unknown backbone: no error")
	}
	// Every unit's weights have the He standard deviation sqrt(2/fan_in)
	// within sampling error, and are identical for equal seeds.
	na, nb, nc := a.(*network), b.(*network), c.(*network)
	for si, s := range na.steps {
		for ui, u := range s.units() {
			w := u.conv.Weight
			if !slices.Equal(w, nb.steps[si].units()[ui].conv.Weight) {
				t.Fatalf("%s: same seed, different weights", u.name)
			}
			if slices.Equal(w, nc.steps[si].units()[ui].conv.Weight) {
				t.Fatalf("%s: different seeds, same weights", u.name)
			}
			var ss float64
			for _, v := range w {
				ss += float64(v) * float64(v)
			}
			std := math.Sqrt(ss / float64(len(w)))
			want := math.Sqrt(2 / float64(u.conv.InC/u.conv.Groups*u.conv.KH*u.conv.KW))
			// relative sampling error of a std estimate is ~1/sqrt(2n)
			if tol := 5 / math.Sqrt(2*float64(len(w))); math.Abs(std/want-1) > tol {
				t.Errorf("%s: weight std %.4g, want %.4g (tol %.2g)", u.name, std, want, tol)
			}
		}
	}
	// Features vary over positions and channels (New's are constant).
	x := tensor.New(1, 3, 64, 64)
	for i := range x.Data {
		x.Data[i] = float32(math.Sin(float64(i)))
	}
	f, err := a.Forward(x, []string{"layer1", "layer3"})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"layer1", "layer3"} {
		d := f[l].Data
		lo, hi := slices.Min(d), slices.Max(d)
		if !(hi > lo) || math.IsInf(float64(hi), 0) || math.IsNaN(float64(hi)) {
			t.Errorf("%s: features span [%g, %g], want a finite non-empty range", l, lo, hi)
		}
	}
}
