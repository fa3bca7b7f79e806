package main

import (
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/cpu"

	"github.com/padim-go/padim/internal/blas"
)

// genericCores are the kernel families OpenBLAS falls back to when it does
// not recognise the processor: correct, but several times slower than the
// processor's own.
var genericCores = map[string]bool{"prescott": true, "core2": true, "katmai": true, "coppermine": true, "northwood": true, "banias": true}

// coreTypeFor picks the OpenBLAS kernels a processor can run, from its
// instruction sets: SkylakeX for AVX-512, Haswell for AVX2 + FMA.
func coreTypeFor(avx512, avx2fma bool) string {
	switch {
	case avx512:
		return "SkylakeX"
	case avx2fma:
		return "Haswell"
	}
	return ""
}

// ensureFastOpenBLAS re-executes the program with OPENBLAS_CORETYPE set when
// OpenBLAS did not recognise this processor and fell back to generic
// kernels (Debian 12's OpenBLAS 0.3.21 on Sapphire/Emerald Rapids does: about
// three times slower). OpenBLAS reads the variable when it loads, so setting
// it needs a new process. Nothing happens when the variable is already set,
// when PADIM_OPENBLAS_AUTO=0, or with the pure-Go backend. The parity tests
// pass with the selected kernels (README, Performance).
func ensureFastOpenBLAS() {
	if blas.Backend != "openblas" || os.Getenv("OPENBLAS_CORETYPE") != "" || os.Getenv("PADIM_OPENBLAS_AUTO") == "0" {
		return
	}
	if !genericCores[strings.ToLower(blas.CoreName())] {
		return
	}
	ct := coreTypeFor(cpu.X86.HasAVX512F, cpu.X86.HasAVX2 && cpu.X86.HasFMA)
	if ct == "" {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	env := append(os.Environ(), "OPENBLAS_CORETYPE="+ct)
	// On success Exec does not return; on failure we carry on with generic kernels.
	_ = syscall.Exec(exe, os.Args, env)
}
