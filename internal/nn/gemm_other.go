//go:build !amd64

package nn

// Without amd64 assembly there are no micro-kernels: usePacked is false
// and convGemm (OpenBLAS or gonum) runs every ungrouped convolution.
var packedEnabled = false

func packedKernel(width, kc int, a, b *float32, offs *int32, c *float32, ldc, mask, flags int, bias *float32) {
	panic("nn: packed GEMM kernels need amd64")
}
