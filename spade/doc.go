// Package spade implements the SPADE baseline (Cohen and Hoshen, "Sub-Image
// Anomaly Detection with Deep Pyramid Correspondences", 2020) as the PaDiM
// paper compares against it, on features from package backbones.
//
// Features in: New makes an empty model, AddTrain adds the features of
// training images and Score or ScoreBatch score the features of test
// images. The features are backbones.Features of public nchw.Tensor
// values, so they can come from any backbone, including one implemented
// outside this module (see Example); running the images through the
// backbone is the caller's loop (the experiments use datasets.BatchReader).
//
// Image level. Every image is summarised by the global average pool of one
// layer (Config.PoolLayer). SPADE and the PaDiM paper use the avgpool after
// layer4 of a Wide-ResNet-50-2; the shared ResNet-18 weights stop at layer3,
// so the caller picks the layer and Model.Config records it. The image score
// is the mean Euclidean distance to the K nearest training vectors (K = 50
// in SPADE).
//
// Pixel level. For each layer of Config.PixelLayers (layer1, layer2, layer3
// in SPADE) and each test position, the score is the distance to the nearest
// (kappa = 1) feature among all positions of the feature maps of the
// GalleryK nearest training images (by the image-level distance; GalleryK
// defaults to K). Each layer's distance map is upsampled to Height x Width
// with bilinear interpolation (align_corners=False), the layer maps are
// averaged with equal weights, and the result is smoothed with a Gaussian of
// sigma 4 (scipy.ndimage.gaussian_filter defaults: truncate 4, reflect).
//
// This combination is the one of the widely used SPADE-pytorch code
// (byungjae89/SPADE-pytorch, src/main.py): upsample each layer's min-distance
// map to the input size, take the mean over layers, then blur. Two details
// differ on purpose: that code uses one top_k (default 5) for both the image
// score and the gallery where this package follows the paper (K = 50, and
// GalleryK may be set separately to trade accuracy for time), and it computes
// distances with torch.pairwise_distance, which adds 1e-6 to every
// coordinate difference; here distances are exact Euclidean distances.
//
// Computation. Nearest neighbours are found with float32 matrix products
// (blas.Sgemm) through ||a||^2 + ||b||^2 - 2 a.b, one training image's
// positions at a time, with Config.Workers goroutines each reducing its own
// block. The float32 expansion loses precision when two vectors are close
// relative to their norms, so the distance to each selected neighbour is
// recomputed exactly in float64 before it is reported; only the choice of
// neighbour among near-ties depends on float32 rounding. Ties are broken by
// the lower training index, so results do not depend on scheduling.
//
// Cost. The pixel gallery search is the expensive part: per test image and
// layer it is 2 * P * (GalleryK * P) * C flops for P positions of C channels,
// about 63 GFLOP for ResNet-18 layer1 at 224 x 224 with GalleryK = 50 (and
// four times that for Wide-ResNet-50-2). GalleryK scales it linearly.
//
// Memory. The model keeps every training image's features: for each pixel
// layer H*W*(C+1) float32 (the features, stored position-major for the
// matrix products, plus their squared norms), and C+1 for the pooled vector.
// With ResNet-18 at 224 x 224 (layer1 64x56x56, layer2 128x28x28, layer3
// 256x14x14) that is about 1.4 MB per training image (1.1 GB for 762
// images); with Wide-ResNet-50-2 about 5.6 MB per image. Scoring allocates
// Workers blocks of P x P float32 for the largest layer (39 MB each for a
// 56 x 56 layer1).
package spade
