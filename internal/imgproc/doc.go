// Package imgproc holds the single-channel float32 image kernels that turn a
// coarse patch-distance grid into a full-resolution anomaly map, defined to
// match the reference Python pipeline bit for bit (up to float rounding):
//
//   - ResizeBilinear is torch.nn.functional.interpolate(mode="bilinear",
//     align_corners=False) for an explicit output size, the upsampling the
//     PaDiM and SPADE reference code apply to their distance maps.
//   - GaussianBlur is scipy.ndimage.gaussian_filter with its defaults
//     (truncate=4.0, mode="reflect"), the smoothing both papers apply with
//     sigma=4.
//   - UpsampleNearest repeats every pixel into a factor x factor block.
//
// Images are row-major h x w slices (x varies fastest). Sizes that do not
// match the slice are programming errors, not data errors, and panic with a
// message naming the sizes, as an out-of-range slice index would.
package imgproc
