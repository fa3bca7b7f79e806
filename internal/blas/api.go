package blas

import (
	"fmt"
	"os"
	"strings"
)

// The exported functions check their arguments and handle the empty cases
// once; the backends (blas_openblas.go, blas_gonum.go) only call the kernels.

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major float32
// matrices, op(A) being m x k and op(B) k x n.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if k == 0 {
		scale32(m, n, beta, c, ldc)
		return
	}
	sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Dgemm is Sgemm in float64.
func Dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if k == 0 {
		scale64(m, n, beta, c, ldc)
		return
	}
	dgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Dsyrk computes the upper triangle of C = alpha*A^T*A + beta*C, where A is
// k x n (row-major, leading dimension lda) and C is n x n. It is the rank-k
// update that accumulates a covariance from k observations of n variables.
// Only the upper triangle of C (j >= i) is referenced and written.
func Dsyrk(n, k int, alpha float64, a []float64, lda int, beta float64, c []float64, ldc int) {
	if n == 0 {
		return
	}
	checkSyrk(n, k, len(a), lda, len(c), ldc)
	if k == 0 {
		for i := 0; i < n; i++ {
			row := c[i*ldc+i : i*ldc+n]
			for j := range row {
				row[j] *= beta
			}
		}
		return
	}
	dsyrk(n, k, alpha, a, lda, beta, c, ldc)
}

// CholeskyUpper factors the n x n symmetric positive definite matrix a
// (row-major, full storage; only its upper triangle is read) as A = U^T U
// and writes the upper-triangular U over the upper triangle of a. The
// strict lower triangle is left as scratch. A matrix that is not positive
// definite is an error naming the leading minor that failed.
func CholeskyUpper(n int, a []float64) error {
	if n == 0 {
		return nil
	}
	if len(a) < n*n {
		panic(fmt.Sprintf("blas: CholeskyUpper needs %d values, has %d", n*n, len(a)))
	}
	return choleskyUpper(n, a)
}

// StrsmRightUpper solves X U = B for X, written over B: B is m x n
// (row-major, leading dimension ldb) and U is the n x n upper-triangular
// matrix held in the upper triangle of u (leading dimension ldu; the strict
// lower triangle is not read). With U a Cholesky factor of A = U^T U, each
// row x of X has x x^T = b A^-1 b^T: a squared Mahalanobis distance.
func StrsmRightUpper(m, n int, u []float32, ldu int, b []float32, ldb int) {
	if m == 0 || n == 0 {
		return
	}
	if ldu < n || ldb < n {
		panic(fmt.Sprintf("blas: trsm leading dimension too small (ldu %d, ldb %d, n %d)", ldu, ldb, n))
	}
	if len(u) < (n-1)*ldu+n || len(b) < (m-1)*ldb+n {
		panic(fmt.Sprintf("blas: trsm slices too short for %dx%d", m, n))
	}
	strsmRightUpper(m, n, u, ldu, b, ldb)
}

// EnvVar chooses the implementation at run time: unset or "auto" searches
// for an optimised library, "gonum" forces the pure-Go fallback, a family
// ("openblas", "mkl", "accelerate") searches only that family, and a path
// loads that library file.
const EnvVar = "PADIM_BLAS"

func envChoice() string { return strings.TrimSpace(os.Getenv(EnvVar)) }
