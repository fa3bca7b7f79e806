package datasets

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/padim-go/padim/internal/npy"
)

func TestSplitValidate(t *testing.T) {
	dir := t.TempDir()
	img := func(name string, w, h int) string {
		p := filepath.Join(dir, name)
		writeTestPNG(t, p, w, h, func(x, y int) color.Color { return color.Gray{uint8(x + y)} })
		return p
	}
	raw := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		touch(t, p, data)
		return p
	}
	good := img("good.png", 8, 6)
	good2 := img("good2.png", 8, 6)
	bad := img("bad.png", 8, 6)
	mask := filepath.Join(dir, "bad_mask.png")
	writeTestPNG(t, mask, 8, 6, func(x, y int) color.Color { return color.Gray{uint8(255 * (x / 4))} })
	blankMask := img("blank_mask.png", 8, 6) // values 0..12: all below the 127 threshold
	dirImage := filepath.Join(dir, "folder.png")
	if err := os.Mkdir(dirImage, 0o755); err != nil {
		t.Fatal(err)
	}
	linkedDir := filepath.Join(dir, "linked.png")
	if err := os.Symlink(dirImage, linkedDir); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.png")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	bigMask := img("big_mask.png", 16, 12)
	pngData, _ := os.ReadFile(good)
	zero := raw("zero.png", nil)
	trunc := raw("trunc.png", pngData[:20])
	gif := raw("anim.gif.png", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"))
	text := raw("notes.jpg", []byte("hello"))
	npyArr := func(name string, shape ...int) string {
		p := filepath.Join(dir, name)
		n := 1
		for _, d := range shape {
			n *= d
		}
		if err := npy.WriteUint8(p, shape, make([]uint8, n)); err != nil {
			t.Fatal(err)
		}
		return p
	}
	npyMask := npyArr("m.npy", 6, 8)
	npyVideo := npyArr("video.npy", 3, 6, 8)
	npyWrongSize := npyArr("small.npy", 3, 4)
	npy1D := npyArr("flat.npy", 48)
	npyHeaderOnly := raw("h.npy", []byte("\x93NUMPY"))
	emptyNpy := raw("e.npy", nil)
	missing := filepath.Join(dir, "missing.png")

	tr := func(paths ...string) []Sample {
		var s []Sample
		for _, p := range paths {
			s = append(s, Sample{Path: p, Defect: "good"})
		}
		return s
	}
	anomalous := func(p, m string) Sample { return Sample{Path: p, MaskPath: m, Label: 1, Defect: "crack"} }
	frame := func(p, m string, i int) Sample { s := anomalous(p, m); s.MaskIndex = i; return s }
	cases := []struct {
		name  string
		split Split
		want  []string // substrings of the error; nil = valid
	}{
		{"valid with masks", Split{Train: tr(good, good2), Test: append(tr(good), anomalous(bad, mask)), HasMasks: true}, nil},
		{"valid without masks", Split{Train: tr(good, good2), Test: append(tr(good), anomalous(bad, ""))}, nil},
		{"npy mask present", Split{Train: tr(good), Test: []Sample{anomalous(bad, npyMask)}, HasMasks: true}, nil},
		{"zero-byte train image", Split{Train: tr(good, zero), Test: tr(good)}, []string{zero + ": empty file"}},
		{"truncated header", Split{Train: tr(good), Test: tr(trunc)}, []string{trunc + ": reading png header", "truncated"}},
		{"unsupported format", Split{Train: tr(gif), Test: tr(good)}, []string{gif + ": gif images are not supported"}},
		{"not an image", Split{Train: tr(good), Test: tr(text)}, []string{text + ": unknown image format"}},
		{"missing file", Split{Train: tr(good), Test: tr(missing)}, []string{missing}},
		{"mask size differs", Split{Train: tr(good), Test: []Sample{anomalous(bad, bigMask)}, HasMasks: true},
			[]string{bigMask + ": mask is 16x12 but its image " + bad + " is 8x6"}},
		{"mask without its image readable", Split{Train: tr(good), Test: []Sample{anomalous(zero, mask)}, HasMasks: true}, []string{zero + ": empty file"}},
		{"image without mask", Split{Train: tr(good), Test: []Sample{anomalous(bad, "")}, HasMasks: true},
			[]string{bad + ": anomalous test image has no mask"}},
		{"bad mask file", Split{Train: tr(good), Test: []Sample{anomalous(bad, text)}, HasMasks: true}, []string{text + ": unknown image format"}},
		{"npy video mask frame", Split{Train: tr(good), Test: []Sample{frame(bad, npyVideo, 2)}, HasMasks: true}, nil},
		{"empty npy mask", Split{Train: tr(good), Test: []Sample{anomalous(bad, emptyNpy)}, HasMasks: true}, []string{emptyNpy, "too short"}},
		{"npy mask cut after the magic", Split{Train: tr(good), Test: []Sample{anomalous(bad, npyHeaderOnly)}, HasMasks: true}, []string{npyHeaderOnly, "npy"}},
		{"npy mask size differs", Split{Train: tr(good), Test: []Sample{anomalous(bad, npyWrongSize)}, HasMasks: true},
			[]string{npyWrongSize + ": mask is 4x3 but its image " + bad + " is 8x6"}},
		{"npy mask not 2-D or 3-D", Split{Train: tr(good), Test: []Sample{anomalous(bad, npy1D)}, HasMasks: true}, []string{npy1D + ": mask array has shape [48]"}},
		{"npy frame out of range", Split{Train: tr(good), Test: []Sample{frame(bad, npyVideo, 3)}, HasMasks: true}, []string{npyVideo + ": frame 3", "has 3 frames"}},
		{"frame of a 2-D npy mask", Split{Train: tr(good), Test: []Sample{frame(bad, npyMask, 1)}, HasMasks: true}, []string{npyMask + ": mask array has shape [6 8]"}},
		{"no mask marks a defect pixel", Split{Train: tr(good), Test: []Sample{anomalous(bad, blankMask)}, HasMasks: true},
			[]string{"none of the 1 masks of anomalous images marks a defect pixel", blankMask}},
		{"one blank mask beside a marked one (as in Magnetic Tile)", Split{Train: tr(good), Test: []Sample{anomalous(bad, blankMask), anomalous(bad, mask)}, HasMasks: true}, nil},
		{"mask with defect pixels for a normal image", Split{Train: tr(good), Test: []Sample{{Path: good2, MaskPath: mask, Defect: "good"}}, HasMasks: true},
			[]string{good2 + ": image is labelled normal (good) but its mask " + mask + " marks 24 defect pixels"}},
		{"directory named like an image", Split{Train: tr(good, dirImage), Test: tr(good)}, []string{dirImage + ": is a directory, not a regular file"}},
		{"symbolic link to a directory named like an image", Split{Train: tr(good), Test: tr(linkedDir)},
			[]string{linkedDir + ": is a symbolic link to a directory, not a regular file"}},
		{"FIFO named like an image (never opened, so never blocks)", Split{Train: tr(good, fifo), Test: tr(good)}, []string{fifo + ": is a named pipe (FIFO), not a regular file"}},
		{"empty train", Split{Test: tr(good)}, []string{"no training images"}},
		{"empty test", Split{Train: tr(good)}, []string{"no test images"}},
		{"anomalous training image", Split{Train: []Sample{anomalous(good, "")}, Test: tr(good)}, []string{good + ": training image labelled anomalous"}},
		{"every problem listed", Split{Train: tr(zero, trunc), Test: tr(gif, text)}, []string{"4 unusable", zero, trunc, gif, text}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.split.Name = "cat"
			err := c.split.Validate()
			if c.want == nil {
				if err != nil {
					t.Fatalf("valid split rejected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// Many bad files: the error lists the first 20 and counts them all.
func TestSplitValidateCapsList(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.png")
	writeTestPNG(t, good, 4, 4, func(x, y int) color.Color { return color.Gray{1} })
	s := Split{Name: "many", Train: []Sample{{Path: good}}}
	for i := 0; i < 30; i++ {
		s.Test = append(s.Test, Sample{Path: filepath.Join(dir, "gone", string(rune('a'+i))+".png")})
	}
	err := s.Validate()
	if err == nil || !strings.Contains(err.Error(), "30 unusable file(s) or problem(s), first 20 listed") {
		t.Fatalf("error %v", err)
	}
	if n := strings.Count(err.Error(), "no such file"); n != 20 {
		t.Errorf("%d problems listed, want 20", n)
	}
}

// An MVTec category whose mask has a different original size from its
// image loads (the loader matches names only), but Validate and SampleMask
// both reject it naming both files and sizes, before and during scoring.
func TestMVTecMaskSizeMismatch(t *testing.T) {
	root := mvtecTree(t, "cat/train/good/000.png", "cat/train/good/001.png", "cat/test/good/000.png", "cat/test/crack/000.png")
	maskPath := filepath.Join(root, "cat", "ground_truth", "crack", "000_mask.png")
	writeTestPNG(t, maskPath, 5, 7, func(x, y int) color.Color { return color.Gray{255} })
	s, err := LoadMVTec(root, "cat")
	if err != nil {
		t.Fatal(err)
	}
	imgPath := filepath.Join(root, "cat", "test", "crack", "000.png")
	iw, ih, err := imageSize(imgPath)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{maskPath, "5x7", imgPath, fmt.Sprintf("is %dx%d", iw, ih)}
	for name, err := range map[string]error{"Validate": s.Validate(), "SampleMask": func() error { _, err := PaperPreprocess().SampleMask(s.Test[0]); return err }()} {
		if err == nil {
			t.Fatalf("%s accepted a 5x7 mask for a %dx%d image", name, iw, ih)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s error %q does not name %q", name, err, w)
			}
		}
	}
}

// TestSplitInspectTest: InspectTest checks what scoring reads, the test
// images and their masks: a broken, missing or over-elongated training
// image is not its business (Inspect still reports each), a broken test
// image still is, and its SplitInfo describes the test images alone.
func TestSplitInspectTest(t *testing.T) {
	dir := t.TempDir()
	img := func(name string, w, h int) string {
		p := filepath.Join(dir, name)
		writeTestPNG(t, p, w, h, func(x, y int) color.Color { return color.Gray{uint8(x + y)} })
		return p
	}
	test := []Sample{{Path: img("test.png", 30, 40)}, {Path: img("defect.png", 30, 40), Label: 1, Defect: "spot"}}
	long := img("long.png", 300, 2)
	zero := filepath.Join(dir, "zero.png")
	touch(t, zero, nil)
	missing := filepath.Join(dir, "missing.png")
	split := &Split{Name: "s", Train: []Sample{{Path: img("train.png", 90, 60)}, {Path: long}, {Path: zero}, {Path: missing}}, Test: test}

	err := split.Validate()
	for _, want := range []string{zero, missing} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate does not name the broken training image %s: %v", want, err)
		}
	}
	if info, _ := split.Inspect(); info.ElongatedImage != long || info.LargestW != 90 {
		t.Errorf("Inspect: elongated %s, largest %dx%d; want %s and the 90x60 training image", info.ElongatedImage, info.LargestW, info.LargestH, long)
	}

	info, err := split.InspectTest()
	if err != nil {
		t.Fatalf("InspectTest rejects the split for its training images: %v", err)
	}
	if info.ElongatedImage != test[0].Path || info.ElongatedW != 30 || info.ElongatedH != 40 || info.LargestW != 30 || info.LargestH != 40 {
		t.Errorf("InspectTest info %+v describes more than the 30x40 test images", info)
	}

	split.Test = append(split.Test, Sample{Path: zero})
	if _, err := split.InspectTest(); err == nil || !strings.Contains(err.Error(), zero+": empty file") {
		t.Errorf("InspectTest with an empty test image: %v", err)
	}
	split.Test, split.Train = nil, nil
	if _, err := split.InspectTest(); err == nil || !strings.Contains(err.Error(), "split s has no test images") || strings.Contains(err.Error(), "training") {
		t.Errorf("InspectTest of a split without images: %v, want only its missing test images named", err)
	}
}
