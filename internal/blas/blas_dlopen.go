//go:build !purego && (linux || darwin) && (amd64 || arm64)

package blas

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"unsafe"

	"github.com/ebitengine/purego"
)

// The default build loads an optimised BLAS/LAPACK when the package
// initialises, through purego's dlopen (no cgo, no headers at build time),
// and calls its Fortran-ABI entry points (sgemm_, dpotrf_, ...): every
// argument is passed by pointer, so purego.SyscallN carries them in integer
// registers without the float-argument limits of calling cblas_* by value,
// and the same symbols exist in OpenBLAS, MKL and Accelerate.
//
// Memory safety of the calls: the slices live on the Go heap, which the
// garbage collector does not move, and purego.SyscallN is marked
// go:uintptrescapes, so each unsafe.Pointer converted to uintptr in its
// argument list is kept alive until the call returns. The conversions are
// therefore written inline in the SyscallN calls, never through a helper
// that takes a uintptr. The scalars go by pointer into a per-call fortranArgs
// (one small heap allocation, for the same reason).

// Backend names the implementation in use: "openblas", "mkl", "accelerate",
// or "gonum" when none was loaded.
var Backend = "gonum"

// library is a loaded BLAS/LAPACK and the entry points used.
type library struct {
	family string // "openblas", "mkl", "accelerate" or "blas" (a named file of unknown family)
	file   string // the name dlopen accepted
	ilp64  bool   // 64-bit integers (libopenblas64_)
	config string // the library's own description, when it has one

	sgemm, dgemm, dsyrk, strsm, dpotrf uintptr
	setThreads, getThreads             uintptr // 0 when the library has no thread control
	coreName                           func() string
}

var (
	lib     *library // nil: gonum
	origin  string
	warning string
)

// candidate is a library file to try and how its symbols are named.
type candidate struct {
	family, file, suffix string
	ilp64                bool
}

// candidates lists the libraries to try, OpenBLAS first; dlopen searches the
// system's library path (and LD_LIBRARY_PATH / DYLD_LIBRARY_PATH) for bare
// names. BLIS is absent because it has no LAPACK (dpotrf_).
func candidates() []candidate {
	if runtime.GOOS == "darwin" {
		return []candidate{
			{"openblas", "libopenblas.dylib", "", false},
			{"openblas", "/opt/homebrew/opt/openblas/lib/libopenblas.dylib", "", false},
			{"openblas", "/usr/local/opt/openblas/lib/libopenblas.dylib", "", false},
			{"accelerate", "/System/Library/Frameworks/Accelerate.framework/Accelerate", "", false},
		}
	}
	return []candidate{
		{"openblas", "libopenblas.so.0", "", false},  // Debian/Ubuntu libopenblas0, Fedora, conda
		{"openblas", "libopenblas.so", "", false},    // a source build
		{"openblas", "libopenblasp.so.0", "", false}, // Fedora's pthreads variant
		{"openblas", "libopenblaso.so.0", "", false}, // Fedora's OpenMP variant
		{"openblas", "libopenblas64_.so.0", "64_", true},
		{"mkl", "libmkl_rt.so.2", "", false},
		{"mkl", "libmkl_rt.so", "", false},
	}
}

func init() {
	choose(envChoice())
}

// choose loads the implementation that want (the PADIM_BLAS value) asks for
// and records in origin why it is in use.
func choose(want string) {
	lib, Backend, warning = nil, "gonum", ""
	switch want {
	case "gonum":
		origin = "gonum, forced by " + EnvVar + "=gonum"
		return
	}
	var tries []candidate
	explicit := want != "" && want != "auto"
	for _, c := range candidates() {
		if !explicit || c.family == want {
			tries = append(tries, c)
		}
	}
	if explicit && len(tries) == 0 {
		if strings.ContainsRune(want, '/') || strings.Contains(want, ".so") || strings.HasSuffix(want, ".dylib") {
			tries = []candidate{{family: "", file: want}}
		} else if want == "openblas" || want == "mkl" || want == "accelerate" {
			warning = fmt.Sprintf("%s=%s: padim knows no %s library on %s; using gonum", EnvVar, want, want, runtime.GOOS)
			origin = "gonum: " + warning
			return
		} else {
			warning = fmt.Sprintf("%s=%q is not gonum, auto, a known family (openblas, mkl, accelerate) or a library file; using gonum", EnvVar, want)
			origin = "gonum: " + warning
			return
		}
	}
	var failures []string
	for _, c := range tries {
		l, err := load(c)
		if err != nil {
			failures = append(failures, c.file+": "+err.Error())
			continue
		}
		lib, Backend = l, l.family
		origin = l.file
		if l.config != "" {
			origin += " (" + l.config + ")"
		}
		if explicit {
			origin += ", chosen by " + EnvVar + "=" + want
		} else {
			origin += ", the first optimised library found"
		}
		if len(failures) > 0 {
			origin += "; before it: " + strings.Join(failures, "; ")
		}
		return
	}
	origin = "gonum: no optimised BLAS/LAPACK could be loaded (" + strings.Join(failures, "; ") + ")"
	if explicit {
		warning = EnvVar + "=" + want + " could not be loaded, using gonum: " + strings.Join(failures, "; ")
	}
}

// load opens a library, finds the entry points and checks them on a small
// problem with a known answer, so that a library with another integer width
// or calling convention is refused instead of computing garbage.
func load(c candidate) (*library, error) {
	h, err := purego.Dlopen(c.file, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return nil, shortDlerror(err)
	}
	sym := func(name string) uintptr {
		p, err := purego.Dlsym(h, name+c.suffix)
		if err != nil {
			return 0
		}
		return p
	}
	l := &library{family: c.family, file: c.file, ilp64: c.ilp64}
	var missing []string
	for _, e := range []struct {
		name string
		p    *uintptr
	}{{"sgemm_", &l.sgemm}, {"dgemm_", &l.dgemm}, {"dsyrk_", &l.dsyrk}, {"strsm_", &l.strsm}, {"dpotrf_", &l.dpotrf}} {
		if *e.p = sym(e.name); *e.p == 0 {
			missing = append(missing, e.name+c.suffix)
		}
	}
	if len(missing) > 0 {
		_ = purego.Dlclose(h)
		return nil, fmt.Errorf("lacks %s", strings.Join(missing, ", "))
	}
	if p := sym("openblas_get_corename"); p != 0 {
		if l.family == "" {
			l.family = "openblas"
		}
		purego.RegisterFunc(&l.coreName, p)
		if q := sym("openblas_get_config"); q != 0 {
			var config func() string
			purego.RegisterFunc(&config, q)
			l.config = config()
		}
		l.setThreads = sym("openblas_set_num_threads")
		l.getThreads = sym("openblas_get_num_threads")
	} else if p := sym("MKL_Set_Num_Threads"); p != 0 {
		if l.family == "" {
			l.family = "mkl"
		}
		l.setThreads = p
		l.getThreads = sym("MKL_Get_Max_Threads")
	}
	if l.family == "" {
		l.family = "blas"
	}
	if err := selfCheck(l); err != nil {
		// Not closed: a library that computed garbage may have started threads.
		return nil, err
	}
	return l, nil
}

// shortDlerror keeps dlerror's reason without repeating the file name.
func shortDlerror(err error) error {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && strings.Contains(s[i:], "No such file") {
		return fmt.Errorf("not found")
	}
	return err
}

// selfCheck runs each entry point once on a 2x2 problem.
func selfCheck(l *library) error {
	// Row-major [1 2; 3 4] * [5 6; 7 8] = [19 22; 43 50].
	a, b := []float32{1, 2, 3, 4}, []float32{5, 6, 7, 8}
	c := make([]float32, 4)
	l.sgemm32(false, false, 2, 2, 2, 1, a, 2, b, 2, 0, c, 2)
	if c[0] != 19 || c[1] != 22 || c[2] != 43 || c[3] != 50 {
		return fmt.Errorf("failed the self-check (sgemm_ gave %v, want [19 22 43 50])", c)
	}
	// [4 2; 2 5] = U^T U with U = [2 1; 0 2].
	spd := []float64{4, 2, 2, 5}
	if err := l.potrf(2, spd); err != nil || spd[0] != 2 || spd[1] != 1 || spd[3] != 2 {
		return fmt.Errorf("failed the self-check (dpotrf_ gave %v, %v)", spd, err)
	}
	return nil
}

// Origin says which implementation is in use and why.
func Origin() string { return origin }

// Warning is non-empty when PADIM_BLAS named a library or family that could
// not be used; the caller should show it, since the run falls back to gonum.
func Warning() string { return warning }

// CoreName is the kernel family OpenBLAS selected for this CPU, e.g.
// "Haswell" or "SkylakeX" ("Prescott" means it did not recognise the CPU and
// fell back to its slow generic kernels; see OPENBLAS_CORETYPE in the
// README); for other libraries it is the family name.
func CoreName() string {
	switch {
	case lib == nil:
		return "gonum"
	case lib.coreName != nil:
		return lib.coreName()
	}
	return lib.family
}

// SetThreads sets how many threads the loaded library uses (n <= 0, gonum
// and libraries without thread control leave it unchanged).
func SetThreads(n int) {
	if n > 0 && lib != nil && lib.setThreads != 0 {
		purego.SyscallN(lib.setThreads, uintptr(n))
	}
}

// testBackends lists the implementations a test can select with useForTest.
func testBackends() []string {
	if lib != nil {
		return []string{lib.family, "gonum"}
	}
	return []string{"gonum"}
}

// useForTest routes the calls to the named implementation until restore.
func useForTest(name string) (restore func()) {
	old := lib
	if name == "gonum" {
		lib = nil
	}
	return func() { lib = old }
}

// fortranArgs holds a call's scalar arguments, passed by pointer. An int
// slot is 64 bits; a 32-bit library reads its low half (both targets are
// little-endian) and the zeroed high half does not matter.
type fortranArgs struct {
	ints [6]int64
	f32  [2]float32
	f64  [2]float64
	ch   [4]byte
}

// fits reports whether the dimensions fit the library's integers; calls
// that do not (beyond 2^31-1 on a 32-bit library) go to gonum.
func (l *library) fits(dims ...int) bool {
	if l.ilp64 {
		return true
	}
	for _, d := range dims {
		if d > math.MaxInt32 {
			return false
		}
	}
	return true
}

func (l *library) info(v int64) int {
	if l.ilp64 {
		return int(v)
	}
	return int(int32(v))
}

func transChar(t bool) byte {
	if t {
		return 'T'
	}
	return 'N'
}

// The row-major calls are made as their column-major transposes: a
// row-major matrix read column-major is its transpose, so C = op(A) op(B)
// becomes C^T = op(B)^T op(A)^T and an upper triangle becomes a lower one.

func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if lib == nil || !lib.fits(m, n, k, lda, ldb, ldc) {
		gonumSgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	lib.sgemm32(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func (l *library) sgemm32(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	s := &fortranArgs{ints: [6]int64{int64(n), int64(m), int64(k), int64(ldb), int64(lda), int64(ldc)}, f32: [2]float32{alpha, beta}}
	s.ch[0], s.ch[1] = transChar(transB), transChar(transA)
	purego.SyscallN(l.sgemm,
		uintptr(unsafe.Pointer(&s.ch[0])), uintptr(unsafe.Pointer(&s.ch[1])),
		uintptr(unsafe.Pointer(&s.ints[0])), uintptr(unsafe.Pointer(&s.ints[1])), uintptr(unsafe.Pointer(&s.ints[2])),
		uintptr(unsafe.Pointer(&s.f32[0])),
		uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&s.ints[3])),
		uintptr(unsafe.Pointer(&a[0])), uintptr(unsafe.Pointer(&s.ints[4])),
		uintptr(unsafe.Pointer(&s.f32[1])),
		uintptr(unsafe.Pointer(&c[0])), uintptr(unsafe.Pointer(&s.ints[5])),
		1, 1) // the hidden lengths of the two character arguments
}

func dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if lib == nil || !lib.fits(m, n, k, lda, ldb, ldc) {
		gonumDgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	s := &fortranArgs{ints: [6]int64{int64(n), int64(m), int64(k), int64(ldb), int64(lda), int64(ldc)}, f64: [2]float64{alpha, beta}}
	s.ch[0], s.ch[1] = transChar(transB), transChar(transA)
	purego.SyscallN(lib.dgemm,
		uintptr(unsafe.Pointer(&s.ch[0])), uintptr(unsafe.Pointer(&s.ch[1])),
		uintptr(unsafe.Pointer(&s.ints[0])), uintptr(unsafe.Pointer(&s.ints[1])), uintptr(unsafe.Pointer(&s.ints[2])),
		uintptr(unsafe.Pointer(&s.f64[0])),
		uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&s.ints[3])),
		uintptr(unsafe.Pointer(&a[0])), uintptr(unsafe.Pointer(&s.ints[4])),
		uintptr(unsafe.Pointer(&s.f64[1])),
		uintptr(unsafe.Pointer(&c[0])), uintptr(unsafe.Pointer(&s.ints[5])),
		1, 1)
}

// dsyrk: row-major C = A^T A with A k x n is, column-major, C = A A^T with
// A n x k ('N'), and the row-major upper triangle is the column-major lower.
func dsyrk(n, k int, alpha float64, a []float64, lda int, beta float64, c []float64, ldc int) {
	if lib == nil || !lib.fits(n, k, lda, ldc) {
		gonumDsyrk(n, k, alpha, a, lda, beta, c, ldc)
		return
	}
	s := &fortranArgs{ints: [6]int64{int64(n), int64(k), int64(lda), int64(ldc)}, f64: [2]float64{alpha, beta}}
	s.ch[0], s.ch[1] = 'L', 'N'
	purego.SyscallN(lib.dsyrk,
		uintptr(unsafe.Pointer(&s.ch[0])), uintptr(unsafe.Pointer(&s.ch[1])),
		uintptr(unsafe.Pointer(&s.ints[0])), uintptr(unsafe.Pointer(&s.ints[1])),
		uintptr(unsafe.Pointer(&s.f64[0])),
		uintptr(unsafe.Pointer(&a[0])), uintptr(unsafe.Pointer(&s.ints[2])),
		uintptr(unsafe.Pointer(&s.f64[1])),
		uintptr(unsafe.Pointer(&c[0])), uintptr(unsafe.Pointer(&s.ints[3])),
		1, 1)
}

func choleskyUpper(n int, a []float64) error {
	if lib == nil || !lib.fits(n) {
		return gonumCholeskyUpper(n, a)
	}
	return lib.potrf(n, a)
}

// potrf factors by the column-major lower triangle ('L', A = L L^T); L read
// row-major is U = L^T with A = U^T U.
func (l *library) potrf(n int, a []float64) error {
	s := &fortranArgs{ints: [6]int64{int64(n), int64(n)}}
	s.ch[0] = 'L'
	purego.SyscallN(l.dpotrf,
		uintptr(unsafe.Pointer(&s.ch[0])), uintptr(unsafe.Pointer(&s.ints[0])),
		uintptr(unsafe.Pointer(&a[0])), uintptr(unsafe.Pointer(&s.ints[1])),
		uintptr(unsafe.Pointer(&s.ints[2])),
		1)
	switch info := l.info(s.ints[2]); {
	case info > 0:
		return fmt.Errorf("blas: matrix is not positive definite (leading minor %d)", info)
	case info != 0:
		return fmt.Errorf("blas: Cholesky factorisation failed (LAPACK info %d)", info)
	}
	return nil
}

// strsmRightUpper: row-major X U = B is, column-major, U^T X^T = B^T with
// U^T lower-triangular: side 'L', uplo 'L', no transpose, n x m.
func strsmRightUpper(m, n int, u []float32, ldu int, b []float32, ldb int) {
	if lib == nil || !lib.fits(m, n, ldu, ldb) {
		gonumStrsmRightUpper(m, n, u, ldu, b, ldb)
		return
	}
	s := &fortranArgs{ints: [6]int64{int64(n), int64(m), int64(ldu), int64(ldb)}, f32: [2]float32{1}}
	s.ch[0], s.ch[1], s.ch[2], s.ch[3] = 'L', 'L', 'N', 'N'
	purego.SyscallN(lib.strsm,
		uintptr(unsafe.Pointer(&s.ch[0])), uintptr(unsafe.Pointer(&s.ch[1])),
		uintptr(unsafe.Pointer(&s.ch[2])), uintptr(unsafe.Pointer(&s.ch[3])),
		uintptr(unsafe.Pointer(&s.ints[0])), uintptr(unsafe.Pointer(&s.ints[1])),
		uintptr(unsafe.Pointer(&s.f32[0])),
		uintptr(unsafe.Pointer(&u[0])), uintptr(unsafe.Pointer(&s.ints[2])),
		uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&s.ints[3])),
		1, 1, 1, 1)
}
