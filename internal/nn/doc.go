// Package nn holds the inference kernels the frozen backbones need:
// 2-D convolution (strided, padded, grouped and depthwise) with BatchNorm
// folded in at load time, activations, pooling, squeeze-and-excitation and
// residual addition. All kernels work on tensor.Tensor in NCHW order and
// follow PyTorch's definitions exactly, so torchvision weights apply 1:1.
//
// Convolutions run as tiled im2col + blas.Sgemm (1x1 stride-1 convolutions
// skip im2col), depthwise ones as a direct kernel; Conv2D.ForwardAct fuses
// bias and activation into the tile epilogue. SiLU and Sigmoid use a float32
// exp within one ulp (Expf). Work is split over SetThreads goroutines, with
// OpenBLAS kept single-threaded so the two do not oversubscribe the cores.
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
