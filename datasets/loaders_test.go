package datasets

import (
	"github.com/padim-go/padim/internal/testenv"
	"image/color"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/padim-go/padim/internal/npy"
)

// mvtecTree builds a small MVTec-style category from a list of files
// (relative paths), each a tiny valid png.
func mvtecTree(t *testing.T, files ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range files {
		writeTestPNG(t, filepath.Join(root, f), 4, 4, func(x, y int) color.Color { return color.Gray{uint8(x * 60)} })
	}
	return root
}

func TestLoadMVTec(t *testing.T) {
	base := []string{
		"cat/train/good/001.png", "cat/train/good/000.PNG", "cat/train/good/.hidden.png",
		"cat/test/good/000.png", "cat/test/crack/001.png", "cat/test/crack/000.jpg",
	}
	withGT := append(base[:len(base):len(base)], "cat/ground_truth/crack/000_mask.png", "cat/ground_truth/crack/001_mask.png")
	cases := []struct {
		name     string
		files    []string
		wantErr  string // substring; "" = success
		hasMasks bool
	}{
		{"no ground truth", base, "", false},
		{"with ground truth", withGT, "", true},
		{"missing mask", append(base[:len(base):len(base)], "cat/ground_truth/crack/000_mask.png"), "001.png: anomalous image has no mask", false},
		{"orphan mask", append(withGT[:len(withGT):len(withGT)], "cat/ground_truth/crack/007_mask.png"), "007_mask.png: mask has no test image", false},
		{"empty train", []string{"cat/train/good/.x.png", "cat/test/good/000.png"}, "no training images", false},
		{"no test", []string{"cat/train/good/000.png", "cat/test/good/notes.txt"}, "no test images", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := mvtecTree(t, c.files...)
			s, err := LoadMVTec(root, "cat")
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Name != "cat" || s.HasMasks != c.hasMasks {
				t.Fatalf("name %q HasMasks %v", s.Name, s.HasMasks)
			}
			if len(s.Train) != 2 || filepath.Base(s.Train[0].Path) != "000.PNG" {
				t.Fatalf("train %v: want 000.PNG, 001.png (hidden skipped, case-insensitive ext)", s.Train)
			}
			want := []struct {
				name, defect string
				label        int
			}{{"000.jpg", "crack", 1}, {"001.png", "crack", 1}, {"000.png", "good", 0}}
			if len(s.Test) != len(want) {
				t.Fatalf("%d test samples, want %d", len(s.Test), len(want))
			}
			for i, w := range want {
				g := s.Test[i]
				if filepath.Base(g.Path) != w.name || g.Defect != w.defect || g.Label != w.label {
					t.Errorf("test[%d] = %+v, want %+v", i, g, w)
				}
				if c.hasMasks && w.label == 1 && filepath.Base(g.MaskPath) != strings.TrimSuffix(w.name, filepath.Ext(w.name))+"_mask.png" {
					t.Errorf("test[%d] mask %q", i, g.MaskPath)
				}
			}
		})
	}
	if _, err := LoadMVTec(t.TempDir(), "nothing"); err == nil {
		t.Fatal("missing category loaded")
	}
}

func TestListMVTecCategories(t *testing.T) {
	root := mvtecTree(t, "b/train/good/0.png", "a/train/good/0.png", "notes/x.png", ".hidden/train/good/0.png")
	got, err := ListMVTecCategories(root)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "a,b" {
		t.Fatalf("categories %v, want [a b]", got)
	}
	if _, err := ListMVTecCategories(t.TempDir()); err == nil {
		t.Fatal("empty root gave no error")
	}
}

func TestLoadFolder(t *testing.T) {
	var files []string
	for i := 0; i < 20; i++ {
		files = append(files, filepath.Join("normal", string(rune('a'+i))+".png"))
	}
	files = append(files, "bad/x.png", "bad/y.png", "masks/x_mask.png", "masks/y_mask.png")
	root := mvtecTree(t, files...)
	o := FolderOptions{Normal: filepath.Join(root, "normal"), Abnormal: filepath.Join(root, "bad"),
		MaskDir: filepath.Join(root, "masks"), TestFraction: 0.25, Seed: 7}
	s, err := LoadFolder(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Train) != 15 || len(s.Test) != 7 || !s.HasMasks {
		t.Fatalf("train %d test %d masks %v; want 15, 5 good + 2 bad, true", len(s.Train), len(s.Test), s.HasMasks)
	}
	seen := map[string]bool{}
	for _, x := range append(s.Train, s.Test...) {
		if seen[x.Path] {
			t.Fatalf("%s in the split twice", x.Path)
		}
		seen[x.Path] = true
	}
	if !sort.SliceIsSorted(s.Train, func(i, j int) bool { return s.Train[i].Path < s.Train[j].Path }) {
		t.Fatal("train not sorted")
	}
	if b := s.Test[5]; b.Label != 1 || b.Defect != "bad" || filepath.Base(b.MaskPath) != "x_mask.png" {
		t.Fatalf("anomalous sample %+v", b)
	}
	again, err := LoadFolder(o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range s.Test {
		if again.Test[i] != s.Test[i] {
			t.Fatal("same seed gave a different split")
		}
	}
	o.Seed = 8
	other, _ := LoadFolder(o)
	same := true
	for i := range s.Test {
		same = same && other.Test[i] == s.Test[i]
	}
	if same {
		t.Fatal("seeds 7 and 8 gave the same held-out set")
	}

	bad := []FolderOptions{
		{},
		{Normal: o.Normal, TestFraction: 1},
		{Normal: o.Normal}, // no test images at all
		{Normal: o.Normal, Abnormal: o.Abnormal, MaskDir: t.TempDir()}, // masks missing
	}
	for i, b := range bad {
		if _, err := LoadFolder(b); err == nil {
			t.Errorf("bad options %d accepted", i)
		}
	}
}

func TestLoadSTC(t *testing.T) {
	root := "../testdata/datasets/stc"
	s, err := LoadSTC(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Train) != 10 || len(s.Test) != 8 || !s.HasMasks {
		t.Fatalf("train %d test %d masks %v; want 10, 8, true", len(s.Train), len(s.Test), s.HasMasks)
	}
	wantLabels := []int{0, 1, 1, 0, 1, 0, 0, 1}
	p := Preprocess{Height: 24, Width: 32} // the frames' own size: nearest is the identity
	for i, smp := range s.Test {
		if smp.Label != wantLabels[i] {
			t.Errorf("test[%d] %s label %d, want %d", i, smp.Path, smp.Label, wantLabels[i])
		}
		if want := i; i >= 5 {
			want = i - 5
			if smp.MaskIndex != want {
				t.Errorf("test[%d] MaskIndex %d, want %d", i, smp.MaskIndex, want)
			}
		}
		m, err := p.SampleMask(smp)
		if err != nil {
			t.Fatal(err)
		}
		_, ref, err := npy.ReadUint8(smp.MaskPath)
		if err != nil {
			t.Fatal(err)
		}
		frame := ref[smp.MaskIndex*24*32 : (smp.MaskIndex+1)*24*32]
		img, err := ReadRGB(smp.Path)
		if err != nil {
			t.Fatal(err)
		}
		on := 0
		for j := range m {
			if m[j] != (frame[j] != 0) {
				t.Fatalf("%s pixel %d: mask %v, npy %d", smp.Path, j, m[j], frame[j])
			}
			if m[j] {
				on++
				if img.Pix[3*j] < 150 {
					t.Fatalf("%s pixel %d: in the mask but dark (%d)", smp.Path, j, img.Pix[3*j])
				}
			}
		}
		if (on > 0) != (smp.Label == 1) {
			t.Errorf("%s: %d mask pixels but label %d", smp.Path, on, smp.Label)
		}
	}
	scene, err := LoadSTCWith(root, STCOptions{Scene: "02", TrainStride: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(scene.Train) != 3 || len(scene.Test) != 3 || scene.Name != "stc-02" {
		t.Fatalf("scene 02 stride 2: train %d test %d name %q; want 3, 3, stc-02", len(scene.Train), len(scene.Test), scene.Name)
	}
	if _, err := LoadSTCWith(root, STCOptions{Scene: "99"}); err == nil {
		t.Fatal("unknown scene loaded")
	}
	if _, err := (Preprocess{Height: 24, Width: 32}).MaskFrame(s.Test[0].MaskPath, 99); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Fatalf("frame 99: %v", err)
	}
}

func TestLoadSTCLabelMismatch(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"training/frames/01_001/000.jpg", "testing/frames/01_0014/000.jpg", "testing/frames/01_0014/001.jpg"} {
		src, err := os.ReadFile("../testdata/datasets/stc/training/frames/01_001/000.jpg")
		if err != nil {
			t.Fatal(err)
		}
		touch(t, filepath.Join(root, f), src)
	}
	lp := filepath.Join(root, "testing/test_frame_mask/01_0014.npy")
	if err := os.MkdirAll(filepath.Dir(lp), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := npy.WriteInt64(lp, []int{3}, []int64{0, 1, 0}); err != nil {
		t.Fatal(err)
	}
	_, err := LoadSTC(root)
	if err == nil || !strings.Contains(err.Error(), lp) {
		t.Fatalf("3 labels for 2 frames: error %v does not name %s", err, lp)
	}
}

func TestSharedMVTecBottle(t *testing.T) {
	root := filepath.Join(testenv.SharedData(t), "mvtec_ad")
	cats, err := ListMVTecCategories(root)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cats, ",") != "bottle" {
		t.Fatalf("categories %v", cats)
	}
	s, err := LoadMVTec(root, "bottle")
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, x := range s.Test {
		counts[x.Defect]++
	}
	// The shared copy holds MVTec's 63 ground-truth masks of bottle.
	if len(s.Train) != 209 || len(s.Test) != 83 || !s.HasMasks {
		t.Fatalf("train %d test %d HasMasks %v; want 209, 83, true", len(s.Train), len(s.Test), s.HasMasks)
	}
	masks := 0
	for _, x := range s.Test {
		if (x.MaskPath != "") != (x.Label != 0) {
			t.Errorf("%s (label %d): mask %q", x.Path, x.Label, x.MaskPath)
		}
		if x.MaskPath != "" {
			masks++
		}
	}
	if masks != 63 {
		t.Errorf("%d masks, want 63", masks)
	}
	if counts["good"] != 20 || counts["broken_large"] != 20 || counts["broken_small"] != 22 || counts["contamination"] != 21 {
		t.Fatalf("test counts %v", counts)
	}
	x, err := PaperPreprocess().Image(s.Test[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	if x.N != 1 || x.C != 3 || x.H != 224 || x.W != 224 {
		t.Fatalf("tensor %dx%dx%dx%d", x.N, x.C, x.H, x.W)
	}
}

func TestSharedMagneticTile(t *testing.T) {
	root := filepath.Join(testenv.SharedData(t), "magnetic_tile")
	s, err := LoadMagneticTile(root)
	if err != nil {
		t.Fatal(err)
	}
	good, bad := 0, 0
	for _, x := range s.Test {
		if x.Label == 0 {
			good++
		} else {
			bad++
			if x.MaskPath == "" {
				t.Fatalf("%s has no mask", x.Path)
			}
		}
	}
	if len(s.Train) != 762 || good != 190 || bad != 392 || !s.HasMasks {
		t.Fatalf("train %d, test good %d, defective %d; want 762, 190, 392", len(s.Train), good, bad)
	}
	// The split rule: sorted index i%5 == 4 is a test image.
	all, err := listJPEGs(filepath.Join(root, "MT_Free", "Imgs"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Test[0].Path != all[4] || s.Train[4].Path != all[5] {
		t.Fatalf("split rule broken: test[0] %s, train[4] %s", s.Test[0].Path, s.Train[4].Path)
	}
	p := MagneticTilePreprocess()
	smp := s.Test[len(s.Test)-1]
	m, err := p.SampleMask(smp)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 224*224 {
		t.Fatalf("mask of %d pixels", len(m))
	}
	on := 0
	for _, v := range m {
		if v {
			on++
		}
	}
	if on == 0 {
		t.Fatalf("%s: defect mask empty after preprocessing", smp.MaskPath)
	}
}
