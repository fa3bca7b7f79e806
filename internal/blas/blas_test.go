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
	forEachBackend(t, func(t *testing.T) {
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
	})
}

func TestDsyrk(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
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
		}
	})
}

// forEachBackend runs a parity test on every implementation this build can
// use: the loaded (or linked) library, when there is one, and gonum.
func forEachBackend(t *testing.T, test func(t *testing.T)) {
	for _, name := range testBackends() {
		t.Run(name, func(t *testing.T) {
			defer useForTest(name)()
			test(t)
		})
	}
}

func TestCoreName(t *testing.T) {
	if CoreName() == "" {
		t.Fatal("CoreName is empty")
	}
	t.Logf("backend %s, kernels %s", Backend, CoreName())
}

// randomSPD is X^T X + 0.01 I for a 2n x n standard normal X.
func randomSPD(rng *rand.Rand, n int) []float64 {
	k := 2 * n
	x := make([]float64, k*n)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	cov := naiveGemm(true, false, n, n, k, x, n, x, n)
	for i := 0; i < n; i++ {
		cov[i*n+i] += 0.01
	}
	return cov
}

// CholeskyUpper must give an upper-triangular U with U^T U = A, whatever
// the lower triangle held on input (NaN here), for sizes around LAPACK's
// block sizes, and refuse an indefinite matrix.
func TestCholeskyUpper(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		rng := rand.New(rand.NewSource(3))
		for _, n := range []int{1, 2, 7, 64, 65, 130} {
			cov := randomSPD(rng, n)
			a := append([]float64(nil), cov...)
			for i := 0; i < n; i++ {
				for j := 0; j < i; j++ {
					a[i*n+j] = math.NaN() // the lower triangle must not be read
				}
			}
			if err := CholeskyUpper(n, a); err != nil {
				t.Fatal(err)
			}
			u := make([]float64, n*n) // the upper triangle of a, zeros below
			for i := 0; i < n; i++ {
				copy(u[i*n+i:(i+1)*n], a[i*n+i:(i+1)*n])
				if u[i*n+i] <= 0 {
					t.Fatalf("n=%d: U[%d,%d] = %v, want > 0", n, i, i, u[i*n+i])
				}
			}
			prod := naiveGemm(true, false, n, n, n, u, n, u, n)
			for i := range prod {
				if math.Abs(prod[i]-cov[i]) > 1e-9*(1+math.Abs(cov[i])) {
					t.Fatalf("n=%d: (U^T U)[%d,%d] = %v, want %v", n, i/n, i%n, prod[i], cov[i])
				}
			}
		}
		if err := CholeskyUpper(2, []float64{1, 2, 2, 1}); err == nil { // eigenvalues 3 and -1
			t.Fatal("CholeskyUpper accepted an indefinite matrix")
		}
	})
}

// StrsmRightUpper must solve X U = B (checked by multiplying back) and
// leave U's strict lower triangle unread, with leading dimensions wider
// than the matrices.
func TestStrsmRightUpper(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		rng := rand.New(rand.NewSource(4))
		for _, tc := range []struct{ m, n int }{{1, 1}, {3, 5}, {32, 70}, {5, 130}} {
			ldu, ldb := tc.n+3, tc.n+2
			u := make([]float32, tc.n*ldu)
			for i := 0; i < tc.n; i++ {
				for j := 0; j < tc.n; j++ {
					switch {
					case j < i:
						u[i*ldu+j] = float32(math.NaN())
					case j == i:
						u[i*ldu+j] = 1 + rng.Float32()
					default:
						u[i*ldu+j] = float32(rng.NormFloat64()) / float32(tc.n)
					}
				}
			}
			b := make([]float32, tc.m*ldb)
			for i := range b {
				b[i] = float32(rng.NormFloat64())
			}
			x := append([]float32(nil), b...)
			StrsmRightUpper(tc.m, tc.n, u, ldu, x, ldb)
			for i := 0; i < tc.m; i++ {
				for j := 0; j < tc.n; j++ {
					var s float64 // (X U)[i,j]
					for p := 0; p <= j; p++ {
						s += float64(x[i*ldb+p]) * float64(u[p*ldu+j])
					}
					if math.Abs(s-float64(b[i*ldb+j])) > 1e-4*(1+math.Abs(float64(b[i*ldb+j]))) {
						t.Fatalf("%+v: (X U)[%d,%d] = %v, want %v", tc, i, j, s, b[i*ldb+j])
					}
				}
			}
		}
	})
}
