//go:build amd64 && !purego

package nn

import "fmt"

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

// dw512Block runs simdDW512V<nv>R<2^l>. The kernels are called by name:
// through a table of function values, every call went through the
// wrapper that adapts Go's register calling convention to the assembly's
// stack one, and those wrappers took 14% of the time of the 14x14
// depthwise convolutions, whose planes need several calls each for few
// FMAs (pprof, BenchmarkConv).
func dw512Block(nv, l int, d, src *float32, dStride, sStride int, mask uint64, offs []int, w []float32, b float32) {
	switch nv<<2 | l {
	case 1<<2 | 0:
		simdDW512V1R1(d, src, dStride, sStride, mask, offs, w, b)
	case 1<<2 | 1:
		simdDW512V1R2(d, src, dStride, sStride, mask, offs, w, b)
	case 1<<2 | 2:
		simdDW512V1R4(d, src, dStride, sStride, mask, offs, w, b)
	case 1<<2 | 3:
		simdDW512V1R8(d, src, dStride, sStride, mask, offs, w, b)
	case 2<<2 | 0:
		simdDW512V2R1(d, src, dStride, sStride, mask, offs, w, b)
	case 2<<2 | 1:
		simdDW512V2R2(d, src, dStride, sStride, mask, offs, w, b)
	case 2<<2 | 2:
		simdDW512V2R4(d, src, dStride, sStride, mask, offs, w, b)
	case 2<<2 | 3:
		simdDW512V2R8(d, src, dStride, sStride, mask, offs, w, b)
	case 3<<2 | 0:
		simdDW512V3R1(d, src, dStride, sStride, mask, offs, w, b)
	case 3<<2 | 1:
		simdDW512V3R2(d, src, dStride, sStride, mask, offs, w, b)
	case 3<<2 | 2:
		simdDW512V3R4(d, src, dStride, sStride, mask, offs, w, b)
	case 4<<2 | 0:
		simdDW512V4R1(d, src, dStride, sStride, mask, offs, w, b)
	case 4<<2 | 1:
		simdDW512V4R2(d, src, dStride, sStride, mask, offs, w, b)
	case 4<<2 | 2:
		simdDW512V4R4(d, src, dStride, sStride, mask, offs, w, b)
	default:
		panic(fmt.Sprintf("nn: no depthwise block of %d vectors and %d rows", nv, 1<<l))
	}
}

// simdDW512EdgeV<nv>R<nr>(d, src, dStride, sStride, mask, offs, w, bias, edges, chans, plane, wStride)
// is the same block reading an unpadded plane: offs[t] may be negative,
// and tap t's FMAs of the first and last vector take the lane masks
// edges[2t] and edges[2t+1] (edges[2t] alone when nv is 1), lanes outside
// the masks skipping the tap. The caller guarantees every element read
// under the masks (and every full middle vector) in bounds.

//go:noescape
func simdDW512EdgeV1R1(d, src *float32, dStride, sStride int, mask uint64, offs []int, w, bias *float32, edges []uint32, chans, plane, wStride int)

//go:noescape
func simdDW512EdgeV1R2(d, src *float32, dStride, sStride int, mask uint64, offs []int, w, bias *float32, edges []uint32, chans, plane, wStride int)

//go:noescape
func simdDW512EdgeV1R4(d, src *float32, dStride, sStride int, mask uint64, offs []int, w, bias *float32, edges []uint32, chans, plane, wStride int)

//go:noescape
func simdDW512EdgeV1R8(d, src *float32, dStride, sStride int, mask uint64, offs []int, w, bias *float32, edges []uint32, chans, plane, wStride int)

//go:noescape
func simdDW512EdgeV2R1(d, src *float32, dStride, sStride int, mask uint64, offs []int, w, bias *float32, edges []uint32, chans, plane, wStride int)

//go:noescape
func simdDW512EdgeV2R2(d, src *float32, dStride, sStride int, mask uint64, offs []int, w, bias *float32, edges []uint32, chans, plane, wStride int)

//go:noescape
func simdDW512EdgeV2R4(d, src *float32, dStride, sStride int, mask uint64, offs []int, w, bias *float32, edges []uint32, chans, plane, wStride int)

//go:noescape
func simdDW512EdgeV2R8(d, src *float32, dStride, sStride int, mask uint64, offs []int, w, bias *float32, edges []uint32, chans, plane, wStride int)

//go:noescape
func simdDW512EdgeV3R1(d, src *float32, dStride, sStride int, mask uint64, offs []int, w, bias *float32, edges []uint32, chans, plane, wStride int)

//go:noescape
func simdDW512EdgeV3R2(d, src *float32, dStride, sStride int, mask uint64, offs []int, w, bias *float32, edges []uint32, chans, plane, wStride int)

//go:noescape
func simdDW512EdgeV3R4(d, src *float32, dStride, sStride int, mask uint64, offs []int, w, bias *float32, edges []uint32, chans, plane, wStride int)

//go:noescape
func simdDW512EdgeV4R1(d, src *float32, dStride, sStride int, mask uint64, offs []int, w, bias *float32, edges []uint32, chans, plane, wStride int)

//go:noescape
func simdDW512EdgeV4R2(d, src *float32, dStride, sStride int, mask uint64, offs []int, w, bias *float32, edges []uint32, chans, plane, wStride int)

//go:noescape
func simdDW512EdgeV4R4(d, src *float32, dStride, sStride int, mask uint64, offs []int, w, bias *float32, edges []uint32, chans, plane, wStride int)

// dw512EdgeBlock runs simdDW512EdgeV<nv>R<2^l>, called by name as in
// dw512Block.
func dw512EdgeBlock(nv, l int, d, src *float32, dStride, sStride int, mask uint64, offs []int, w, bias *float32, edges []uint32, chans, plane, wStride int) {
	switch nv<<2 | l {
	case 1<<2 | 0:
		simdDW512EdgeV1R1(d, src, dStride, sStride, mask, offs, w, bias, edges, chans, plane, wStride)
	case 1<<2 | 1:
		simdDW512EdgeV1R2(d, src, dStride, sStride, mask, offs, w, bias, edges, chans, plane, wStride)
	case 1<<2 | 2:
		simdDW512EdgeV1R4(d, src, dStride, sStride, mask, offs, w, bias, edges, chans, plane, wStride)
	case 1<<2 | 3:
		simdDW512EdgeV1R8(d, src, dStride, sStride, mask, offs, w, bias, edges, chans, plane, wStride)
	case 2<<2 | 0:
		simdDW512EdgeV2R1(d, src, dStride, sStride, mask, offs, w, bias, edges, chans, plane, wStride)
	case 2<<2 | 1:
		simdDW512EdgeV2R2(d, src, dStride, sStride, mask, offs, w, bias, edges, chans, plane, wStride)
	case 2<<2 | 2:
		simdDW512EdgeV2R4(d, src, dStride, sStride, mask, offs, w, bias, edges, chans, plane, wStride)
	case 2<<2 | 3:
		simdDW512EdgeV2R8(d, src, dStride, sStride, mask, offs, w, bias, edges, chans, plane, wStride)
	case 3<<2 | 0:
		simdDW512EdgeV3R1(d, src, dStride, sStride, mask, offs, w, bias, edges, chans, plane, wStride)
	case 3<<2 | 1:
		simdDW512EdgeV3R2(d, src, dStride, sStride, mask, offs, w, bias, edges, chans, plane, wStride)
	case 3<<2 | 2:
		simdDW512EdgeV3R4(d, src, dStride, sStride, mask, offs, w, bias, edges, chans, plane, wStride)
	case 4<<2 | 0:
		simdDW512EdgeV4R1(d, src, dStride, sStride, mask, offs, w, bias, edges, chans, plane, wStride)
	case 4<<2 | 1:
		simdDW512EdgeV4R2(d, src, dStride, sStride, mask, offs, w, bias, edges, chans, plane, wStride)
	case 4<<2 | 2:
		simdDW512EdgeV4R4(d, src, dStride, sStride, mask, offs, w, bias, edges, chans, plane, wStride)
	default:
		panic(fmt.Sprintf("nn: no edge-masked depthwise block of %d vectors and %d rows", nv, 1<<l))
	}
}

// simdDW512BorderV<nv> is simdDW512EdgeV<nv>R2 with masks per tap and row:
// edges[4t+2r] and edges[4t+2r+1] for the first and last vector of row r
// (edges[4t+2r] alone when nv is 1), an empty mask where the tap's input
// row lies outside the plane.
//
//go:noescape
func simdDW512BorderV1(d, src *float32, dStride, sStride int, mask uint64, offs []int, w, bias *float32, edges []uint32, chans, plane, wStride int)

//go:noescape
func simdDW512BorderV2(d, src *float32, dStride, sStride int, mask uint64, offs []int, w, bias *float32, edges []uint32, chans, plane, wStride int)

// dw512BorderBlock runs simdDW512BorderV<nv>, called by name as in
// dw512Block.
func dw512BorderBlock(nv int, d, src *float32, dStride, sStride int, mask uint64, offs []int, w, bias *float32, edges []uint32, chans, plane, wStride int) {
	switch nv {
	case 1:
		simdDW512BorderV1(d, src, dStride, sStride, mask, offs, w, bias, edges, chans, plane, wStride)
	case 2:
		simdDW512BorderV2(d, src, dStride, sStride, mask, offs, w, bias, edges, chans, plane, wStride)
	default:
		panic(fmt.Sprintf("nn: no depthwise border-pair block of %d vectors", nv))
	}
}
