package datasets

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/padim-go/padim/internal/npy"
)

// maxReported bounds how many problems Validate lists; the count of the
// rest is still given.
const maxReported = 20

// Validate checks, cheaply and before any expensive work, that every file of
// the split can be used, so that a bad test image does not surface only
// after a model has been fitted:
//
//   - there is at least one training image and one test image;
//   - every image file is a regular file (after following links: not a
//     directory, FIFO or device, so a check can never block), is not
//     empty, is a png, jpeg or bmp by content, and its header declares a
//     size within 1..MaxPixels;
//   - when HasMasks is set, every anomalous test image has a mask;
//   - every image mask's header decodes and declares exactly the size of
//     its image (masks are transformed with the image's geometry, so a
//     mismatch would silently misplace the ground truth); .npy masks must
//     have a matching shape (see checkNpyMask);
//   - a mask given for a normal image marks no defect pixel, and at least
//     one anomalous image's mask marks one: the metrics would otherwise
//     reject the split only after scoring (by image index, or because pixel
//     AUROC has no positive pixel). A single blank mask of an anomalous
//     image is accepted: real datasets have them (4 in Magnetic Tile's
//     MT_Uneven), and its pixels count as normal, as in the reference code.
//
// Only headers are read, except image masks, which are decoded (they are
// small and few). A file whose pixel data is corrupt past a valid header is
// caught when it is decoded, also with an error naming it.
// Validate reports up to 20 problems at once, each naming its file.
func (s *Split) Validate() error {
	_, err := s.Inspect()
	return err
}

// SplitInfo is what Inspect learns from the headers, for estimating what a
// run will hold before it starts.
type SplitInfo struct {
	// LargestImage is the image file with the most pixels, and LargestW x
	// LargestH its size: decoding it is the largest buffer an image costs.
	LargestImage       string
	LargestW, LargestH int
	// ElongatedImage is the image file with the largest ratio of its longer
	// to its shorter side, and ElongatedW x ElongatedH its size: resizing
	// its shorter side makes the largest intermediate image
	// (Preprocess.CheckInput).
	ElongatedImage         string
	ElongatedW, ElongatedH int
}

// elongation is the ratio of the longer to the shorter side.
func elongation(w, h int) float64 {
	return float64(max(w, h)) / float64(max(1, min(w, h)))
}

// Inspect is Validate, also returning the largest image's size.
func (s *Split) Inspect() (SplitInfo, error) { return s.inspect(true) }

// InspectTest is Inspect for a command that scores the test images and
// never reads the training images (padim test): it checks the test images
// and their masks only, so a training image that is missing, corrupt or
// too elongated to preprocess does not stop it, and the SplitInfo it
// returns describes the test images alone.
func (s *Split) InspectTest() (SplitInfo, error) { return s.inspect(false) }

// inspect checks the test images and masks, and the training images when
// withTrain is set.
func (s *Split) inspect(withTrain bool) (SplitInfo, error) {
	var info SplitInfo
	var problems []error
	add := func(err error) { problems = append(problems, err) }
	header := func(path string) (int, int, error) {
		w, h, err := checkImageHeader(path)
		if err == nil && int64(w)*int64(h) > int64(info.LargestW)*int64(info.LargestH) {
			info.LargestImage, info.LargestW, info.LargestH = path, w, h
		}
		if err == nil && (info.ElongatedImage == "" || elongation(w, h) > elongation(info.ElongatedW, info.ElongatedH)) {
			info.ElongatedImage, info.ElongatedW, info.ElongatedH = path, w, h
		}
		return w, h, err
	}
	if withTrain && len(s.Train) == 0 {
		add(fmt.Errorf("split %s has no training images", s.Name))
	}
	if len(s.Test) == 0 {
		add(fmt.Errorf("split %s has no test images", s.Name))
	}
	if withTrain {
		for _, smp := range s.Train {
			if smp.Label != 0 {
				add(fmt.Errorf("%s: training image labelled anomalous (%s)", smp.Path, smp.Defect))
			}
			if _, _, err := header(smp.Path); err != nil {
				add(err)
			}
		}
	}
	var decode []Sample // image masks whose headers are fine: checked for content below
	for _, smp := range s.Test {
		w, h, err := header(smp.Path)
		if err != nil {
			add(err)
		}
		if smp.MaskPath == "" {
			if s.HasMasks && smp.Label != 0 {
				add(fmt.Errorf("%s: anomalous test image has no mask, but the split has masks", smp.Path))
			}
			continue
		}
		if strings.EqualFold(filepath.Ext(smp.MaskPath), ".npy") {
			if merr := checkNpyMask(smp, w, h, err == nil); merr != nil {
				add(merr)
			}
			continue
		}
		mw, mh, merr := checkImageHeader(smp.MaskPath)
		if merr != nil {
			add(merr)
			continue
		}
		if err == nil && (mw != w || mh != h) {
			add(fmt.Errorf("%s: mask is %dx%d but its image %s is %dx%d", smp.MaskPath, mw, mh, smp.Path, w, h))
			continue
		}
		decode = append(decode, smp)
	}
	if len(problems) < maxReported {
		problems = append(problems, checkMaskContents(decode)...)
	}
	if len(problems) == 0 {
		return info, nil
	}
	shown := problems[:min(len(problems), maxReported)]
	head := fmt.Errorf("datasets: split %s: %d unusable file(s) or problem(s)", s.Name, len(problems))
	if len(problems) > maxReported {
		head = fmt.Errorf("datasets: split %s: %d unusable file(s) or problem(s), first %d listed", s.Name, len(problems), maxReported)
	}
	return info, errors.Join(append([]error{head}, shown...)...)
}

// checkMaskContents decodes image masks in parallel and checks that no
// normal image's mask marks a defect pixel and that at least one anomalous
// image's mask does (readMask's threshold decides what is a defect pixel,
// as at scoring).
func checkMaskContents(samples []Sample) []error {
	errs := make([]error, len(samples))
	defects := make([]int, len(samples))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(samples)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(samples) {
					return
				}
				smp := samples[i]
				g, err := readMask(smp.MaskPath, smp.MaskIndex)
				if err != nil {
					errs[i] = err
					continue
				}
				for _, v := range g.Pix {
					defects[i] += int(v)
				}
				if smp.Label == 0 && defects[i] > 0 {
					errs[i] = fmt.Errorf("%s: image is labelled normal (%s) but its mask %s marks %d defect pixels", smp.Path, smp.Defect, smp.MaskPath, defects[i])
				}
			}
		}()
	}
	wg.Wait()
	var out []error
	anomalous, marked := 0, 0
	for i, err := range errs {
		if err != nil {
			out = append(out, err)
		}
		if samples[i].Label != 0 {
			anomalous++
			if defects[i] > 0 {
				marked++
			}
		}
	}
	if anomalous > 0 && marked == 0 && len(out) == 0 {
		out = append(out, fmt.Errorf("none of the %d masks of anomalous images marks a defect pixel (all are background, e.g. %s): pixel AUROC and PRO are undefined; masks must be nonzero where the defect is",
			anomalous, firstAnomalousMask(samples)))
	}
	return out
}

func firstAnomalousMask(samples []Sample) string {
	for _, s := range samples {
		if s.Label != 0 {
			return s.MaskPath
		}
	}
	return ""
}

// checkNpyMask reads a .npy mask's header (not its data) and checks that
// the array is a 2-D H x W mask, or frames x H x W with the sample's frame
// in range, of the image's size when that is known, and of a dtype the
// mask reader takes: the problems readNpyMask would otherwise only hit
// in the middle of scoring.
func checkNpyMask(smp Sample, w, h int, sizeKnown bool) error {
	hd, err := npy.ReadHeaderFile(smp.MaskPath)
	if err != nil {
		return err
	}
	var mh, mw int
	switch {
	case len(hd.Shape) == 2 && smp.MaskIndex == 0:
		mh, mw = hd.Shape[0], hd.Shape[1]
	case len(hd.Shape) == 3:
		if smp.MaskIndex < 0 || smp.MaskIndex >= hd.Shape[0] {
			return fmt.Errorf("%s: frame %d of %s is out of range: the mask array %v has %d frames", smp.MaskPath, smp.MaskIndex, smp.Path, hd.Shape, hd.Shape[0])
		}
		mh, mw = hd.Shape[1], hd.Shape[2]
	default:
		return fmt.Errorf("%s: mask array has shape %v; want H x W, or frames x H x W (frame %d for %s)", smp.MaskPath, hd.Shape, smp.MaskIndex, smp.Path)
	}
	if mh <= 0 || mw <= 0 {
		return fmt.Errorf("%s: mask array has empty shape %v", smp.MaskPath, hd.Shape)
	}
	if sizeKnown && (mw != w || mh != h) {
		return fmt.Errorf("%s: mask is %dx%d but its image %s is %dx%d", smp.MaskPath, mw, mh, smp.Path, w, h)
	}
	return nil
}

// checkImageHeader reads an image file's header and checks its size the way
// decodeFile does before allocating pixels.
func checkImageHeader(path string) (w, h int, err error) {
	w, h, err = imageSize(path)
	if err != nil {
		return 0, 0, err
	}
	if w <= 0 || h <= 0 {
		return 0, 0, fmt.Errorf("%s: header declares an empty %dx%d image", path, w, h)
	}
	if int64(w)*int64(h) > MaxPixels {
		return 0, 0, fmt.Errorf("%s: header declares %dx%d pixels, more than the limit of %d", path, w, h, MaxPixels)
	}
	return w, h, nil
}
