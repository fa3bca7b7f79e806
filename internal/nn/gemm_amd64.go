//go:build amd64 && !purego

package nn

import (
	"os"

	"golang.org/x/sys/cpu"
)

// packedEnabled selects convPacked for ungrouped convolutions: it needs
// AVX-512F, and the environment variable PADIM_CONV=blas turns it off
// (every ungrouped convolution then goes through OpenBLAS or gonum, as
// on CPUs without AVX-512), for comparisons and as an escape hatch. It is
// a variable so that the tests can compare both paths.
var packedEnabled = cpu.X86.HasAVX512F && cpu.X86.HasAVX2 && cpu.X86.HasFMA && os.Getenv("PADIM_CONV") != "blas"

// The AVX-512 micro-kernels of gemm_amd64.s: C (8 rows of stride ldc) =
// act((flags&kernelLoad != 0 ? C : 0) + A^T B + (flags&kernelBias != 0 ?
// bias[r] : 0)) over kc depth steps, A packed kc x 8, depth row k of B the
// 16*nv floats at b + offs[k], act ReLU when flags&kernelReLU != 0; the
// last 16-lane vector of each row of B and C is read (and C's written)
// under mask.

//go:noescape
func gemm8x16(kc int, a, b *float32, offs *int32, c *float32, ldc, mask, flags int, bias *float32)

//go:noescape
func gemm8x32(kc int, a, b *float32, offs *int32, c *float32, ldc, mask, flags int, bias *float32)

//go:noescape
func gemm8x48(kc int, a, b *float32, offs *int32, c *float32, ldc, mask, flags int, bias *float32)

// packedKernel runs the micro-kernel for a panel of the given width.
func packedKernel(width, kc int, a, b *float32, offs *int32, c *float32, ldc, mask, flags int, bias *float32) {
	switch width {
	case 48:
		gemm8x48(kc, a, b, offs, c, ldc, mask, flags, bias)
	case 32:
		gemm8x32(kc, a, b, offs, c, ldc, mask, flags, bias)
	default:
		gemm8x16(kc, a, b, offs, c, ldc, mask, flags, bias)
	}
}

// The narrow kernels of gemm_amd64.s: t[8*j+r] = sum over k of a[8k+r] *
// b[offs[k]+j] for the R = 1..8 pixels j of a last panel; see
// packedNarrow.

//go:noescape
func gemm8x1(kc int, a, b *float32, offs *int32, t *float32)

//go:noescape
func gemm8x2(kc int, a, b *float32, offs *int32, t *float32)

//go:noescape
func gemm8x3(kc int, a, b *float32, offs *int32, t *float32)

//go:noescape
func gemm8x4(kc int, a, b *float32, offs *int32, t *float32)

//go:noescape
func gemm8x5(kc int, a, b *float32, offs *int32, t *float32)

//go:noescape
func gemm8x6(kc int, a, b *float32, offs *int32, t *float32)

//go:noescape
func gemm8x7(kc int, a, b *float32, offs *int32, t *float32)

//go:noescape
func gemm8x8(kc int, a, b *float32, offs *int32, t *float32)

// narrowKernels[r] is the kernel for a panel of r pixels.
var narrowKernels = [packedNarrowMax + 1]func(kc int, a, b *float32, offs *int32, t *float32){
	nil, gemm8x1, gemm8x2, gemm8x3, gemm8x4, gemm8x5, gemm8x6, gemm8x7, gemm8x8,
}

// narrowKernel runs the narrow kernel for a panel of n (1..8) pixels.
func narrowKernel(n, kc int, a, b *float32, offs *int32, t *float32) {
	narrowKernels[n](kc, a, b, offs, t)
}
