//go:build cgo_openblas && cgo && !purego

package blas

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>

extern void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);

// potrf_upper factors a row-major matrix by its upper triangle: LAPACK is
// column-major, where that triangle is the lower one ('L', A = L L^T), and
// L read row-major is U = L^T with A = U^T U.
static int potrf_upper(int n, double *a) {
	int info = 0;
	char uplo = 'L';
	dpotrf_(&uplo, &n, a, &n, &info);
	return info;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Backend names the implementation in use: OpenBLAS, linked at build time,
// or gonum when PADIM_BLAS=gonum.
var Backend = "openblas"

// fallback routes the calls to gonum (PADIM_BLAS=gonum, or a test running
// the parity tests on both implementations in one process).
var fallback = envChoice() == "gonum"

func init() {
	if fallback {
		Backend = "gonum"
	}
}

// Origin says how the implementation was chosen.
func Origin() string {
	if fallback {
		return "gonum, forced by " + EnvVar + "=gonum"
	}
	return "OpenBLAS linked at build time (build tag cgo_openblas)"
}

// Warning is empty: a build-time link has nothing to report at run time.
func Warning() string { return "" }

// testBackends lists the implementations a test can select with useForTest.
func testBackends() []string { return []string{"openblas", "gonum"} }

// useForTest routes the calls to the named implementation until restore.
func useForTest(name string) (restore func()) {
	old := fallback
	fallback = name == "gonum"
	return func() { fallback = old }
}

func trans(t bool) C.enum_CBLAS_TRANSPOSE {
	if t {
		return C.CblasTrans
	}
	return C.CblasNoTrans
}

func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if fallback {
		gonumSgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	C.cblas_sgemm(C.CblasRowMajor, trans(transA), trans(transB), C.blasint(m), C.blasint(n), C.blasint(k),
		C.float(alpha), (*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda),
		(*C.float)(unsafe.Pointer(&b[0])), C.blasint(ldb),
		C.float(beta), (*C.float)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}

func dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if fallback {
		gonumDgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	C.cblas_dgemm(C.CblasRowMajor, trans(transA), trans(transB), C.blasint(m), C.blasint(n), C.blasint(k),
		C.double(alpha), (*C.double)(unsafe.Pointer(&a[0])), C.blasint(lda),
		(*C.double)(unsafe.Pointer(&b[0])), C.blasint(ldb),
		C.double(beta), (*C.double)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}

func dsyrk(n, k int, alpha float64, a []float64, lda int, beta float64, c []float64, ldc int) {
	if fallback {
		gonumDsyrk(n, k, alpha, a, lda, beta, c, ldc)
		return
	}
	C.cblas_dsyrk(C.CblasRowMajor, C.CblasUpper, C.CblasTrans, C.blasint(n), C.blasint(k),
		C.double(alpha), (*C.double)(unsafe.Pointer(&a[0])), C.blasint(lda),
		C.double(beta), (*C.double)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}

func choleskyUpper(n int, a []float64) error {
	if fallback {
		return gonumCholeskyUpper(n, a)
	}
	info := C.potrf_upper(C.int(n), (*C.double)(unsafe.Pointer(&a[0])))
	if info > 0 {
		return fmt.Errorf("blas: matrix is not positive definite (leading minor %d)", int(info))
	}
	if info != 0 {
		return fmt.Errorf("blas: Cholesky factorisation failed (LAPACK info %d)", int(info))
	}
	return nil
}

func strsmRightUpper(m, n int, u []float32, ldu int, b []float32, ldb int) {
	if fallback {
		gonumStrsmRightUpper(m, n, u, ldu, b, ldb)
		return
	}
	C.cblas_strsm(C.CblasRowMajor, C.CblasRight, C.CblasUpper, C.CblasNoTrans, C.CblasNonUnit,
		C.int(m), C.int(n), 1, (*C.float)(unsafe.Pointer(&u[0])), C.int(ldu), (*C.float)(unsafe.Pointer(&b[0])), C.int(ldb))
}

// CoreName is the kernel family OpenBLAS selected for this CPU, e.g.
// "Haswell" or "SkylakeX"; "Prescott" means it did not recognise the CPU and
// fell back to its slow generic kernels (see OPENBLAS_CORETYPE in the README).
func CoreName() string {
	if fallback {
		return "gonum"
	}
	return C.GoString(C.openblas_get_corename())
}

// SetThreads sets how many threads OpenBLAS uses (n <= 0 leaves it unchanged).
func SetThreads(n int) {
	if n > 0 && !fallback {
		C.openblas_set_num_threads(C.int(n))
	}
}
