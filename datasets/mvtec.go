package datasets

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// imageExts are the file extensions loaders accept, compared in lower case.
var imageExts = map[string]bool{".png": true, ".jpg": true, ".jpeg": true, ".bmp": true}

func isImageName(name string) bool {
	return !strings.HasPrefix(name, ".") && imageExts[strings.ToLower(filepath.Ext(name))]
}

// listImages returns the image files directly in dir, sorted by name;
// hidden files and other extensions are skipped (a subdirectory named like
// an image is listed, for Validate to report).
func listImages(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		// A directory (or FIFO, device) named like an image is listed, not
		// skipped: Validate then reports it by name rather than the
		// split silently losing an image.
		if !isImageName(e.Name()) {
			continue
		}
		out = append(out, filepath.Join(dir, e.Name()))
	}
	sort.Strings(out)
	return out, nil
}

// listDirs returns the names of the non-hidden subdirectories of dir, sorted.
func listDirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

func stem(path string) string {
	b := filepath.Base(path)
	return strings.TrimSuffix(b, filepath.Ext(b))
}

// DirExists reports whether path is an existing directory: how the
// loaders, and callers deciding whether a dataset is present, tell a
// directory from a missing path or a file.
func DirExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// ListMVTecCategories returns the categories under an MVTec AD root: the
// subdirectories that contain train/good, sorted.
func ListMVTecCategories(root string) ([]string, error) {
	dirs, err := listDirs(root)
	if err != nil {
		return nil, fmt.Errorf("datasets: listing MVTec categories: %w", err)
	}
	var out []string
	for _, d := range dirs {
		if DirExists(filepath.Join(root, d, "train", "good")) {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("datasets: %s: no MVTec AD category (a folder with train/good) found", root)
	}
	return out, nil
}

// MVTecMaskSuffix is how MVTec AD names the mask of test/<defect>/NAME.png:
// ground_truth/<defect>/NAME_mask.png.
const MVTecMaskSuffix = "_mask.png"

// LoadMVTec loads one category of an MVTec AD style folder:
//
//	CATEGORY/train/good/*              training images (normal)
//	CATEGORY/test/<defect>/*           test images; defect "good" is normal
//	CATEGORY/ground_truth/<defect>/NAME_mask.png
//
// Images are png, jpg, jpeg or bmp (any letter case); hidden files are
// ignored; samples are sorted by defect, then file name. Without a
// ground_truth folder the split is valid with HasMasks false (image-level
// metrics only). With one, every anomalous test image must have its mask
// and every mask its image; otherwise the error names the orphan file.
// Masks of "good" images are optional.
func LoadMVTec(root, category string) (*Split, error) {
	dir := filepath.Join(root, category)
	if !DirExists(dir) {
		return nil, fmt.Errorf("datasets: %s: MVTec category folder not found", dir)
	}
	trainDir := filepath.Join(dir, "train", "good")
	train, err := listImages(trainDir)
	if err != nil {
		return nil, fmt.Errorf("datasets: MVTec %s: %w", category, err)
	}
	if len(train) == 0 {
		return nil, fmt.Errorf("datasets: %s: no training images", trainDir)
	}
	s := &Split{Name: category}
	for _, p := range train {
		s.Train = append(s.Train, Sample{Path: p, Label: 0, Defect: "good"})
	}
	testDir := filepath.Join(dir, "test")
	defects, err := listDirs(testDir)
	if err != nil {
		return nil, fmt.Errorf("datasets: MVTec %s: %w", category, err)
	}
	testStems := map[string]map[string]int{} // defect -> stem -> index in s.Test
	for _, d := range defects {
		imgs, err := listImages(filepath.Join(testDir, d))
		if err != nil {
			return nil, fmt.Errorf("datasets: MVTec %s: %w", category, err)
		}
		testStems[d] = map[string]int{}
		for _, p := range imgs {
			label := 1
			if d == "good" {
				label = 0
			}
			if prev, dup := testStems[d][stem(p)]; dup {
				return nil, fmt.Errorf("datasets: %s: same name as %s; masks would be ambiguous", p, s.Test[prev].Path)
			}
			testStems[d][stem(p)] = len(s.Test)
			s.Test = append(s.Test, Sample{Path: p, Label: label, Defect: d})
		}
	}
	if len(s.Test) == 0 {
		return nil, fmt.Errorf("datasets: %s: no test images", testDir)
	}
	gtDir := filepath.Join(dir, "ground_truth")
	if _, err := os.Stat(gtDir); errors.Is(err, fs.ErrNotExist) {
		return s, nil
	} else if err != nil {
		return nil, fmt.Errorf("datasets: MVTec %s: %w", category, err)
	}
	gtDefects, err := listDirs(gtDir)
	if err != nil {
		return nil, fmt.Errorf("datasets: MVTec %s: %w", category, err)
	}
	for _, d := range gtDefects {
		masks, err := listImages(filepath.Join(gtDir, d))
		if err != nil {
			return nil, fmt.Errorf("datasets: MVTec %s: %w", category, err)
		}
		for _, m := range masks {
			name := filepath.Base(m)
			if !strings.HasSuffix(name, MVTecMaskSuffix) {
				return nil, fmt.Errorf("datasets: %s: mask name does not end in %s", m, MVTecMaskSuffix)
			}
			i, ok := testStems[d][strings.TrimSuffix(name, MVTecMaskSuffix)]
			if !ok {
				return nil, fmt.Errorf("datasets: %s: mask has no test image in %s", m, filepath.Join(testDir, d))
			}
			s.Test[i].MaskPath = m
		}
	}
	for _, t := range s.Test {
		if t.Label == 1 && t.MaskPath == "" {
			want := filepath.Join(gtDir, t.Defect, stem(t.Path)+MVTecMaskSuffix)
			return nil, fmt.Errorf("datasets: %s: anomalous image has no mask (expected %s)", t.Path, want)
		}
	}
	s.HasMasks = true
	return s, nil
}
