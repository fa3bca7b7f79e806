package eval

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestFloatKeyOrder(t *testing.T) {
	ordered := []float32{
		float32(math.Inf(-1)), -math.MaxFloat32, -1, -math.SmallestNonzeroFloat32, 0,
		math.SmallestNonzeroFloat32, 1e-30, 0.5, 1, math.MaxFloat32, float32(math.Inf(1)),
	}
	for i := 1; i < len(ordered); i++ {
		if floatKey(ordered[i-1]) >= floatKey(ordered[i]) {
			t.Errorf("key(%v) >= key(%v)", ordered[i-1], ordered[i])
		}
	}
	for _, f := range ordered {
		if got := keyFloat(floatKey(f)); got != f {
			t.Errorf("keyFloat(floatKey(%v)) = %v", f, got)
		}
	}
	negZero := float32(math.Copysign(0, -1))
	if floatKey(negZero) != floatKey(0) {
		t.Error("-0 and +0 have different keys but compare equal")
	}
}

func TestRadixSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	// Sizes below and above the parallel threshold; narrow ranges exercise
	// the skipped passes.
	for _, n := range []int{0, 1, 7, 5000, 3*radixMinChunk + 17} {
		for _, span := range []uint32{1, 300, math.MaxUint32} {
			a := make([]uint32, n)
			for i := range a {
				a[i] = 1<<30 + rng.Uint32N(span)
			}
			want := slices.Clone(a)
			slices.Sort(want)
			if got := radixSort(a, make([]uint32, n), 0, 32); !slices.Equal(got, want) {
				t.Errorf("uint32 n=%d span=%d: not sorted", n, span)
			}
			// Sorting uint64 by the upper half must be stable: the lower half
			// (the original index) stays increasing within equal keys.
			b := make([]uint64, n)
			for i := range b {
				b[i] = uint64(1<<30+rng.Uint32N(span))<<32 | uint64(i)
			}
			got := radixSort(b, make([]uint64, n), 32, 64)
			if !slices.IsSorted(got) {
				t.Errorf("uint64 n=%d span=%d: not sorted by key then index", n, span)
			}
		}
	}
}
