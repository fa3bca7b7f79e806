//go:build purego

package nn

import (
	"strings"
	"testing"
)

// TestPuregoSelectsGoKernels checks that the purego tag leaves out the
// assembly whatever the CPU offers: no CPU-feature test turns a kernel
// on, and ConvKernels (which padim version prints) says so.
func TestPuregoSelectsGoKernels(t *testing.T) {
	if asmKernels || simdEnabled || simd512 || packedEnabled {
		t.Fatalf("purego build: asmKernels %v, simdEnabled %v, simd512 %v, packedEnabled %v; want all false",
			asmKernels, simdEnabled, simd512, packedEnabled)
	}
	if got := ConvKernels(); !strings.Contains(got, "no assembly kernels") {
		t.Fatalf("ConvKernels() = %q, want it to say there are no assembly kernels", got)
	}
}
