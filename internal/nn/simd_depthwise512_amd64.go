//go:build amd64 && !purego

package nn

// The AVX-512 depthwise kernels of simd_depthwise512_amd64.s, written by
// asmgen/depthwise512.go. simdDW512V<nv>R<nr>(d, src, dStride, sStride,
// mask, offs, w, b) computes a block of nr output rows of nv 16-lane
// vectors: for r < nr and i < 16*nv in the lanes mask leaves to the last
// vector, d[r*dStride+i] = b + sum over taps t of w[t]*src[r*sStride+offs[t]+i],
// the taps added in order with FMA, as simdDepthwiseRow adds them. The last
// vector's loads and stores are masked, so the caller guarantees only the
// elements the block uses: len(w) == len(offs) > 0, and every
// src[r*sStride+offs[t]+i] and d[r*dStride+i] of the block in bounds.

//go:noescape
func simdDW512V1R1(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32)

//go:noescape
func simdDW512V1R2(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32)

//go:noescape
func simdDW512V1R4(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32)

//go:noescape
func simdDW512V1R8(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32)

//go:noescape
func simdDW512V2R1(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32)

//go:noescape
func simdDW512V2R2(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32)

//go:noescape
func simdDW512V2R4(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32)

//go:noescape
func simdDW512V2R8(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32)

//go:noescape
func simdDW512V3R1(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32)

//go:noescape
func simdDW512V3R2(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32)

//go:noescape
func simdDW512V3R4(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32)

//go:noescape
func simdDW512V4R1(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32)

//go:noescape
func simdDW512V4R2(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32)

//go:noescape
func simdDW512V4R4(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32)

// dw512Kernels indexes the kernels by vectors-1 and log2(rows); nil where
// a shape would need more than 16 accumulators.
var dw512Kernels = [4][4]dw512Kernel{
	{simdDW512V1R1, simdDW512V1R2, simdDW512V1R4, simdDW512V1R8},
	{simdDW512V2R1, simdDW512V2R2, simdDW512V2R4, simdDW512V2R8},
	{simdDW512V3R1, simdDW512V3R2, simdDW512V3R4, nil},
	{simdDW512V4R1, simdDW512V4R2, simdDW512V4R4, nil},
}

// simdDW512EdgeV<nv>R<nr>(d, src, dStride, sStride, mask, offs, w, b, edges)
// is the same block reading an unpadded plane: offs[t] may be negative,
// and tap t's FMAs of the first and last vector take the lane masks
// edges[2t] and edges[2t+1] (edges[2t] alone when nv is 1), lanes outside
// the masks skipping the tap. The caller guarantees every element read
// under the masks (and every full middle vector) in bounds.

//go:noescape
func simdDW512EdgeV1R1(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32, edges []uint32)

//go:noescape
func simdDW512EdgeV1R2(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32, edges []uint32)

//go:noescape
func simdDW512EdgeV1R4(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32, edges []uint32)

//go:noescape
func simdDW512EdgeV1R8(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32, edges []uint32)

//go:noescape
func simdDW512EdgeV2R1(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32, edges []uint32)

//go:noescape
func simdDW512EdgeV2R2(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32, edges []uint32)

//go:noescape
func simdDW512EdgeV2R4(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32, edges []uint32)

//go:noescape
func simdDW512EdgeV2R8(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32, edges []uint32)

//go:noescape
func simdDW512EdgeV3R1(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32, edges []uint32)

//go:noescape
func simdDW512EdgeV3R2(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32, edges []uint32)

//go:noescape
func simdDW512EdgeV3R4(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32, edges []uint32)

//go:noescape
func simdDW512EdgeV4R1(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32, edges []uint32)

//go:noescape
func simdDW512EdgeV4R2(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32, edges []uint32)

//go:noescape
func simdDW512EdgeV4R4(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32, edges []uint32)

// dw512EdgeKernels indexes the edge-masked kernels as dw512Kernels.
var dw512EdgeKernels = [4][4]dw512EdgeKernel{
	{simdDW512EdgeV1R1, simdDW512EdgeV1R2, simdDW512EdgeV1R4, simdDW512EdgeV1R8},
	{simdDW512EdgeV2R1, simdDW512EdgeV2R2, simdDW512EdgeV2R4, simdDW512EdgeV2R8},
	{simdDW512EdgeV3R1, simdDW512EdgeV3R2, simdDW512EdgeV3R4, nil},
	{simdDW512EdgeV4R1, simdDW512EdgeV4R2, simdDW512EdgeV4R4, nil},
}

// simdDW512BorderV<nv> is simdDW512EdgeV<nv>R2 with masks per tap and row:
// edges[4t+2r] and edges[4t+2r+1] for the first and last vector of row r
// (edges[4t+2r] alone when nv is 1), an empty mask where the tap's input
// row lies outside the plane.
//
//go:noescape
func simdDW512BorderV1(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32, edges []uint32)

//go:noescape
func simdDW512BorderV2(d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32, edges []uint32)

// dw512BorderKernels indexes the border-pair kernels by vectors-1.
var dw512BorderKernels = [2]dw512EdgeKernel{simdDW512BorderV1, simdDW512BorderV2}
