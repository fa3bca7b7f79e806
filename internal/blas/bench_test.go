package blas

import (
	"math/rand"
	"testing"
)

// The benchmarks compare the implementations (the library loaded at run
// time, or gonum with PADIM_BLAS=gonum or the purego build) on the shapes
// padim uses. Each runs with one BLAS thread, as the
// pipeline does. BenchmarkCallOverhead times a 4x4x4 product: nearly all
// of it is the cost of crossing into the library.

func randFloat32(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

func BenchmarkCallOverhead(b *testing.B) {
	SetThreads(1)
	rng := rand.New(rand.NewSource(1))
	x, y, z := randFloat32(rng, 16), randFloat32(rng, 16), make([]float32, 16)
	for b.Loop() {
		Sgemm(false, false, 4, 4, 4, 1, x, 4, y, 4, 0, z, 4)
	}
}

// A ResNet-18 layer-1 3x3 convolution as im2col + sgemm: 64 x 3136 x 576.
func BenchmarkSgemmConv(b *testing.B) {
	SetThreads(1)
	const m, n, k = 64, 3136, 576
	rng := rand.New(rand.NewSource(2))
	x, y, z := randFloat32(rng, m*k), randFloat32(rng, k*n), make([]float32, m*n)
	b.SetBytes(2 * m * n * k) // "MB/s" reads as MFLOPS
	for b.Loop() {
		Sgemm(false, false, m, n, k, 1, x, k, y, n, 0, z, n)
	}
}

// One position's Mahalanobis distances for a batch of 32 images at d = 100
// (ResNet-18's reduced features): the scoring loop makes one such call per
// patch position.
func BenchmarkStrsmPosition(b *testing.B) {
	SetThreads(1)
	const m, d = 32, 100
	rng := rand.New(rand.NewSource(3))
	cov := randomSPD(rng, d)
	if err := CholeskyUpper(d, cov); err != nil {
		b.Fatal(err)
	}
	u := make([]float32, d*d)
	for i := range u {
		u[i] = float32(cov[i])
	}
	rhs := randFloat32(rng, m*d)
	x := make([]float32, m*d)
	for b.Loop() {
		copy(x, rhs)
		StrsmRightUpper(m, d, u, d, x, d)
	}
}

// One position's covariance factorisation at d = 100.
func BenchmarkCholesky100(b *testing.B) {
	SetThreads(1)
	const d = 100
	cov := randomSPD(rand.New(rand.NewSource(4)), d)
	a := make([]float64, d*d)
	for b.Loop() {
		copy(a, cov)
		if err := CholeskyUpper(d, a); err != nil {
			b.Fatal(err)
		}
	}
}
