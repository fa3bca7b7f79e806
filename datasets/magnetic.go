package datasets

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// MagneticTileDefects are the defect folders of the Magnetic Tile Defects
// dataset, each MT_<Name>/Imgs holding NAME.jpg images and NAME.png masks.
var MagneticTileDefects = []string{"Blowhole", "Break", "Crack", "Fray", "Uneven"}

// MagneticTilePreprocess is the project's magnetic tile protocol geometry:
// squash to 224x224, no crop, Lanczos for images (as for MVTec AD) and
// nearest + > 127 for masks.
func MagneticTilePreprocess() Preprocess { return Preprocess{Height: 224, Width: 224, Filter: Lanczos} }

// LoadMagneticTile loads the Magnetic Tile Defects dataset (original
// layout under root) with the project protocol: the defect-free images of
// MT_Free/Imgs sorted by file name, the one at sorted index i going to the
// test set when i%5 == 4 and to training otherwise; every image of the
// five defect folders is an anomalous test image with its NAME.png mask.
// Test order: normal images first, then defects in MagneticTileDefects
// order, each sorted by name. Preprocess with MagneticTilePreprocess.
func LoadMagneticTile(root string) (*Split, error) {
	free := filepath.Join(root, "MT_Free", "Imgs")
	imgs, err := listJPEGs(free)
	if err != nil {
		return nil, fmt.Errorf("datasets: magnetic tile: %w", err)
	}
	if len(imgs) < 5 {
		return nil, fmt.Errorf("datasets: %s: %d defect-free images, need at least 5 for the split", free, len(imgs))
	}
	s := &Split{Name: "magnetic_tile", HasMasks: true}
	for i, p := range imgs {
		smp := Sample{Path: p, Label: 0, Defect: "good"}
		if i%5 == 4 {
			s.Test = append(s.Test, smp)
		} else {
			s.Train = append(s.Train, smp)
		}
	}
	for _, d := range MagneticTileDefects {
		dir := filepath.Join(root, "MT_"+d, "Imgs")
		imgs, err := listJPEGs(dir)
		if err != nil {
			return nil, fmt.Errorf("datasets: magnetic tile: %w", err)
		}
		if len(imgs) == 0 {
			return nil, fmt.Errorf("datasets: %s: no images", dir)
		}
		for _, p := range imgs {
			mask := strings.TrimSuffix(p, filepath.Ext(p)) + ".png"
			if _, err := os.Stat(mask); err != nil {
				return nil, fmt.Errorf("datasets: %s: defect image has no mask: %w", p, err)
			}
			s.Test = append(s.Test, Sample{Path: p, MaskPath: mask, Label: 1, Defect: strings.ToLower(d)})
		}
	}
	return s, nil
}

// listJPEGs lists the .jpg/.jpeg images of dir (the .png files beside them
// are masks), sorted by name.
func listJPEGs(dir string) ([]string, error) {
	all, err := listImages(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range all {
		if e := strings.ToLower(filepath.Ext(p)); e == ".jpg" || e == ".jpeg" {
			out = append(out, p)
		}
	}
	return out, nil
}
