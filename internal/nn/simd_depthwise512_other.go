//go:build !amd64 || purego

package nn

// Without the assembly simd512 is false, so convDepthwise never calls
// these.

func dw512Block(nv, l int, d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32) {
	panic("nn: AVX-512 depthwise block without the assembly")
}

func dw512EdgeBlock(nv, l int, d, src *float32, dStride, sStride int, mask uint64, offs []int, w, bias *float32, edges []uint32, chans, plane, wStride int) {
	panic("nn: AVX-512 depthwise block without the assembly")
}

func dw512BorderBlock(nv int, d, src *float32, dStride, sStride int, mask uint64, offs []int, w, bias *float32, edges []uint32, chans, plane, wStride int) {
	panic("nn: AVX-512 depthwise block without the assembly")
}
