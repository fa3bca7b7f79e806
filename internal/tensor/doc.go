// Package tensor holds the dense float32 array that flows through the
// feature extractors: a batch of images or feature maps in NCHW order.
//
// It is deliberately small: a shape and a flat slice. Kernels that
// transform tensors live in package nn.
package tensor
