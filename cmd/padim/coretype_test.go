package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/sys/cpu"

	"github.com/padim-go/padim/internal/blas"
)

func TestCoreTypeFor(t *testing.T) {
	for _, tc := range []struct {
		avx512, avx2 bool
		want         string
	}{{true, true, "SkylakeX"}, {false, true, "Haswell"}, {false, false, ""}} {
		if got := coreTypeFor(tc.avx512, tc.avx2); got != tc.want {
			t.Errorf("coreTypeFor(%v, %v) = %q, want %q", tc.avx512, tc.avx2, got, tc.want)
		}
	}
}

// TestCoreTypeReexec runs the binary without OPENBLAS_CORETYPE: when the
// loaded OpenBLAS falls back to generic kernels on a CPU with AVX2 or
// AVX-512, padim must re-execute itself with the matching OPENBLAS_CORETYPE
// (read by OpenBLAS when padim loads it); PADIM_OPENBLAS_AUTO=0 prevents it.
func TestCoreTypeReexec(t *testing.T) {
	if blas.Backend != "openblas" {
		t.Skipf("OpenBLAS not loaded: %s", blas.Origin())
	}
	bin := buildPadim(t)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OPENBLAS_CORETYPE=") && !strings.HasPrefix(kv, "PADIM_OPENBLAS_AUTO=") && !strings.HasPrefix(kv, "PADIM_BLAS=") {
			env = append(env, kv)
		}
	}
	kernels := func(extra ...string) (core, coretype string) {
		t.Helper()
		cmd := exec.Command(bin, "version")
		cmd.Env = append(env, extra...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("padim version: %v", err)
		}
		m := regexp.MustCompile(`linear algebra: openblas \(kernels (\S+), OPENBLAS_CORETYPE (\S+)\)`).FindStringSubmatch(string(out))
		if m == nil {
			t.Fatalf("padim version does not name OpenBLAS's kernels:\n%s", out)
		}
		return m[1], m[2]
	}
	want := coreTypeFor(cpu.X86.HasAVX512F, cpu.X86.HasAVX2 && cpu.X86.HasFMA)
	core, ct := kernels()
	native, nativeCT := kernels("PADIM_OPENBLAS_AUTO=0")
	if nativeCT != "unset" {
		t.Fatalf("PADIM_OPENBLAS_AUTO=0: OPENBLAS_CORETYPE %s, want unset", nativeCT)
	}
	t.Logf("OpenBLAS's own choice %s; padim runs with %s (OPENBLAS_CORETYPE %s)", native, core, ct)
	switch {
	case genericCores[strings.ToLower(native)] && want != "":
		if ct != want || !strings.EqualFold(core, want) {
			t.Fatalf("generic kernels %s on a CPU for %s: padim ran with %s, OPENBLAS_CORETYPE %s", native, want, core, ct)
		}
	default:
		if ct != "unset" || core != native {
			t.Fatalf("OpenBLAS chose %s itself, yet padim re-executed with OPENBLAS_CORETYPE %s (kernels %s)", native, ct, core)
		}
	}
}
