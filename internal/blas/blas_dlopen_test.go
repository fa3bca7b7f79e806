//go:build !purego && (linux || darwin) && (amd64 || arm64)

package blas

import (
	"math/rand"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/ebitengine/purego"
)

// restoreChoice re-runs the package's own choice after a test that called
// choose with another PADIM_BLAS value.
func restoreChoice(t *testing.T) {
	t.Cleanup(func() { choose(envChoice()) })
}

func TestChooseGonumForced(t *testing.T) {
	restoreChoice(t)
	choose("gonum")
	if Backend != "gonum" || lib != nil || CoreName() != "gonum" {
		t.Fatalf("PADIM_BLAS=gonum gave backend %q, core %q", Backend, CoreName())
	}
	if !strings.Contains(Origin(), "PADIM_BLAS=gonum") || Warning() != "" {
		t.Fatalf("origin %q, warning %q", Origin(), Warning())
	}
}

// A library the user names but that cannot be loaded falls back to gonum
// with a warning naming the file; so does a value that means nothing.
func TestChooseExplicitFailure(t *testing.T) {
	restoreChoice(t)
	missing := t.TempDir() + "/libnothere.so"
	choose(missing)
	if Backend != "gonum" || !strings.Contains(Warning(), missing) || !strings.Contains(Origin(), missing) {
		t.Fatalf("missing library: backend %q, warning %q, origin %q", Backend, Warning(), Origin())
	}
	choose("fastest")
	if Backend != "gonum" || !strings.Contains(Warning(), `"fastest"`) {
		t.Fatalf("unknown value: backend %q, warning %q", Backend, Warning())
	}
	if runtime.GOOS == "linux" {
		choose("accelerate")
		if Backend != "gonum" || !strings.Contains(Warning(), "no accelerate library on linux") {
			t.Fatalf("accelerate on linux: backend %q, warning %q", Backend, Warning())
		}
	}
	// A file that is not a shared library.
	notLib := t.TempDir() + "/libfake.so"
	if err := os.WriteFile(notLib, []byte("not an ELF file"), 0o644); err != nil {
		t.Fatal(err)
	}
	choose(notLib)
	if Backend != "gonum" || !strings.Contains(Warning(), notLib) {
		t.Fatalf("non-library: backend %q, warning %q", Backend, Warning())
	}
}

// A library without LAPACK (here the C library itself, which has no BLAS
// either) is refused, naming what it lacks.
func TestChooseLibraryWithoutSymbols(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("uses glibc's soname")
	}
	restoreChoice(t)
	choose("libc.so.6")
	if Backend != "gonum" || !strings.Contains(Warning(), "lacks sgemm_") {
		t.Fatalf("backend %q, warning %q", Backend, Warning())
	}
}

// requireOpenBLAS skips unless OpenBLAS was found; CI installs it, and
// PADIM_REQUIRE_OPENBLAS=1 (set by .ci/run) turns the skip into a failure
// unless PADIM_BLAS asked for something else.
func requireOpenBLAS(t *testing.T) {
	t.Helper()
	if lib == nil || lib.family != "openblas" {
		if want := envChoice(); os.Getenv("PADIM_REQUIRE_OPENBLAS") == "1" && (want == "" || want == "auto" || want == "openblas") {
			t.Fatalf("OpenBLAS was not loaded: %s", Origin())
		}
		t.Skipf("OpenBLAS not loaded: %s", Origin())
	}
}

func TestChooseOpenBLAS(t *testing.T) {
	requireOpenBLAS(t)
	restoreChoice(t)
	choose("openblas")
	if Backend != "openblas" || Warning() != "" || !strings.Contains(Origin(), "PADIM_BLAS=openblas") {
		t.Fatalf("backend %q, warning %q, origin %q", Backend, Warning(), Origin())
	}
	if CoreName() == "" || CoreName() == "openblas" {
		t.Fatalf("CoreName %q, want OpenBLAS's kernel family", CoreName())
	}
	t.Logf("origin: %s", Origin())
}

// SetThreads must reach the loaded library.
func TestSetThreads(t *testing.T) {
	requireOpenBLAS(t)
	if lib.getThreads == 0 {
		t.Fatal("OpenBLAS loaded without openblas_get_num_threads")
	}
	get := func() int {
		r, _, _ := purego.SyscallN(lib.getThreads)
		return int(int32(r))
	}
	defer SetThreads(get())
	for _, n := range []int{1, 2} {
		SetThreads(n)
		if got := get(); got != n {
			t.Fatalf("after SetThreads(%d) the library uses %d threads", n, got)
		}
	}
}

// Large products while the collector runs: the slices are passed as raw
// addresses, which is safe only because the Go heap does not move and
// SyscallN keeps its arguments alive. The result must match gonum's.
func TestLargeSgemmUnderGC(t *testing.T) {
	requireOpenBLAS(t)
	const m, n, k = 300, 257, 513
	rng := rand.New(rand.NewSource(5))
	a, b := make([]float32, m*k), make([]float32, k*n)
	for i := range a {
		a[i] = float32(rng.NormFloat64())
	}
	for i := range b {
		b[i] = float32(rng.NormFloat64())
	}
	want := make([]float32, m*n)
	gonumSgemm(false, false, m, n, k, 1, a, k, b, n, 0, want, n)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				_ = make([]byte, 1<<20)
				runtime.GC()
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	for round := 0; round < 20; round++ {
		c := make([]float32, m*n)
		Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
		for i := range c {
			if d := c[i] - want[i]; d > 1e-3 || d < -1e-3 {
				t.Fatalf("round %d: c[%d] = %v, gonum %v", round, i, c[i], want[i])
			}
		}
	}
}
