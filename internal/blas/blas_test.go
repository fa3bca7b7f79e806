package blas

import (
	"math"
	"math/rand"
	"testing"
)

func naiveGemm(transA, transB bool, m, n, k int, a []float64, lda int, b []float64, ldb int) []float64 {
	out := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float64
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
			}
			out[i*n+j] = s
		}
	}
	return out
}

func TestGemm(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, tc := range []struct {
		ta, tb  bool
		m, n, k int
	}{{false, false, 3, 4, 5}, {true, false, 7, 2, 3}, {false, true, 1, 9, 4}, {true, true, 6, 6, 6}, {false, false, 33, 17, 65}} {
		ar, ac := tc.m, tc.k
		if tc.ta {
			ar, ac = tc.k, tc.m
		}
		br, bc := tc.k, tc.n
		if tc.tb {
			br, bc = tc.n, tc.k
		}
		a64, b64 := make([]float64, ar*ac), make([]float64, br*bc)
		a32, b32 := make([]float32, ar*ac), make([]float32, br*bc)
		for i := range a64 {
			a64[i] = float64(float32(rng.NormFloat64()))
			a32[i] = float32(a64[i])
		}
		for i := range b64 {
			b64[i] = float64(float32(rng.NormFloat64()))
			b32[i] = float32(b64[i])
		}
		want := naiveGemm(tc.ta, tc.tb, tc.m, tc.n, tc.k, a64, ac, b64, bc)
		c64 := make([]float64, tc.m*tc.n)
		c32 := make([]float32, tc.m*tc.n)
		for i := range c64 {
			c64[i], c32[i] = 1, 1
		}
		Dgemm(tc.ta, tc.tb, tc.m, tc.n, tc.k, 2, a64, ac, b64, bc, 0.5, c64, tc.n)
		Sgemm(tc.ta, tc.tb, tc.m, tc.n, tc.k, 2, a32, ac, b32, bc, 0.5, c32, tc.n)
		for i := range want {
			w := 2*want[i] + 0.5
			if math.Abs(c64[i]-w) > 1e-9*(1+math.Abs(w)) {
				t.Fatalf("%+v Dgemm[%d] = %v, want %v", tc, i, c64[i], w)
			}
			if math.Abs(float64(c32[i])-w) > 1e-4*(1+math.Abs(w)) {
				t.Fatalf("%+v Sgemm[%d] = %v, want %v", tc, i, c32[i], w)
			}
		}
	}
}

func TestDsyrkAndInvertSPD(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	const n, k = 12, 20
	a := make([]float64, k*n)
	for i := range a {
		a[i] = rng.NormFloat64()
	}
	c := make([]float64, n*n)
	Dsyrk(n, k, 1, a, n, 0, c, n)
	full := naiveGemm(true, false, n, n, k, a, n, a, n)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			if math.Abs(c[i*n+j]-full[i*n+j]) > 1e-9 {
				t.Fatalf("Dsyrk[%d,%d] = %v, want %v", i, j, c[i*n+j], full[i*n+j])
			}
		}
		c[i*n+i] += 0.01
	}
	cov := append([]float64(nil), c...)
	mirrorUpper(n, cov)
	if err := InvertSPD(n, c); err != nil {
		t.Fatal(err)
	}
	prod := naiveGemm(false, false, n, n, n, cov, n, c, n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			want := 0.0
			if i == j {
				want = 1
			}
			if math.Abs(prod[i*n+j]-want) > 1e-8 {
				t.Fatalf("(A * inv A)[%d,%d] = %v", i, j, prod[i*n+j])
			}
		}
	}
}

func TestInvertSPDRejectsIndefinite(t *testing.T) {
	a := []float64{1, 2, 2, 1} // eigenvalues 3 and -1
	if err := InvertSPD(2, a); err == nil {
		t.Fatal("InvertSPD accepted an indefinite matrix")
	}
}

func TestCoreName(t *testing.T) {
	if CoreName() == "" {
		t.Fatal("CoreName is empty")
	}
	t.Logf("backend %s, kernels %s", Backend, CoreName())
}

// InvertSPDUpper must give the upper triangle of the inverse (checked as
// A * inv(A) = I after mirroring it here), whatever the lower triangle held
// on input, for sizes around LAPACK's block sizes.
func TestInvertSPDUpper(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for _, n := range []int{1, 2, 7, 64, 65, 130} {
		k := 2 * n
		x := make([]float64, k*n)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		cov := naiveGemm(true, false, n, n, k, x, n, x, n)
		for i := 0; i < n; i++ {
			cov[i*n+i] += 0.01
		}
		a := append([]float64(nil), cov...)
		for i := 0; i < n; i++ {
			for j := 0; j < i; j++ {
				a[i*n+j] = math.NaN() // the lower triangle must not be read
			}
		}
		if err := InvertSPDUpper(n, a); err != nil {
			t.Fatal(err)
		}
		mirrorUpper(n, a)
		prod := naiveGemm(false, false, n, n, n, cov, n, a, n)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				want := 0.0
				if i == j {
					want = 1
				}
				if math.Abs(prod[i*n+j]-want) > 1e-8 {
					t.Fatalf("n=%d: (A * inv A)[%d,%d] = %v", n, i, j, prod[i*n+j])
				}
			}
		}
	}
	if err := InvertSPDUpper(2, []float64{1, 2, 2, 1}); err == nil {
		t.Fatal("InvertSPDUpper accepted an indefinite matrix")
	}
}
