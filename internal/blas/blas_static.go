//go:build purego || !((linux || darwin) && (amd64 || arm64))

package blas

// The purego build (and platforms without a dynamic loader that purego
// supports) use gonum alone: the binary is fully static and loads nothing.

// Backend names the implementation in use.
var Backend = "gonum"

// Origin says how the implementation was chosen.
func Origin() string {
	return "gonum, compiled in alone (build tag purego, or no run-time loading on this platform)"
}

// Warning reports a PADIM_BLAS request this build cannot honour.
func Warning() string {
	if v := envChoice(); v != "" && v != "auto" && v != "gonum" {
		return EnvVar + "=" + v + " ignored: this build of padim cannot load libraries (build tag purego)"
	}
	return ""
}

// CoreName names the kernels in use; the pure-Go backend has one kind.
func CoreName() string { return "gonum" }

// SetThreads is a no-op: gonum's kernels are single-threaded.
func SetThreads(n int) {}

func testBackends() []string             { return []string{"gonum"} }
func useForTest(string) (restore func()) { return func() {} }

func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gonumSgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	gonumDgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func dsyrk(n, k int, alpha float64, a []float64, lda int, beta float64, c []float64, ldc int) {
	gonumDsyrk(n, k, alpha, a, lda, beta, c, ldc)
}

func choleskyUpper(n int, a []float64) error { return gonumCholeskyUpper(n, a) }

func strsmRightUpper(m, n int, u []float32, ldu int, b []float32, ldb int) {
	gonumStrsmRightUpper(m, n, u, ldu, b, ldb)
}
