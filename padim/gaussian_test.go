package padim

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/padim-go/padim/internal/testenv"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/internal/tensor"
)

func tensorFrom(t *testing.T, m *testenv.Manifest, name string) *tensor.Tensor {
	t.Helper()
	s := m.Arrays[name].Shape
	x, err := tensor.FromData(s[0], s[1], s[2], s[3], m.Array32(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// The reference code's embedding_concat (unfold / cat / fold), applied to
// layer1|layer2 and then to layer3, must equal our nearest-cell gather.
func TestEmbeddingMatchesReferenceConcat(t *testing.T) {
	m := testenv.LoadManifest(t, "testdata/padim")
	f := backbones.Features{
		"layer1": tensorFrom(t, m, "concat_layer1"),
		"layer2": tensorFrom(t, m, "concat_layer2"),
		"layer3": tensorFrom(t, m, "concat_layer3"),
	}
	avail := []backbones.Layer{{Name: "layer1", Channels: 3, Stride: 4}, {Name: "layer2", Channels: 4, Stride: 8}, {Name: "layer3", Channels: 2, Stride: 16}}
	want := m.Array(t, "concat_embedding") // B x 9 x 8 x 8
	for _, keep := range [][]int{nil, {0, 4, 8}, {8, 1, 5, 3}} {
		e, err := newEmbedding(avail, []string{"layer1", "layer2", "layer3"}, keep)
		if err != nil {
			t.Fatal(err)
		}
		n, h, w, err := e.grid(f)
		if err != nil || n != 2 || h != 8 || w != 8 {
			t.Fatalf("grid = %d %d %d %v", n, h, w, err)
		}
		cols := keep
		if cols == nil {
			cols = []int{0, 1, 2, 3, 4, 5, 6, 7, 8}
		}
		d := len(cols)
		for b := 0; b < n; b++ {
			got := make([]float32, h*w*d)
			gather(f, e.refs, b, h, w, got, d)
			for p := 0; p < h*w; p++ {
				for j, c := range cols {
					if wv := want[(b*9+c)*h*w+p]; float64(got[p*d+j]) != wv {
						t.Fatalf("keep %v image %d position %d channel %d: %v, torch %v", keep, b, p, c, got[p*d+j], wv)
					}
				}
			}
		}
	}
}

func TestEmbeddingRejectsBadFeatures(t *testing.T) {
	avail := []backbones.Layer{{Name: "layer1", Channels: 2, Stride: 4}, {Name: "layer2", Channels: 3, Stride: 8}}
	e, err := newEmbedding(avail, []string{"layer1", "layer2"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]backbones.Features{
		"missing layer":  {"layer1": tensor.New(1, 2, 8, 8)},
		"wrong channels": {"layer1": tensor.New(1, 2, 8, 8), "layer2": tensor.New(1, 4, 4, 4)},
		"no tiling":      {"layer1": tensor.New(1, 2, 8, 8), "layer2": tensor.New(1, 3, 3, 3)},
		"uneven factor":  {"layer1": tensor.New(1, 2, 8, 8), "layer2": tensor.New(1, 3, 4, 8)},
		"batch mismatch": {"layer1": tensor.New(1, 2, 8, 8), "layer2": tensor.New(2, 3, 4, 4)},
	} {
		if _, _, _, err := e.grid(f); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	for name, tc := range map[string]struct {
		layers []string
		keep   []int
	}{
		"unknown layer": {[]string{"layer9"}, nil},
		"dup layer":     {[]string{"layer1", "layer1"}, nil},
		"out of range":  {[]string{"layer1", "layer2"}, []int{5}},
		"dup channel":   {[]string{"layer1", "layer2"}, []int{1, 1}},
		"negative":      {[]string{"layer1"}, []int{-1}},
	} {
		if _, err := newEmbedding(avail, tc.layers, tc.keep); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// positionMajor reorders an N x P x d array into P x N x d float64.
func positionMajor(x []float64, n, p, d int) []float64 {
	out := make([]float64, len(x))
	for i := 0; i < n; i++ {
		for q := 0; q < p; q++ {
			copy(out[(q*n+i)*d:(q*n+i+1)*d], x[(i*p+q)*d:(i*p+q+1)*d])
		}
	}
	return out
}

// fitInChunks streams the N x P x d training vectors through an accumulator
// chunk images at a time.
func fitInChunks(t *testing.T, train []float64, n, p, d, chunk, workers int) ([]float32, []float32) {
	t.Helper()
	acc, err := NewGaussianAccumulator(p, d, workers)
	if err != nil {
		t.Fatal(err)
	}
	for s := 0; s < n; s += chunk {
		k := min(chunk, n-s)
		if err := acc.Add(positionMajor(train[s*p*d:(s+k)*p*d], k, p, d), k); err != nil {
			t.Fatal(err)
		}
	}
	if acc.N() != n {
		t.Fatalf("N = %d, want %d", acc.N(), n)
	}
	mean, inv, err := acc.Finalize(0.01)
	if err != nil {
		t.Fatal(err)
	}
	return mean, inv
}

func relClose(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*(1+math.Abs(want))
}

// Mean, regularised covariance inverse (formed here from the stored
// Cholesky factor) and Mahalanobis distance against numpy (np.cov + 0.01 I,
// np.linalg.inv) and scipy.spatial.distance.mahalanobis.
func TestGaussianMatchesNumpy(t *testing.T) {
	m := testenv.LoadManifest(t, "testdata/padim")
	for _, name := range []string{"gauss_fit", "gauss_fit_n_lt_d"} {
		c := m.Cases[name]
		n, p, d, nt := int(c["n"]), int(c["positions"]), int(c["d"]), int(c["ntest"])
		train := m.Array(t, name+"_train")
		wantMean, wantInv, wantDist := m.Array(t, name+"_mean"), m.Array(t, name+"_inv"), m.Array(t, name+"_dist")
		test32 := m.Array32(t, name+"_test")
		for _, chunk := range []int{1, 2, n} {
			mean, chol := fitInChunks(t, train, n, p, d, chunk, 2)
			for i, w := range wantMean {
				if !relClose(float64(mean[i]), w, 1e-6) {
					t.Fatalf("%s chunk %d: mean[%d] = %v, numpy %v", name, chunk, i, mean[i], w)
				}
			}
			for q := 0; q < p; q++ {
				full := inverseFromCholesky(chol[q*packedLen(d):(q+1)*packedLen(d)], d)
				for i := 0; i < d*d; i++ {
					if w := wantInv[q*d*d+i]; !relClose(float64(full[i]), w, 1e-5) {
						t.Fatalf("%s chunk %d: position %d inverse[%d] = %v, numpy %v", name, chunk, q, i, full[i], w)
					}
				}
			}
			x := make([]float32, len(test32))
			for i := 0; i < nt; i++ {
				for q := 0; q < p; q++ {
					copy(x[(q*nt+i)*d:(q*nt+i+1)*d], test32[(i*p+q)*d:(i*p+q+1)*d])
				}
			}
			dist, err := Mahalanobis(context.Background(), mean, chol, p, d, x, nt, 3)
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range wantDist {
				if !relClose(float64(dist[i]), w, 1e-4) {
					t.Fatalf("%s chunk %d: dist[%d] = %v, scipy %v", name, chunk, i, dist[i], w)
				}
			}
		}
	}
}

// The worker count must not change a single bit; chunking may only move
// float64 rounding.
func TestAccumulatorDeterminism(t *testing.T) {
	m := testenv.LoadManifest(t, "testdata/padim")
	c := m.Cases["gauss_fit"]
	n, p, d := int(c["n"]), int(c["positions"]), int(c["d"])
	train := m.Array(t, "gauss_fit_train")
	mean1, chol1 := fitInChunks(t, train, n, p, d, 4, 1)
	mean3, chol3 := fitInChunks(t, train, n, p, d, 4, 3)
	for i := range mean1 {
		if mean1[i] != mean3[i] {
			t.Fatalf("mean[%d] differs between 1 and 3 workers", i)
		}
	}
	for i := range chol1 {
		if chol1[i] != chol3[i] {
			t.Fatalf("Cholesky factor[%d] differs between 1 and 3 workers", i)
		}
	}
}

func TestAccumulatorErrors(t *testing.T) {
	if _, err := NewGaussianAccumulator(0, 3, 1); err == nil {
		t.Error("zero positions accepted")
	}
	acc, err := NewGaussianAccumulator(2, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := acc.Add(make([]float64, 5), 1); err == nil {
		t.Error("short Add accepted")
	}
	if err := acc.Add([]float64{1, 2, 3, 4, 5, 6}, 1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := acc.Finalize(0.01); err == nil {
		t.Error("N = 1 accepted")
	}
	if err := acc.Add([]float64{1, 2, 4, 4, 5, 7}, 1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := acc.Finalize(-1); err == nil {
		t.Error("negative eps accepted")
	}
	// Two identical-in-one-coordinate vectors, eps 0: singular covariance.
	if _, _, err := acc.Finalize(0); err == nil {
		t.Error("singular covariance with eps 0 accepted")
	}
}

// Hand-worked: d = 1, samples 1 and 3: mean 2, variance 2 (+0.01), so the
// Cholesky factor is sqrt(2.01) and x = 5 lies 3/sqrt(2.01) away.
func TestMahalanobisHandWorked(t *testing.T) {
	acc, _ := NewGaussianAccumulator(1, 1, 1)
	acc.Add([]float64{1, 3}, 2)
	mean, chol, err := acc.Finalize(0.01)
	if err != nil {
		t.Fatal(err)
	}
	if mean[0] != 2 || !relClose(float64(chol[0]), math.Sqrt(2.01), 1e-7) {
		t.Fatalf("mean %v Cholesky factor %v", mean, chol)
	}
	dist, err := Mahalanobis(context.Background(), mean, chol, 1, 1, []float32{5, 2}, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !relClose(float64(dist[0]), 3/math.Sqrt(2.01), 1e-6) || dist[1] != 0 {
		t.Fatalf("dist = %v", dist)
	}
}

// Distance map to score: bilinear to 32x32, blur sigma 4, max, as the
// reference main.py does with F.interpolate and gaussian_filter.
func TestAnomalyMapMatchesReference(t *testing.T) {
	m := testenv.LoadManifest(t, "testdata/padim")
	dist := m.Array32(t, "scoremap_dist")
	maps, scores := m.Array(t, "scoremap_maps"), m.Array(t, "scoremap_scores")
	for b := 0; b < 2; b++ {
		r := AnomalyMap(dist[b*64:(b+1)*64], 8, 8, 32, 32)
		if r.H != 32 || r.W != 32 {
			t.Fatalf("map %dx%d", r.H, r.W)
		}
		for i, v := range r.Map {
			if !relClose(float64(v), maps[b*1024+i], 2e-6) {
				t.Fatalf("image %d map[%d] = %v, reference %v", b, i, v, maps[b*1024+i])
			}
		}
		if !relClose(r.Score, scores[b], 2e-6) {
			t.Fatalf("image %d score %v, reference %v", b, r.Score, scores[b])
		}
	}
}

// unpackCholesky expands a packed float32 upper-triangular factor into a
// full float64 d x d matrix, zeros below the diagonal.
func unpackCholesky(packed []float32, d int) []float64 {
	u := make([]float64, d*d)
	off := 0
	for r := 0; r < d; r++ {
		for c := r; c < d; c++ {
			u[r*d+c] = float64(packed[off+c-r])
		}
		off += d - r
	}
	return u
}

// inverseFromCholesky is Sigma^-1 = U^-1 U^-T in float64 for the packed
// float32 factor U of Sigma = U^T U: the inverse the model stands for.
func inverseFromCholesky(packed []float32, d int) []float64 {
	u := unpackCholesky(packed, d)
	w := make([]float64, d*d) // U^-1, upper triangular, by back substitution
	for j := 0; j < d; j++ {
		for i := j; i >= 0; i-- {
			s := 0.0
			if i == j {
				s = 1
			}
			for k := i + 1; k <= j; k++ {
				s -= u[i*d+k] * w[k*d+j]
			}
			w[i*d+j] = s / u[i*d+i]
		}
	}
	inv := make([]float64, d*d)
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			var s float64
			for k := max(i, j); k < d; k++ {
				s += w[i*d+k] * w[j*d+k]
			}
			inv[i*d+j] = s
		}
	}
	return inv
}

// TestMahalanobisCorrelated compares Mahalanobis (a float32 triangular
// solve) with a float64 brute force x^T A x, A the inverse of the same
// float32 factor formed in float64, for strongly correlated features
// (condition number about 1e4).
func TestMahalanobisCorrelated(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, tc := range []struct{ d, n, k int }{{5, 40, 3}, {64, 200, 8}, {130, 300, 5}} {
		const positions = 3
		x := make([]float64, positions*tc.n*tc.d)
		for i := 0; i < positions*tc.n; i++ {
			common := rng.NormFloat64()
			for c := 0; c < tc.d; c++ {
				// every channel is mostly one shared factor plus 1% noise
				x[i*tc.d+c] = 10 + common + 0.01*rng.NormFloat64()*float64(c+1)
			}
		}
		acc, _ := NewGaussianAccumulator(positions, tc.d, 2)
		if err := acc.Add(x, tc.n); err != nil {
			t.Fatal(err)
		}
		mean, chol, err := acc.Finalize(1e-4)
		if err != nil {
			t.Fatal(err)
		}
		test := make([]float32, positions*tc.k*tc.d)
		for i := range test {
			test[i] = float32(10 + rng.NormFloat64())
		}
		dist, err := Mahalanobis(context.Background(), mean, chol, positions, tc.d, test, tc.k, 2)
		if err != nil {
			t.Fatal(err)
		}
		for p := 0; p < positions; p++ {
			full := inverseFromCholesky(chol[p*packedLen(tc.d):(p+1)*packedLen(tc.d)], tc.d)
			for i := 0; i < tc.k; i++ {
				v := test[(p*tc.k+i)*tc.d : (p*tc.k+i+1)*tc.d]
				var q float64
				for r := 0; r < tc.d; r++ {
					for c := 0; c < tc.d; c++ {
						q += (float64(v[r]) - float64(mean[p*tc.d+r])) * full[r*tc.d+c] * (float64(v[c]) - float64(mean[p*tc.d+c]))
					}
				}
				want := math.Sqrt(q)
				if got := float64(dist[i*positions+p]); math.Abs(got-want) > 1e-4*want {
					t.Errorf("d=%d position %d vector %d: distance %v, brute force %v (rel. error %.1e)", tc.d, p, i, got, want, math.Abs(got-want)/want)
				}
			}
		}
	}
}

// gramLen and the panel offsets must cover every upper-triangle entry
// exactly once as (row, column >= row) pairs, for d on both sides of the
// panel height.
func TestGramLayoutCoversUpperTriangle(t *testing.T) {
	for _, d := range []int{1, 2, gramPanel - 1, gramPanel, gramPanel + 1, 2*gramPanel + 5, 550} {
		seen := make([]int, d*d)
		off, slots := 0, 0
		for r0 := 0; r0 < d; r0 += gramPanel {
			r1 := min(r0+gramPanel, d)
			w := d - r0
			for r := r0; r < r1; r++ {
				for c := r0; c < d; c++ {
					slots++
					if c >= r {
						seen[r*d+c]++
					}
				}
			}
			off += (r1 - r0) * w
		}
		if off != gramLen(d) || slots != gramLen(d) {
			t.Fatalf("d=%d: panels hold %d (%d slots), gramLen %d", d, off, slots, gramLen(d))
		}
		for r := 0; r < d; r++ {
			for c := r; c < d; c++ {
				if seen[r*d+c] != 1 {
					t.Fatalf("d=%d: entry (%d,%d) stored %d times", d, r, c, seen[r*d+c])
				}
			}
		}
		if gramLen(d) < packedLen(d) || float64(gramLen(d)) > 1.07*float64(packedLen(d))+float64(gramPanel*gramPanel) {
			t.Errorf("d=%d: gramLen %d vs packed %d", d, gramLen(d), packedLen(d))
		}
	}
}

// Finalize writes position p's float32 result over the float64 sums of
// positions up to lastOverlapped(p): checked against the byte intervals.
func TestLastOverlapped(t *testing.T) {
	for _, d := range []int{1, 3, 32, 100, 550} {
		packed, gram := packedLen(d), gramLen(d)
		for p := 0; p < 300; p++ {
			lo, hi := p*packed*4, (p+1)*packed*4 // result bytes [lo, hi)
			want := -1
			for q := 0; q <= p+1; q++ {
				if q*gram*8 < hi && (q+1)*gram*8 > lo {
					want = q
				}
			}
			if got := lastOverlapped(p, packed, gram); got != want || got > p {
				t.Fatalf("d=%d p=%d: lastOverlapped %d, byte intervals say %d", d, p, got, want)
			}
		}
	}
}

// Against a float64 brute force, for dimensions around the panel height and
// enough positions that concurrent workers write results over sums other
// workers are still reading: mean exact to float32 rounding, and U^T U of
// the float32 factor close to the brute-force covariance Sigma.
func TestFinalizeMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, tc := range []struct{ positions, d, n, chunk, workers int }{
		{1, 1, 3, 3, 1}, {5, gramPanel - 1, 40, 16, 2}, {300, gramPanel, 50, 20, 4},
		{200, gramPanel + 1, 45, 45, 3}, {40, 2*gramPanel + 7, 120, 64, 2}, {3, 130, 60, 7, 3},
	} {
		x := make([]float64, tc.positions*tc.n*tc.d) // position-major
		for i := range x {
			x[i] = 5 + rng.NormFloat64()*float64(1+i%tc.d%3)
		}
		acc, err := NewGaussianAccumulator(tc.positions, tc.d, tc.workers)
		if err != nil {
			t.Fatal(err)
		}
		for s := 0; s < tc.n; s += tc.chunk {
			k := min(tc.chunk, tc.n-s)
			part := make([]float64, tc.positions*k*tc.d)
			for p := 0; p < tc.positions; p++ {
				copy(part[p*k*tc.d:(p+1)*k*tc.d], x[(p*tc.n+s)*tc.d:(p*tc.n+s+k)*tc.d])
			}
			if err := acc.Add(part, k); err != nil {
				t.Fatal(err)
			}
		}
		mean, chol, err := acc.Finalize(0.01)
		if err != nil {
			t.Fatal(err)
		}
		if len(mean) != tc.positions*tc.d || len(chol) != tc.positions*packedLen(tc.d) || cap(chol) != len(chol) {
			t.Fatalf("%+v: %d means, factor len %d cap %d", tc, len(mean), len(chol), cap(chol))
		}
		d := tc.d
		for p := 0; p < tc.positions; p++ {
			xs := x[p*tc.n*d : (p+1)*tc.n*d]
			mu := make([]float64, d)
			for i := 0; i < tc.n; i++ {
				for c := 0; c < d; c++ {
					mu[c] += xs[i*d+c] / float64(tc.n)
				}
			}
			sigma := make([]float64, d*d)
			for i := 0; i < tc.n; i++ {
				for r := 0; r < d; r++ {
					for c := 0; c < d; c++ {
						sigma[r*d+c] += (xs[i*d+r] - mu[r]) * (xs[i*d+c] - mu[c]) / float64(tc.n-1)
					}
				}
			}
			for r := 0; r < d; r++ {
				sigma[r*d+r] += 0.01
				if !relClose(float64(mean[p*d+r]), mu[r], 1e-6) {
					t.Fatalf("%+v position %d: mean[%d] = %v, brute force %v", tc, p, r, mean[p*d+r], mu[r])
				}
			}
			u := unpackCholesky(chol[p*packedLen(d):(p+1)*packedLen(d)], d)
			for r := 0; r < d; r++ {
				if u[r*d+r] <= 0 {
					t.Fatalf("%+v position %d: U[%d,%d] = %v, want > 0", tc, p, r, r, u[r*d+r])
				}
				for c := 0; c < d; c++ {
					var v float64 // (U^T U)[r,c]
					for j := 0; j <= min(r, c); j++ {
						v += u[j*d+r] * u[j*d+c]
					}
					// float32 rounding of U, relative to the entries' scale
					if tol := 1e-6 * math.Sqrt(sigma[r*d+r]*sigma[c*d+c]); math.Abs(v-sigma[r*d+c]) > tol {
						t.Fatalf("%+v position %d: (U^T U)[%d,%d] = %v, Sigma %v", tc, p, r, c, v, sigma[r*d+c])
					}
				}
			}
		}
		if err := acc.Add(make([]float64, tc.positions*tc.d), 1); err == nil {
			t.Fatalf("%+v: Add after Finalize accepted", tc)
		}
		if _, _, err := acc.Finalize(0.01); err == nil {
			t.Fatalf("%+v: second Finalize accepted", tc)
		}
	}
}

// releaseTail may zero whole pages of s past keep bytes and nothing else:
// not the kept front, not the objects Go placed next to a small slice.
func TestReleaseTailKeepsFrontAndNeighbours(t *testing.T) {
	for _, tc := range []struct{ n, keep int }{{3, 8}, {700, 100}, {4096, 8 * 1000}, {100000, 8 * 40000}, {100000, 7}} {
		var before, s, after []float64
		before = make([]float64, tc.n)
		s = make([]float64, tc.n)
		after = make([]float64, tc.n)
		for i := range s {
			before[i], s[i], after[i] = 1, 2, 3
		}
		releaseTail(s, tc.keep)
		for i := range s {
			if before[i] != 1 || after[i] != 3 {
				t.Fatalf("%+v: a neighbouring slice changed at %d", tc, i)
			}
			if v := s[i]; (i*8 < tc.keep && v != 2) || (v != 2 && v != 0) {
				t.Fatalf("%+v: s[%d] = %v", tc, i, v)
			}
		}
		// On Linux the pages well inside the tail go back to the kernel.
		if i := (tc.keep/8 + tc.n) / 2; runtime.GOOS == "linux" && tc.n*8-tc.keep > 4*65536 && s[i] != 0 {
			t.Errorf("%+v: s[%d] = %v, its page was not released", tc, i, s[i])
		}
	}
}

// A mean beyond float32's range is an error naming the position, not an
// infinite model: position 1's values are 1e39 (float64 input), its
// spread is ordinary.
func TestFinalizeRejectsValuesBeyondFloat32(t *testing.T) {
	acc, err := NewGaussianAccumulator(2, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	// position-major: position 0's two vectors, then position 1's
	x := []float64{1, 2, 3, 5, 1e39, 1e39, 1e39 + 1e24, 1e39 - 1e24}
	if err := acc.Add(x, 2); err != nil {
		t.Fatal(err)
	}
	_, _, err = acc.Finalize(0.01)
	if err == nil || !strings.Contains(err.Error(), "grid position 1") {
		t.Fatalf("Finalize error %v, want one naming grid position 1", err)
	}
}
