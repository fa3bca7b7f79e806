// Package nn holds the inference kernels the frozen backbones need:
// 2-D convolution (strided, padded, grouped and depthwise) with BatchNorm
// folded in at load time, activations, pooling, squeeze-and-excitation and
// residual addition. All kernels work on tensor.Tensor in NCHW order and
// follow PyTorch's definitions exactly, so torchvision weights apply 1:1.
package nn
