package blas

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	lapackgonum "gonum.org/v1/gonum/lapack/gonum"
)

// gonum's pure-Go BLAS and LAPACK: the fallback when no optimised library
// was loaded, and the only implementation of the purego build. Its kernels
// are single-threaded; callers parallelise over independent problems.
var impl gonum.Implementation
var lapackImpl lapackgonum.Implementation

func gonumTrans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

func gonumSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	impl.Sgemm(gonumTrans(transA), gonumTrans(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func gonumDgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	impl.Dgemm(gonumTrans(transA), gonumTrans(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func gonumDsyrk(n, k int, alpha float64, a []float64, lda int, beta float64, c []float64, ldc int) {
	impl.Dsyrk(blas.Upper, blas.Trans, n, k, alpha, a, lda, beta, c, ldc)
}

func gonumCholeskyUpper(n int, a []float64) error {
	if ok := lapackImpl.Dpotrf(blas.Upper, n, a, n); !ok {
		return fmt.Errorf("blas: matrix is not positive definite")
	}
	return nil
}

func gonumStrsmRightUpper(m, n int, u []float32, ldu int, b []float32, ldb int) {
	impl.Strsm(blas.Right, blas.Upper, blas.NoTrans, blas.NonUnit, m, n, 1, u, ldu, b, ldb)
}
