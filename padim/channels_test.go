package padim

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestRandomChannels(t *testing.T) {
	for _, tc := range []struct {
		total, d int
		seed     uint64
	}{{448, 100, 0}, {1792, 550, 1}, {10, 10, 5}, {5, 1, 7}} {
		got, err := RandomChannels(tc.total, tc.d, tc.seed)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tc.d || !slices.IsSorted(got) || validateChannels(got, tc.total) != nil {
			t.Fatalf("%+v: %v is not %d sorted distinct indices", tc, got, tc.d)
		}
		again, _ := RandomChannels(tc.total, tc.d, tc.seed)
		if !slices.Equal(got, again) {
			t.Fatalf("%+v: same seed, different draw", tc)
		}
	}
	a, _ := RandomChannels(448, 100, 1)
	b, _ := RandomChannels(448, 100, 2)
	if slices.Equal(a, b) {
		t.Error("seeds 1 and 2 draw the same channels")
	}
	for _, bad := range [][2]int{{10, 0}, {10, 11}, {0, 1}} {
		if _, err := RandomChannels(bad[0], bad[1], 0); err == nil {
			t.Errorf("RandomChannels(%d, %d) accepted", bad[0], bad[1])
		}
	}
}

// Each channel should be drawn about d/total of the time over many seeds.
func TestRandomChannelsUniform(t *testing.T) {
	const total, d, seeds = 20, 5, 4000
	var count [total]int
	for s := uint64(0); s < seeds; s++ {
		idx, _ := RandomChannels(total, d, s)
		for _, c := range idx {
			count[c]++
		}
	}
	want := float64(seeds * d / total) // 1000, sd ~ 27
	for c, n := range count {
		if math.Abs(float64(n)-want) > 6*math.Sqrt(want) {
			t.Errorf("channel %d drawn %d times, expected about %v", c, n, want)
		}
	}
}

func TestReadChannelIndices(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, text string
		want       []int
	}{
		{"ok", "# kept channels\n5\n0\n\n  17 \n", []int{5, 0, 17}},
		{"dup", "1\n2\n1\n", nil},
		{"range", "1\n20\n", nil},
		{"negative", "-1\n", nil},
		{"text", "1\nfoo\n", nil},
		{"empty", "# nothing\n", nil},
	} {
		path := filepath.Join(dir, tc.name)
		os.WriteFile(path, []byte(tc.text), 0o644)
		got, err := ReadChannelIndices(path, 20)
		if tc.want == nil {
			if err == nil {
				t.Errorf("%s: accepted %v", tc.name, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	if _, err := ReadChannelIndices(filepath.Join(dir, "none"), 5); err == nil {
		t.Error("missing file accepted")
	}
}

// PCA against brute force: data with a planted covariance; the axes must
// be orthonormal, diagonalise the sample covariance (computed directly in
// float64 here) with decreasing variances that are its top eigenvalues.
func TestPrincipalAxes(t *testing.T) {
	const d, k, n = 6, 3, 400
	rng := rand.New(rand.NewPCG(1, 2))
	scales := []float64{0.5, 3, 1, 0.2, 2, 0.1}
	x := make([]float32, n*d)
	for i := 0; i < n; i++ {
		for c := 0; c < d; c++ {
			x[i*d+c] = float32(5 + scales[c]*rng.NormFloat64())
		}
		x[i*d+1] += 0.5 * x[i*d+4] // correlate two channels
	}
	acc := newCovarianceAccumulator(d)
	acc.add(x[:150*d], 150)
	acc.add(x[150*d:], n-150)
	axes, err := acc.principalAxes(k)
	if err != nil {
		t.Fatal(err)
	}
	var mean [d]float64
	for i := 0; i < n; i++ {
		for c := 0; c < d; c++ {
			mean[c] += float64(x[i*d+c]) / n
		}
	}
	var cov [d][d]float64
	for i := 0; i < n; i++ {
		for a := 0; a < d; a++ {
			for b := 0; b < d; b++ {
				cov[a][b] += (float64(x[i*d+a]) - mean[a]) * (float64(x[i*d+b]) - mean[b]) / (n - 1)
			}
		}
	}
	quad := func(j, l int) (s float64) { // axis_j^T cov axis_l
		for a := 0; a < d; a++ {
			for b := 0; b < d; b++ {
				s += float64(axes[a*k+j]) * cov[a][b] * float64(axes[b*k+l])
			}
		}
		return s
	}
	var trace float64
	for a := 0; a < d; a++ {
		trace += cov[a][a]
	}
	var captured float64
	for j := 0; j < k; j++ {
		for l := 0; l < k; l++ {
			var dot float64
			for a := 0; a < d; a++ {
				dot += float64(axes[a*k+j]) * float64(axes[a*k+l])
			}
			if want := map[bool]float64{true: 1, false: 0}[j == l]; math.Abs(dot-want) > 1e-5 {
				t.Errorf("axes %d.%d = %v", j, l, dot)
			}
			if j != l && math.Abs(quad(j, l)) > 1e-4 {
				t.Errorf("covariance between axes %d and %d = %v", j, l, quad(j, l))
			}
		}
		if j > 0 && quad(j, j) > quad(j-1, j-1) {
			t.Errorf("axis %d variance %v exceeds axis %d's %v", j, quad(j, j), j-1, quad(j-1, j-1))
		}
		captured += quad(j, j)
	}
	// Every unit vector orthogonal to the axes must have less variance than the last axis.
	last := quad(k-1, k-1)
	for c := 0; c < d; c++ {
		v := make([]float64, d)
		v[c] = 1
		for j := 0; j < k; j++ { // project out the axes
			var dot float64
			for a := 0; a < d; a++ {
				dot += v[a] * float64(axes[a*k+j])
			}
			for a := 0; a < d; a++ {
				v[a] -= dot * float64(axes[a*k+j])
			}
		}
		var norm, q float64
		for a := 0; a < d; a++ {
			norm += v[a] * v[a]
		}
		if norm < 1e-6 {
			continue
		}
		for a := 0; a < d; a++ {
			for b := 0; b < d; b++ {
				q += v[a] * cov[a][b] * v[b] / norm
			}
		}
		if q > last+1e-6 {
			t.Errorf("direction outside the axes has variance %v > last axis %v", q, last)
		}
	}
	if captured/trace < 0.8 {
		t.Errorf("top %d axes capture %.2f of the variance", k, captured/trace)
	}
}
