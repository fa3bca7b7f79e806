//go:build !amd64 || purego

package nn

// dw512Kernels is empty without the assembly: simd512 is false, so
// convDepthwise never looks at it.
var dw512Kernels [4][4]dw512Kernel

// dw512EdgeKernels is empty likewise.
var dw512EdgeKernels [4][4]dw512EdgeKernel

// dw512BorderKernels is empty likewise.
var dw512BorderKernels [2]dw512EdgeKernel
