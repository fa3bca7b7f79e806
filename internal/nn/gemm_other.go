//go:build !amd64 || purego

package nn

// Without the assembly (not amd64, or the purego tag) there are no
// micro-kernels: packedEnabled is false and convGemm (OpenBLAS or gonum)
// runs every ungrouped convolution.
var packedEnabled = false

func packedKernel(width, kc int, a, b *float32, offs *int32, c *float32, ldc, mask, flags int, bias *float32) {
	panic("nn: packed GEMM kernels need the amd64 assembly (built without the purego tag)")
}

func narrowPanels(n int) int { return 1 }

func narrowKernel(panels, n, kc int, a *float32, ps int, b *float32, offs *int32, t *float32) {
	panic("nn: packed GEMM kernels need the amd64 assembly (built without the purego tag)")
}
