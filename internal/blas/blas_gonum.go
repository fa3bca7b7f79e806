//go:build !cgo || purego

package blas

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	lapackgonum "gonum.org/v1/gonum/lapack/gonum"
)

// Backend names the compiled-in implementation.
const Backend = "gonum"

var impl gonum.Implementation
var lapackImpl lapackgonum.Implementation

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	impl.Sgemm(trans(transA), trans(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	impl.Dgemm(trans(transA), trans(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func dsyrk(n, k int, alpha float64, a []float64, lda int, beta float64, c []float64, ldc int) {
	impl.Dsyrk(blas.Upper, blas.Trans, n, k, alpha, a, lda, beta, c, ldc)
}

func choleskyUpper(n int, a []float64) error {
	if ok := lapackImpl.Dpotrf(blas.Upper, n, a, n); !ok {
		return fmt.Errorf("blas: matrix is not positive definite")
	}
	return nil
}

func strsmRightUpper(m, n int, u []float32, ldu int, b []float32, ldb int) {
	impl.Strsm(blas.Right, blas.Upper, blas.NoTrans, blas.NonUnit, m, n, 1, u, ldu, b, ldb)
}

// CoreName names the kernels in use; the pure-Go backend has one kind.
func CoreName() string { return "gonum" }

// SetThreads is a no-op for the pure-Go backend: gonum's kernels are
// single-threaded and callers parallelise over independent problems.
func SetThreads(n int) {}
