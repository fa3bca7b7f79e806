//go:build amd64 && !purego

package nn

import (
	"os"

	"golang.org/x/sys/cpu"
)

// packedEnabled selects convPacked for ungrouped convolutions: it needs
// AVX-512F and VL (the narrow kernels use 32 ymm registers), and the environment variable PADIM_CONV=blas turns it off
// (every ungrouped convolution then goes through OpenBLAS or gonum, as
// on CPUs without AVX-512), for comparisons and as an escape hatch. It is
// a variable so that the tests can compare both paths.
var packedEnabled = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && cpu.X86.HasAVX2 && cpu.X86.HasFMA && os.Getenv("PADIM_CONV") != "blas"

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

// The narrow kernels of gemm_amd64.s: t[8*(p*R+j)+r] = sum over k of
// a[p*ps+8k+r] * b[offs[k]+j] for the P channel panels p and the R = 1..8
// pixels j of a last panel; see packedNarrow.

//go:noescape
func gemm4x1(kc int, a *float32, ps int, b *float32, offs *int32, t *float32)

//go:noescape
func gemm1x1(kc int, a *float32, ps int, b *float32, offs *int32, t *float32)

//go:noescape
func gemm4x2(kc int, a *float32, ps int, b *float32, offs *int32, t *float32)

//go:noescape
func gemm1x2(kc int, a *float32, ps int, b *float32, offs *int32, t *float32)

//go:noescape
func gemm4x3(kc int, a *float32, ps int, b *float32, offs *int32, t *float32)

//go:noescape
func gemm1x3(kc int, a *float32, ps int, b *float32, offs *int32, t *float32)

//go:noescape
func gemm4x4(kc int, a *float32, ps int, b *float32, offs *int32, t *float32)

//go:noescape
func gemm1x4(kc int, a *float32, ps int, b *float32, offs *int32, t *float32)

//go:noescape
func gemm4x5(kc int, a *float32, ps int, b *float32, offs *int32, t *float32)

//go:noescape
func gemm1x5(kc int, a *float32, ps int, b *float32, offs *int32, t *float32)

//go:noescape
func gemm4x6(kc int, a *float32, ps int, b *float32, offs *int32, t *float32)

//go:noescape
func gemm1x6(kc int, a *float32, ps int, b *float32, offs *int32, t *float32)

//go:noescape
func gemm2x7(kc int, a *float32, ps int, b *float32, offs *int32, t *float32)

//go:noescape
func gemm1x7(kc int, a *float32, ps int, b *float32, offs *int32, t *float32)

//go:noescape
func gemm2x8(kc int, a *float32, ps int, b *float32, offs *int32, t *float32)

//go:noescape
func gemm1x8(kc int, a *float32, ps int, b *float32, offs *int32, t *float32)

// narrowPanels is how many channel panels the multi-panel narrow kernel
// for n pixels takes.
func narrowPanels(n int) int {
	if n <= 6 {
		return 4
	}
	return 2
}

// narrowKernel runs the narrow kernel for panels (1 or narrowPanels(n))
// channel panels ps floats apart and n (1..8) pixels. It calls each
// kernel by name, not through a table of function values: through those
// the compiler could not see that t does not escape, and packedNarrow's
// 1 KB result buffer was allocated on the heap at every call.
func narrowKernel(panels, n, kc int, a *float32, ps int, b *float32, offs *int32, t *float32) {
	if panels == 1 {
		switch n {
		case 1:
			gemm1x1(kc, a, ps, b, offs, t)
		case 2:
			gemm1x2(kc, a, ps, b, offs, t)
		case 3:
			gemm1x3(kc, a, ps, b, offs, t)
		case 4:
			gemm1x4(kc, a, ps, b, offs, t)
		case 5:
			gemm1x5(kc, a, ps, b, offs, t)
		case 6:
			gemm1x6(kc, a, ps, b, offs, t)
		case 7:
			gemm1x7(kc, a, ps, b, offs, t)
		case 8:
			gemm1x8(kc, a, ps, b, offs, t)
		default:
			panic("nn: narrow kernel for more than packedNarrowMax pixels")
		}
		return
	}
	switch n {
	case 1:
		gemm4x1(kc, a, ps, b, offs, t)
	case 2:
		gemm4x2(kc, a, ps, b, offs, t)
	case 3:
		gemm4x3(kc, a, ps, b, offs, t)
	case 4:
		gemm4x4(kc, a, ps, b, offs, t)
	case 5:
		gemm4x5(kc, a, ps, b, offs, t)
	case 6:
		gemm4x6(kc, a, ps, b, offs, t)
	case 7:
		gemm2x7(kc, a, ps, b, offs, t)
	case 8:
		gemm2x8(kc, a, ps, b, offs, t)
	default:
		panic("nn: narrow kernel for more than packedNarrowMax pixels")
	}
}
