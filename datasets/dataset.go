package datasets

// Sample is one image of a dataset split.
type Sample struct {
	Path     string // image file
	MaskPath string // ground-truth mask file; "" when the image has none
	Label    int    // 0 normal, 1 anomalous
	Defect   string // defect type; "good" for normal images

	// MaskIndex selects the frame of a 3-D (frames x H x W) .npy mask, as
	// ShanghaiTech Campus stores one per video; 0 for ordinary masks.
	MaskIndex int
}

// Split is a category's training and test images. Training images are normal.
type Split struct {
	Name     string // category name
	Train    []Sample
	Test     []Sample
	HasMasks bool // true when every anomalous test image has a mask, so pixel metrics are defined
}

// The preprocessing contract, implemented in preprocess.go (see Preprocess
// for all fields):
//
//	type Preprocess struct {
//		Resize int // shorter side resized to this (256); 0 with Height/Width set = squash mode
//		Crop   int // centre crop (224)
//		Height, Width int // squash mode: resize to exactly Height x Width, no crop
//		Filter Filter // image filter, Lanczos when zero; masks always Nearest
//		RandomRotate float64; RandomCrop bool; Seed int64 // Rd-MVTec AD augmentation
//	}
//	func (p Preprocess) Size() (h, w int)                        // output size
//	func (p Preprocess) Image(path string) (*tensor.Tensor, error) // 1x3xHxW, ImageNet mean/std
//	func (p Preprocess) RGB(path string) (*RGB, error)             // same geometry, uint8, for overlays
//	func (p Preprocess) Mask(path string) ([]bool, error)          // H*W row-major, true = defect
//	func (p Preprocess) SampleMask(s Sample) ([]bool, error)       // s's mask (or MaskIndex frame) with
//	                                                               // s's image geometry; all false if none
