//go:build cgo && !purego

package blas

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>

extern void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
extern void dpotri_(const char *uplo, const int *n, double *a, const int *lda, int *info);

static int potrf_potri(int n, double *a) {
	int info = 0;
	char uplo = 'L';
	dpotrf_(&uplo, &n, a, &n, &info);
	if (info != 0) return info;
	dpotri_(&uplo, &n, a, &n, &info);
	return info == 0 ? 0 : -info - 1000000;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Backend names the compiled-in implementation.
const Backend = "openblas"

func trans(t bool) C.enum_CBLAS_TRANSPOSE {
	if t {
		return C.CblasTrans
	}
	return C.CblasNoTrans
}

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
	C.cblas_sgemm(C.CblasRowMajor, trans(transA), trans(transB), C.blasint(m), C.blasint(n), C.blasint(k),
		C.float(alpha), (*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda),
		(*C.float)(unsafe.Pointer(&b[0])), C.blasint(ldb),
		C.float(beta), (*C.float)(unsafe.Pointer(&c[0])), C.blasint(ldc))
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
	C.cblas_dgemm(C.CblasRowMajor, trans(transA), trans(transB), C.blasint(m), C.blasint(n), C.blasint(k),
		C.double(alpha), (*C.double)(unsafe.Pointer(&a[0])), C.blasint(lda),
		(*C.double)(unsafe.Pointer(&b[0])), C.blasint(ldb),
		C.double(beta), (*C.double)(unsafe.Pointer(&c[0])), C.blasint(ldc))
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
	C.cblas_dsyrk(C.CblasRowMajor, C.CblasUpper, C.CblasTrans, C.blasint(n), C.blasint(k),
		C.double(alpha), (*C.double)(unsafe.Pointer(&a[0])), C.blasint(lda),
		C.double(beta), (*C.double)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}

// InvertSPD replaces the n x n symmetric positive definite matrix a (full
// storage; only its upper triangle is read) by its inverse, through a
// Cholesky factorisation, and fills both triangles of the result.
func InvertSPD(n int, a []float64) error {
	if n == 0 {
		return nil
	}
	if len(a) < n*n {
		panic(fmt.Sprintf("blas: InvertSPD needs %d values, has %d", n*n, len(a)))
	}
	// Row-major upper is column-major lower, which is what LAPACK sees.
	info := C.potrf_potri(C.int(n), (*C.double)(unsafe.Pointer(&a[0])))
	if info > 0 {
		return fmt.Errorf("blas: matrix is not positive definite (leading minor %d)", int(info))
	}
	if info != 0 {
		return fmt.Errorf("blas: inversion failed (LAPACK info %d)", int(info))
	}
	mirrorUpper(n, a)
	return nil
}

// CoreName is the kernel family OpenBLAS selected for this CPU, e.g.
// "Haswell" or "SkylakeX"; "Prescott" means it did not recognise the CPU and
// fell back to its slow generic kernels (see OPENBLAS_CORETYPE in the README).
func CoreName() string {
	return C.GoString(C.openblas_get_corename())
}

// SetThreads sets how many threads OpenBLAS uses (n <= 0 leaves it unchanged).
func SetThreads(n int) {
	if n > 0 {
		C.openblas_set_num_threads(C.int(n))
	}
}
