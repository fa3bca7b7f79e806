// Package padim implements PaDiM (Defard et al., "PaDiM: a Patch
// Distribution Modeling Framework for Anomaly Detection and Localization",
// ICPR 2021): every patch position of a fixed image grid gets a multivariate
// Gaussian fitted to the CNN features of normal training images at that
// position, and a test patch's anomaly score is its Mahalanobis distance to
// that Gaussian.
//
// Read gaussian.go first: it is the paper's Section 3 in code (embedding,
// per-position Gaussian, Mahalanobis distance). The rest is plumbing:
//
//   - gaussian_finalize.go: how Finalize writes the covariance factors over
//     the sums they come from, and in which order, so a fit never holds
//     both.
//   - parallel.go: forPositions, which shares grid positions among
//     goroutines.
//   - channels.go: which d of the concatenated channels are kept (seeded
//     random draw as in the paper, an explicit index file, or PCA).
//   - fitter.go: the features-in fit. A Fitter takes the backbone features
//     of training images batch by batch (Add) and returns the Model.
//   - score.go: the features-in scoring. Model.ScoreFeatures turns test
//     features into anomaly maps (upsample, Gaussian blur sigma 4) and
//     image scores (map maximum).
//   - pipeline.go: the drivers over that core. Fit reads image files
//     through datasets.BatchReader into a backbone and a Fitter;
//     Model.Score runs a batch of decoded images through a backbone.
//   - modelfile.go: the versioned, checksummed binary model file, read back
//     through a memory map so a multi-gigabyte model is not copied.
//
// Features in: every type of the API is public (images and features are
// nchw.Tensor, backbones.Backbone can be implemented anywhere), so a
// caller can fit and score with its own backbone or its own features; see
// ExampleFitter. nchw.Tensor is a plain struct rather than an interface
// because features are large (Wide-ResNet-50-2's layer1 is 256 x 56 x 56
// floats per image) and the embedding reads them plane by plane: a caller
// wraps its own slice, and nothing converts or copies it.
//
// Memory: the fit never holds all training embeddings. It keeps, per grid
// position, the float64 sum and the upper triangle of the sum of outer
// products in 32-row panels (about 1.06 x P*d*(d+1)/2*8 bytes: 4.0 GB for
// Wide-ResNet-50-2, d=550, 56x56 positions), plus a bounded float32 buffer
// of embeddings for FitConfig.AccumulateImages images (0.44 GB at the
// default 64). Finalize writes the float32 means and packed Cholesky
// factors of the covariances of the model (1.9 GB for the same setting) over the sums it
// has consumed and returns the rest to the OS, so the peak is the sums
// plus the buffer plus one batch of backbone activations (FitHeldBytes),
// independent of the number of images: Fit runs the garbage collector
// after every batch, since with a live heap this large Go's default pacing
// would let a live heap's worth of dead activations accumulate. `padim
// bench memory` measures it (reports/memory.md).
//
// Threads: Fit, Finalize and Mahalanobis split grid positions over
// goroutines and call BLAS once per position, single-threaded: forPositions
// sets OpenBLAS to one thread (package nn does the same for its
// convolutions, so this is the policy of the whole module). With two levels
// of threading the cores are oversubscribed: measured on 2 cores, when
// Finalize still inverted the covariances, inverting 3136 100x100 of them
// took 1.7 s with one OpenBLAS thread and 7.6 s without.
//
// Determinism: every position is computed by one goroutine from the same
// inputs in the same order, so results do not depend on Workers or
// GOMAXPROCS. Changing BatchSize or AccumulateImages regroups float64 sums
// and may move the last bits. The model file records no wall-clock time
// (only when SOURCE_DATE_EPOCH is set), so the same data, weights, seed and
// binary give a byte-identical file; TestModelFileDeterministic checks it
// for GOMAXPROCS 1 and 2 and BLAS threads 1 and 2.
//
// Validation: NaN or infinite backbone features (bad weights or input) are
// an error naming the layer and image, at fit and at scoring, and a fit
// whose Gaussians are not finite fails; a NaN never reaches a metric.
package padim
