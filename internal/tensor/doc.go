// Package tensor holds what the feature extractors need beyond the public
// nchw.Tensor it aliases: stacking images into a batch and recycling the
// large buffers a forward pass allocates (recycle.go).
//
// Kernels that transform tensors live in package nn.
package tensor
