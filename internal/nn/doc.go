// Package nn holds the inference kernels the frozen backbones need:
// 2-D convolution (strided, padded, grouped and depthwise) with BatchNorm
// folded in at load time, activations, pooling, squeeze-and-excitation and
// residual addition. All kernels work on tensor.Tensor in NCHW order and
// follow PyTorch's definitions exactly, so torchvision weights apply 1:1.
//
// Convolutions run as tiled im2col + blas.Sgemm (1x1 stride-1 convolutions
// skip im2col); 3x3 stride-1 convolutions with at least 256 input and
// output channels as Winograd F(2x2,3x3) (conv_winograd.go: 16 GEMMs
// between input and output transforms, 2.25x fewer multiplies, measured
// faster only at those widths); depthwise ones as a direct kernel.
// Conv2D.ForwardAct fuses bias and activation into the tile epilogue. SiLU
// and Sigmoid use a float32 exp within one ulp (Expf). Work is split over
// SetThreads goroutines, with OpenBLAS kept single-threaded so the two do
// not oversubscribe the cores.
//
// On amd64 with AVX2 and FMA the element-wise kernels (bias, ReLU, SiLU,
// Sigmoid, exp, residual add, squeeze-and-excitation scaling, pooling
// sums) and the depthwise rows run as assembly (simd_amd64.s; SiLU and
// Sigmoid also in AVX-512), chosen at start-up; the Go versions are the
// fallback elsewhere and the reference the tests hold the assembly to.
// Convolution outputs come from tensor.NewScratch, so recycled buffers are
// reused; every kernel writes all of its output.
//
// Straightforward reference versions of every kernel live in *_ref.go and
// are what the tests compare against.
//
// Performance note: Debian's OpenBLAS 0.3.21 does not recognise recent Xeon
// models and falls back to its generic Prescott kernels, three times slower
// than its AVX-512 ones. Run with OPENBLAS_CORETYPE=SkylakeX (or Haswell on
// AVX2-only machines) in the environment; it must be set before the process
// starts, since OpenBLAS reads it while loading.
package nn
