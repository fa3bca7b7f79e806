package datasets

import (
	"fmt"
	"math"

	"github.com/padim-go/padim/nchw"
)

// ImageNet channel statistics used by torchvision's pretrained models.
var (
	ImageNetMean = [3]float32{0.485, 0.456, 0.406}
	ImageNetStd  = [3]float32{0.229, 0.224, 0.225}
)

// Preprocess turns image and mask files into network input and pixel
// labels. There are two geometries:
//
//   - resize-and-crop (Resize > 0): the shorter side is resized to Resize
//     and the longer to int(Resize*long/short), as torchvision's
//     Resize(int) does, then a Crop x Crop window is taken from the centre
//     with torchvision CenterCrop's offsets, round((size-Crop)/2) rounding
//     half to even. The paper protocol is Resize 256, Crop 224;
//   - squash (Resize == 0): resized to exactly Height x Width, no crop.
//
// Images use Filter (Lanczos when zero), masks always Nearest. With
// RandomRotate or RandomCrop set, the Rd-MVTec AD augmentation is applied
// (see the package documentation); it is deterministic per (Seed, image
// path) and masks get the same transform as their image through
// SampleMask.
type Preprocess struct {
	Resize int // shorter side resized to this (256); 0 selects squash mode
	Crop   int // side of the square centre crop (224); required when Resize > 0

	Height, Width int // squash mode output size

	Filter Filter // image resampling filter; the zero value is Lanczos

	RandomRotate float64 // Rd-MVTec: rotate by a uniform angle in [-RandomRotate, RandomRotate] degrees
	RandomCrop   bool    // Rd-MVTec: crop at a uniformly random offset instead of the centre
	Seed         int64   // seeds the augmentation
}

// PaperPreprocess is the PaDiM paper protocol as the reference code
// implements it: Resize(256, ANTIALIAS) + CenterCrop(224) for images,
// nearest neighbour for masks.
func PaperPreprocess() Preprocess { return Preprocess{Resize: 256, Crop: 224, Filter: Lanczos} }

// RdMVTecPreprocess is the paper protocol plus the Rd-MVTec AD
// augmentation: a random rotation in [-10, 10] degrees and a random 224
// crop of the 256-resized image, deterministic for seed.
func RdMVTecPreprocess(seed int64) Preprocess {
	p := PaperPreprocess()
	p.RandomRotate, p.RandomCrop, p.Seed = 10, true, seed
	return p
}

// Validate reports whether p describes a usable geometry.
func (p Preprocess) Validate() error {
	if !p.Filter.valid() {
		return fmt.Errorf("datasets: preprocess: invalid filter %v", p.Filter)
	}
	if p.RandomRotate < 0 || p.RandomRotate > 180 || math.IsNaN(p.RandomRotate) {
		return fmt.Errorf("datasets: preprocess: RandomRotate %v outside [0, 180] degrees", p.RandomRotate)
	}
	if p.Resize > 0 {
		if p.Crop <= 0 || p.Crop > p.Resize {
			return fmt.Errorf("datasets: preprocess: Crop %d must be in 1..Resize (%d); use squash mode (Height, Width) for no crop", p.Crop, p.Resize)
		}
		if p.Height != 0 || p.Width != 0 {
			return fmt.Errorf("datasets: preprocess: set either Resize/Crop or Height/Width, not both")
		}
		if int64(p.Resize)*int64(p.Resize) > MaxPixels {
			return fmt.Errorf("datasets: preprocess: resize to %d (a %dx%d image at least) is more than the limit of %d pixels", p.Resize, p.Resize, p.Resize, MaxPixels)
		}
		return nil
	}
	if p.Resize < 0 || p.Height <= 0 || p.Width <= 0 {
		return fmt.Errorf("datasets: preprocess: need Resize > 0 (with Crop) or Height, Width > 0; have Resize %d, Height %d, Width %d", p.Resize, p.Height, p.Width)
	}
	if p.RandomCrop {
		return fmt.Errorf("datasets: preprocess: RandomCrop needs Resize/Crop mode")
	}
	if int64(p.Height)*int64(p.Width) > MaxPixels {
		return fmt.Errorf("datasets: preprocess: size %dx%d is %d pixels, more than the limit of %d (8192x8192)", p.Height, p.Width, int64(p.Height)*int64(p.Width), MaxPixels)
	}
	return nil
}

// Size returns the output height and width.
func (p Preprocess) Size() (h, w int) {
	if p.Resize > 0 {
		return p.Crop, p.Crop
	}
	return p.Height, p.Width
}

// geometry is the full transform of one image: resize to rw x rh, rotate by
// angle degrees about the centre, take the outW x outH window at (left, top).
type geometry struct {
	rw, rh     int
	angle      float64
	left, top  int
	outW, outH int
}

// plan computes the geometry for a w x h input; key identifies the image for
// the augmentation's random draws.
func (p Preprocess) plan(w, h int, key string) (geometry, error) {
	if err := p.Validate(); err != nil {
		return geometry{}, err
	}
	if p.Resize == 0 {
		g := geometry{rw: p.Width, rh: p.Height, outW: p.Width, outH: p.Height}
		if p.RandomRotate > 0 {
			g.angle = newAugmentRNG(p.Seed, key).uniform(-p.RandomRotate, p.RandomRotate)
		}
		return g, nil
	}
	g := geometry{outW: p.Crop, outH: p.Crop}
	var err error
	if g.rw, g.rh, err = p.resized(w, h); err != nil {
		return geometry{}, err
	}
	g.top = int(math.RoundToEven(float64(g.rh-p.Crop) / 2))
	g.left = int(math.RoundToEven(float64(g.rw-p.Crop) / 2))
	if p.RandomRotate > 0 || p.RandomCrop {
		r := newAugmentRNG(p.Seed, key)
		// Always draw in the same order so turning one option off does not
		// change the other's draw.
		angle := r.uniform(-p.RandomRotate, p.RandomRotate)
		top, left := r.intn(g.rh-p.Crop+1), r.intn(g.rw-p.Crop+1)
		if p.RandomRotate > 0 {
			g.angle = angle
		}
		if p.RandomCrop {
			g.top, g.left = top, left
		}
	}
	return g, nil
}

// resized is the size a w x h image is resized to before the crop.
// torchvision: the shorter side becomes Resize, the longer one
// int(Resize*long/short) with Python's true division (float64). The
// resized image is held whole, so a very elongated input (8000x1 becomes
// 2048000x256) is refused rather than left to take minutes and gigabytes.
func (p Preprocess) resized(w, h int) (rw, rh int, err error) {
	if w <= h {
		rw, rh = p.Resize, int(float64(p.Resize*h)/float64(w))
	} else {
		rw, rh = int(float64(p.Resize*w)/float64(h)), p.Resize
	}
	if int64(rw)*int64(rh) > MaxPixels {
		return 0, 0, fmt.Errorf("a %dx%d image resized to %d on its shorter side is %dx%d, %d pixels, more than the limit of %d (8192x8192): too elongated for resize and centre crop (squash it to a fixed size with --size HxW instead)",
			w, h, p.Resize, rw, rh, int64(rw)*int64(rh), MaxPixels)
	}
	return rw, rh, nil
}

// CheckInput reports, from its size alone, whether a w x h image can be
// preprocessed: in resize-and-crop mode its resized size must be within
// MaxPixels. Commands call it with SplitInfo's most elongated image before
// any work; decoding checks every image again.
func (p Preprocess) CheckInput(w, h int) error {
	if p.Resize == 0 || w <= 0 || h <= 0 {
		return nil
	}
	_, _, err := p.resized(w, h)
	return err
}

// RGB returns the image at path after the geometric transform, as 8-bit
// RGB, before normalisation; useful for drawing results over the input.
func (p Preprocess) RGB(path string) (*RGB, error) {
	img, err := ReadRGB(path)
	if err != nil {
		return nil, err
	}
	g, err := p.plan(img.W, img.H, augmentKey(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := img.Resize(g.rw, g.rh, p.Filter)
	if g.angle != 0 {
		out = rotateRGB(out, g.angle)
	}
	if g.left != 0 || g.top != 0 || g.outW != g.rw || g.outH != g.rh {
		out = out.Crop(g.left, g.top, g.outW, g.outH)
	}
	return out, nil
}

// Image returns the preprocessed image at path as a 1x3xHxW tensor,
// scaled to [0, 1] and normalised with the ImageNet mean and std.
func (p Preprocess) Image(path string) (*nchw.Tensor, error) {
	img, err := p.RGB(path)
	if err != nil {
		return nil, err
	}
	return Normalize(img), nil
}

// Normalize converts an 8-bit RGB image to a 1x3xHxW tensor the way
// torchvision's ToTensor + Normalize(ImageNet) do it, in float32:
// (v/255 - mean) / std, each operation rounded to float32.
func Normalize(img *RGB) *nchw.Tensor {
	t := nchw.New(1, 3, img.H, img.W)
	n := img.W * img.H
	for c := 0; c < 3; c++ {
		plane := t.Data[c*n : (c+1)*n]
		mean, std := ImageNetMean[c], ImageNetStd[c]
		for i := range plane {
			v := float32(img.Pix[3*i+c]) / 255
			v -= mean
			plane[i] = v / std
		}
	}
	return t
}

// Mask returns the ground-truth mask at path (an image, or a 2-D .npy
// array) transformed like the image it belongs to, with nearest-neighbour
// resampling, as H*W row-major booleans, true = defect. Image masks count
// a pixel as defect when its gray value is > 127, except masks whose
// values are all 0 or 1, where > 0 is used; .npy masks use != 0.
//
// Mask cannot be used with the Rd-MVTec augmentation, whose transform is
// keyed by the image path: use SampleMask.
func (p Preprocess) Mask(path string) ([]bool, error) {
	if p.RandomRotate > 0 || p.RandomCrop {
		return nil, fmt.Errorf("%s: augmented masks must be read with SampleMask, which knows the image path", path)
	}
	m, err := readMask(path, -1)
	if err != nil {
		return nil, err
	}
	return p.maskGeometry(m, path, path)
}

// MaskFrame is Mask for frame index frame of a 3-D (frames x H x W) .npy
// mask, as ShanghaiTech Campus ships them.
func (p Preprocess) MaskFrame(path string, frame int) ([]bool, error) {
	if p.RandomRotate > 0 || p.RandomCrop {
		return nil, fmt.Errorf("%s: augmented masks must be read with SampleMask, which knows the image path", path)
	}
	m, err := readMask(path, frame)
	if err != nil {
		return nil, err
	}
	return p.maskGeometry(m, path, path)
}

// SampleMask returns the preprocessed mask of s: all false when s has no
// mask, otherwise the mask (or its MaskIndex frame for a 3-D .npy mask)
// with exactly the geometry, including any augmentation, of s's image. The
// mask must have the image's size.
func (p Preprocess) SampleMask(s Sample) ([]bool, error) {
	if s.MaskPath == "" {
		h, w := p.Size()
		return make([]bool, h*w), nil
	}
	iw, ih, err := imageSize(s.Path)
	if err != nil {
		return nil, err
	}
	m, err := readMask(s.MaskPath, s.MaskIndex)
	if err != nil {
		return nil, err
	}
	if m.W != iw || m.H != ih {
		return nil, fmt.Errorf("%s: mask is %dx%d but its image %s is %dx%d", s.MaskPath, m.W, m.H, s.Path, iw, ih)
	}
	return p.maskGeometry(m, s.MaskPath, s.Path)
}

// maskGeometry applies the image geometry to a 0/1 mask.
func (p Preprocess) maskGeometry(m *Gray, maskPath, imagePath string) ([]bool, error) {
	g, err := p.plan(m.W, m.H, augmentKey(imagePath))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", maskPath, err)
	}
	out := m.Resize(g.rw, g.rh, Nearest)
	if g.angle != 0 {
		out = rotateGrayNearest(out, g.angle)
	}
	if g.left != 0 || g.top != 0 || g.outW != g.rw || g.outH != g.rh {
		out = out.Crop(g.left, g.top, g.outW, g.outH)
	}
	b := make([]bool, len(out.Pix))
	for i, v := range out.Pix {
		b[i] = v != 0
	}
	return b, nil
}
