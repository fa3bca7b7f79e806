package datasets

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/padim-go/padim/internal/npy"
)

// STCOptions narrows a ShanghaiTech Campus load.
type STCOptions struct {
	// Scene keeps only the videos of one scene ("01" .. "13"; the part of
	// a video name before "_"); empty keeps all.
	Scene string
	// TrainStride keeps every TrainStride-th training frame of each video
	// (frame numbers 0, TrainStride, ...); 0 or 1 keeps all 274,515.
	TrainStride int
}

// LoadSTC loads ShanghaiTech Campus (all scenes, all frames) from the
// official layout under root:
//
//	training/frames/<video>/<NNN>.jpg        normal training frames
//	testing/frames/<video>/<NNN>.jpg         test frames
//	testing/test_frame_mask/<video>.npy      per-frame labels (1 = anomalous)
//	testing/test_pixel_mask/<video>.npy      frames x H x W pixel masks
//
// The official release ships the training set as training/videos/*.avi;
// extract each video to the frame layout with, for example,
//
//	mkdir -p training/frames/01_001
//	ffmpeg -i training/videos/01_001.avi -start_number 0 -q:v 1 training/frames/01_001/%03d.jpg
//
// (frame numbers from 000, as in testing/frames). Every test frame gets
// MaskPath = its video's pixel-mask file and MaskIndex = its frame number;
// read masks with Preprocess.SampleMask. Without test_pixel_mask the split
// has HasMasks false.
func LoadSTC(root string) (*Split, error) { return LoadSTCWith(root, STCOptions{}) }

// LoadSTCWith is LoadSTC with options.
func LoadSTCWith(root string, o STCOptions) (*Split, error) {
	if o.TrainStride < 0 {
		return nil, fmt.Errorf("datasets: STC: negative TrainStride %d", o.TrainStride)
	}
	stride := max(o.TrainStride, 1)
	name := "stc"
	if o.Scene != "" {
		name += "-" + o.Scene
	}
	s := &Split{Name: name}
	trainDir := filepath.Join(root, "training", "frames")
	videos, err := stcVideos(trainDir, o.Scene)
	if err != nil {
		return nil, err
	}
	for _, v := range videos {
		frames, err := stcFrames(filepath.Join(trainDir, v))
		if err != nil {
			return nil, err
		}
		for _, f := range frames {
			if f.number%stride == 0 {
				s.Train = append(s.Train, Sample{Path: f.path, Defect: "good"})
			}
		}
	}
	if len(s.Train) == 0 {
		return nil, fmt.Errorf("datasets: %s: no training frames", trainDir)
	}

	testDir := filepath.Join(root, "testing", "frames")
	labelDir := filepath.Join(root, "testing", "test_frame_mask")
	pixelDir := filepath.Join(root, "testing", "test_pixel_mask")
	_, err = os.Stat(pixelDir)
	hasPixel := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("datasets: STC: %w", err)
	}
	videos, err = stcVideos(testDir, o.Scene)
	if err != nil {
		return nil, err
	}
	for _, v := range videos {
		frames, err := stcFrames(filepath.Join(testDir, v))
		if err != nil {
			return nil, err
		}
		labelPath := filepath.Join(labelDir, v+".npy")
		labels, err := readFrameLabels(labelPath)
		if err != nil {
			return nil, err
		}
		if len(labels) != len(frames) {
			return nil, fmt.Errorf("datasets: %s: %d frame labels but %s has %d frames", labelPath, len(labels), filepath.Join(testDir, v), len(frames))
		}
		maskPath := ""
		if hasPixel {
			maskPath = filepath.Join(pixelDir, v+".npy")
			if _, err := os.Stat(maskPath); err != nil {
				return nil, fmt.Errorf("datasets: STC video %s has no pixel mask: %w", v, err)
			}
		}
		for _, f := range frames {
			if f.number >= len(labels) {
				return nil, fmt.Errorf("datasets: %s: frame number %d but only %d frames are labelled in %s", f.path, f.number, len(labels), labelPath)
			}
			smp := Sample{Path: f.path, MaskPath: maskPath, MaskIndex: f.number, Defect: "good"}
			if labels[f.number] {
				smp.Label, smp.Defect = 1, "anomaly"
			}
			s.Test = append(s.Test, smp)
		}
	}
	if len(s.Test) == 0 {
		return nil, fmt.Errorf("datasets: %s: no test frames", testDir)
	}
	s.HasMasks = hasPixel
	return s, nil
}

// stcVideos lists the video folders of dir, optionally of one scene.
func stcVideos(dir, scene string) ([]string, error) {
	all, err := listDirs(dir)
	if err != nil {
		return nil, fmt.Errorf("datasets: STC: %w", err)
	}
	var out []string
	for _, v := range all {
		if scene == "" || strings.SplitN(v, "_", 2)[0] == scene {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		if scene != "" {
			return nil, fmt.Errorf("datasets: %s: no videos of scene %q", dir, scene)
		}
		return nil, fmt.Errorf("datasets: %s: no video folders", dir)
	}
	return out, nil
}

type stcFrame struct {
	path   string
	number int
}

// stcFrames lists a video's frames, sorted by frame number; names must be
// numbers (000.jpg) and frames 0..n-1 must all be present.
func stcFrames(dir string) ([]stcFrame, error) {
	imgs, err := listImages(dir)
	if err != nil {
		return nil, fmt.Errorf("datasets: STC: %w", err)
	}
	frames := make([]stcFrame, 0, len(imgs))
	for _, p := range imgs {
		n, err := strconv.Atoi(stem(p))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("datasets: %s: frame file name is not a frame number", p)
		}
		frames = append(frames, stcFrame{p, n})
	}
	sort.Slice(frames, func(i, j int) bool { return frames[i].number < frames[j].number })
	for i, f := range frames {
		if f.number != i {
			return nil, fmt.Errorf("datasets: %s: frame %d is missing (frames must be numbered from 0 without gaps)", dir, i)
		}
	}
	if len(frames) == 0 {
		return nil, fmt.Errorf("datasets: %s: no frames", dir)
	}
	return frames, nil
}

// readFrameLabels reads a 1-D per-frame label array of any numeric dtype.
func readFrameLabels(path string) ([]bool, error) {
	a, err := npy.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("datasets: STC labels: %w", err)
	}
	if len(a.Shape) != 1 {
		return nil, fmt.Errorf("datasets: %s: frame labels have shape %v, want 1-D", path, a.Shape)
	}
	out := make([]bool, a.Shape[0])
	for i := range out {
		switch {
		case a.Uint8 != nil:
			out[i] = a.Uint8[i] != 0
		case a.Int64 != nil:
			out[i] = a.Int64[i] != 0
		case a.Float32 != nil:
			out[i] = a.Float32[i] != 0
		case a.Float64 != nil:
			out[i] = a.Float64[i] != 0
		default:
			return nil, fmt.Errorf("datasets: %s: unsupported label dtype %s", path, a.Descr)
		}
	}
	return out, nil
}
