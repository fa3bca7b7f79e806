package padim

import "fmt"

// PreprocessMode is how PreprocessPolicy prepared the images. It is a
// string so that model headers keep their JSON. The empty value means the
// policy was not recorded (a FitConfig without Preprocess): such a model
// reads and scores through the library, but nothing in it says how to
// prepare its images.
type PreprocessMode string

const (
	// PreprocessCrop resizes the shorter side to Resize, then takes the
	// centre Crop x Crop (the paper's protocol).
	PreprocessCrop PreprocessMode = "crop"
	// PreprocessSquash resizes to exactly Height x Width.
	PreprocessSquash PreprocessMode = "squash"
)

// Validate returns an error naming the allowed modes unless m is one of
// them or empty.
func (m PreprocessMode) Validate() error {
	switch m {
	case PreprocessCrop, PreprocessSquash, "":
		return nil
	}
	return fmt.Errorf("preprocess mode %q: want one of %s, %s (empty: not recorded)", m, PreprocessCrop, PreprocessSquash)
}
