package datasets

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// FolderOptions describes a custom dataset in plain folders.
type FolderOptions struct {
	Name string // split name; defaults to the base name of Normal

	Normal     string // folder of normal images
	NormalTest string // optional folder of normal test images; when set, all of Normal trains
	Abnormal   string // optional folder of anomalous (test) images

	// MaskDir holds the mask of Abnormal/NAME.ext as MaskDir/NAME+MaskSuffix;
	// empty means no masks. MaskSuffix defaults to "_mask.png".
	MaskDir, MaskSuffix string

	// TestFraction of the Normal images (rounded to nearest) is held out for
	// testing when NormalTest is empty; the held-out images are chosen by a
	// shuffle seeded with Seed, so the split depends only on the file names
	// and the seed.
	TestFraction float64
	Seed         int64
}

// LoadFolder loads a dataset described by o. Normal test images are
// labelled "good", anomalous ones with the base name of the Abnormal
// folder. Training images are sorted by path; the test list holds the
// normal images, then the anomalous ones, each sorted by path. HasMasks is true when MaskDir is
// set, and then every anomalous image must have its mask.
func LoadFolder(o FolderOptions) (*Split, error) {
	if o.Normal == "" {
		return nil, fmt.Errorf("datasets: folder dataset: Normal folder not set")
	}
	if o.TestFraction < 0 || o.TestFraction >= 1 || math.IsNaN(o.TestFraction) {
		return nil, fmt.Errorf("datasets: folder dataset: TestFraction %v outside [0, 1)", o.TestFraction)
	}
	if o.NormalTest != "" && o.TestFraction != 0 {
		return nil, fmt.Errorf("datasets: folder dataset: set NormalTest or TestFraction, not both")
	}
	if o.MaskDir != "" && o.Abnormal == "" {
		return nil, fmt.Errorf("datasets: folder dataset: MaskDir set without an Abnormal folder")
	}
	name := o.Name
	if name == "" {
		name = filepath.Base(filepath.Clean(o.Normal))
	}
	normal, err := listImages(o.Normal)
	if err != nil {
		return nil, fmt.Errorf("datasets: folder dataset: %w", err)
	}
	s := &Split{Name: name}
	var normalTest []string
	if o.NormalTest != "" {
		if normalTest, err = listImages(o.NormalTest); err != nil {
			return nil, fmt.Errorf("datasets: folder dataset: %w", err)
		}
	} else if o.TestFraction > 0 {
		k := int(math.Round(o.TestFraction * float64(len(normal))))
		perm := shuffled(len(normal), newAugmentRNG(o.Seed, "folder-split"))
		held := map[int]bool{}
		for _, i := range perm[:k] {
			held[i] = true
		}
		var train []string
		for i, p := range normal {
			if held[i] {
				normalTest = append(normalTest, p)
			} else {
				train = append(train, p)
			}
		}
		normal = train
	}
	if len(normal) == 0 {
		return nil, fmt.Errorf("datasets: %s: no training images", o.Normal)
	}
	for _, p := range normal {
		s.Train = append(s.Train, Sample{Path: p, Defect: "good"})
	}
	for _, p := range normalTest {
		s.Test = append(s.Test, Sample{Path: p, Defect: "good"})
	}
	if o.Abnormal != "" {
		bad, err := listImages(o.Abnormal)
		if err != nil {
			return nil, fmt.Errorf("datasets: folder dataset: %w", err)
		}
		suffix := o.MaskSuffix
		if suffix == "" {
			suffix = MVTecMaskSuffix
		}
		defect := filepath.Base(filepath.Clean(o.Abnormal))
		for _, p := range bad {
			smp := Sample{Path: p, Label: 1, Defect: defect}
			if o.MaskDir != "" {
				smp.MaskPath = filepath.Join(o.MaskDir, stem(p)+suffix)
				if _, err := os.Stat(smp.MaskPath); err != nil {
					return nil, fmt.Errorf("datasets: %s: anomalous image has no mask: %w", p, err)
				}
			}
			s.Test = append(s.Test, smp)
		}
		s.HasMasks = o.MaskDir != ""
	}
	if len(s.Test) == 0 {
		return nil, fmt.Errorf("datasets: folder dataset %s: no test images (set NormalTest, TestFraction or Abnormal)", name)
	}
	return s, nil
}

// shuffled returns a Fisher-Yates permutation of 0..n-1.
func shuffled(n int, r *splitMix64) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := r.intn(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}
