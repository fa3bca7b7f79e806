// Package datasets finds, decodes and preprocesses the images of the
// anomaly-detection benchmarks the harness runs on, identically to the
// PyTorch/PIL reference pipeline, and generates a small synthetic
// MVTec-style dataset for tests.
//
// # Loaders
//
// LoadMVTec (and ListMVTecCategories), LoadFolder, LoadMagneticTile and
// LoadSTC return a *Split of Samples in a deterministic order. The
// magnetic tile split follows the project protocol exactly (MT_Free sorted
// by name, index i%5 == 4 to test; 762 train, 190 + 392 test); its
// geometry is MagneticTilePreprocess (squash to 224x224). ShanghaiTech
// Campus pixel masks are 3-D .npy arrays, one per video: a Sample points
// at the video's file and MaskIndex selects the frame.
//
// # Decoding
//
// ReadRGB matches PIL's Image.open(p).convert("RGB") bit for bit on png
// and bmp (every PIL mode: RGB, RGBA, L, LA, P, 1, 16-bit RGB, and 16-bit
// gray, which PIL clips to 255 rather than scales — matched on purpose,
// see ReadRGB) and on CMYK jpeg up to the IDCT. For YCbCr jpeg the package
// redoes what libjpeg does after the IDCT — fancy (triangle) chroma
// upsampling and libjpeg's fixed-point colour conversion — because Go's
// nearest-neighbour chroma replication alone differs from PIL by up to 52
// levels on 4:2:0 files. What remains is Go's integer IDCT, which rounds
// differently from libjpeg's: measured against PIL 9.4 on all 1344
// grayscale Magnetic Tile jpgs of the shared data, every image differs
// somewhere, by at most 1 level, mean |difference| 0.021 (2.1% of samples
// are off by one); on the colour fixtures max 3 (4:4:4) and 2 (4:2:0),
// mean below 0.05. Headers are checked (dimensions, MaxPixels) before
// pixel memory is allocated; empty, truncated, corrupt and unsupported
// (gif, tiff, webp, text) files give errors naming the file.
//
// # Validation
//
// Split.Validate checks every image and mask of a split from its header alone
// (exists, non-empty, png/jpeg/bmp by content, size in range, masks present
// and the size of their images): 4-7 ms for the 292 files of MVTec bottle,
// 80-140 ms for the 1344 images + 392 masks of Magnetic Tile, so
// commands can reject a bad file before an expensive fit; it lists up to 20
// problems, each naming its file. FuzzDecodeImage fuzzes the whole decoding
// path from a committed corpus of tiny files of every PIL mode.
//
// # Preprocessing
//
// Preprocess reproduces torchvision's Resize(256) + CenterCrop(224) (or a
// squash to Height x Width) on PIL images, then ToTensor + Normalize with
// the ImageNet statistics in float32. Resampling is PIL 9's separable
// two-pass convolution with 22-bit fixed-point weights and uint8 rounding
// and clipping after each pass; the fixtures in testdata/datasets/pil
// (scripts/pil_fixtures.py) pass bit-exactly for all four filters, both
// modes, up- and down-scaling and every input mode, and the normalised
// tensor matches torchvision's float32 output exactly.
//
// The default filter is Lanczos because the widely used PaDiM reference
// implementation resizes images with Image.ANTIALIAS (= LANCZOS), and
// PaDiM's published numbers come from that pipeline; torchvision's own
// default, Bilinear, and Bicubic and Nearest are available. Masks are
// always resized with Nearest (as the reference code does), after
// thresholding at full resolution, which is equivalent because Nearest
// never blends: gray > 127 is defect (this also removes the jpeg-like
// noise in the magnetic tile masks), except for image masks whose values
// are only 0 and 1, where > 0 is used so they are not erased; .npy masks
// use != 0. Colour masks are reduced to gray with PIL's "L" weights.
//
// # Rd-MVTec AD augmentation
//
// With RandomRotate and RandomCrop (RdMVTecPreprocess), the image is
// resized (shorter side 256), rotated about its centre by an angle drawn
// uniformly from [-10, 10] degrees (counter-clockwise positive, output
// size kept), then a 224x224 window is cropped at a uniformly random
// offset. The rotation samples the source bilinearly (neighbours clamped
// at the border, rounded half up) and fills points that fall outside the
// source with black, torchvision RandomRotation's default fill; masks use
// nearest neighbour and fill 0 (not defect). The draws come from a
// SplitMix64 stream seeded by (Seed, last three elements of the image
// path), so they are reproducible, independent of where the data lives,
// and shared by an image and its mask (use SampleMask).
//
// # Synthetic data and downloads
//
// GenerateSynthetic writes textures (stripes, grid, noise) and objects
// (disc, bottle) with scratch, spot and missing-part anomalies and exact
// masks, bit-identical for a seed. MVTecADArchives lists the official
// MVTec AD archive URLs for a fetcher.
package datasets
