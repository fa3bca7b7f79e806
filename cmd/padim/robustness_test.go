package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/padim-go/padim/internal/testenv"

	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/internal/blas"
	"github.com/padim-go/padim/internal/nn"
	"github.com/padim-go/padim/internal/statedict"
	"github.com/padim-go/padim/padim"
)

// These tests drive the command functions (runFit, runTest) the way a user
// does, with broken inputs, and check the message the user would see.

// tinySynthetic writes a small generated MVTec-style category and returns
// its root.
func tinySynthetic(t *testing.T, cats []string, train int) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "syn")
	if err := datasets.GenerateSynthetic(root, datasets.SyntheticOptions{Categories: cats, Size: 64, Train: train, TestGood: 2, TestPerDefect: 1, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	return root
}

func resnet18Weights(t *testing.T) string {
	t.Helper()
	return testenv.SharedFile(t, "weights/resnet18-imagenet-layer1to3.pth")
}

func fitOpts(data, category, weights, out string) fitOptions {
	return fitOptions{dataOptions: dataOptions{data: data, format: "mvtec", category: category}, backbone: "resnet18",
		weights: weights, out: out, dims: 20, seed: 3, batch: 4}
}

// writeSafetensors writes sd as a float32 .safetensors file (tensors in name
// order), so tests can make weights with chosen values.
func writeSafetensors(t *testing.T, path string, sd statedict.StateDict) {
	t.Helper()
	type entry struct {
		Dtype   string   `json:"dtype"`
		Shape   []int    `json:"shape"`
		Offsets [2]int64 `json:"data_offsets"`
	}
	names := sd.Names()
	hdr := map[string]entry{}
	var off int64
	for _, n := range names {
		tt := sd[n]
		hdr[n] = entry{"F32", tt.Shape, [2]int64{off, off + 4*int64(len(tt.Data))}}
		off += 4 * int64(len(tt.Data))
	}
	hj, err := json.Marshal(hdr)
	if err != nil {
		t.Fatal(err)
	}
	for len(hj)%8 != 0 {
		hj = append(hj, ' ')
	}
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(hj)))
	b.Write(hj)
	for _, n := range names {
		binary.Write(&b, binary.LittleEndian, sd[n].Data)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFitRejectsBadWeights: every broken weights file is an error naming
// the file and what is wrong, and no model file is written.
func TestFitRejectsBadWeights(t *testing.T) {
	w := resnet18Weights(t)
	data := tinySynthetic(t, []string{"stripes"}, 3)
	dir := t.TempDir()
	raw, err := os.ReadFile(w)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := statedict.Load(w)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "resnet18-truncated.pth")
	if err := os.WriteFile(truncated, raw[:len(raw)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.pth")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	poisoned := func(name string, v float32) string {
		bad := statedict.StateDict{}
		for k, tt := range sd {
			c := *tt
			if k == "layer2.0.conv1.weight" {
				c.Data = append([]float32(nil), tt.Data...)
				c.Data[5] = v
			}
			bad[k] = &c
		}
		p := filepath.Join(dir, name)
		writeSafetensors(t, p, bad)
		return p
	}
	nan := poisoned("resnet18-nan.safetensors", float32(math.NaN()))
	inf := poisoned("resnet18-inf.safetensors", float32(math.Inf(1)))
	image := filepath.Join(data, "stripes", "train", "good", "000.png")

	cases := []struct {
		name, backbone, weights string
		want                    []string
	}{
		{"truncated pth", "resnet18", truncated, []string{truncated}},
		{"empty file", "resnet18", empty, []string{empty}},
		{"an image, not weights", "resnet18", image, []string{image}},
		{"missing file", "resnet18", filepath.Join(dir, "nothing.pth"), []string{"nothing.pth", "no such file"}},
		{"resnet18 file for wide_resnet50_2", "wide_resnet50_2", w, []string{w, "layer1.0.conv1.weight shape", "want"}},
		{"NaN tensor", "resnet18", nan, []string{nan, "layer2.0.conv1.weight", "non-finite", "NaN"}},
		{"Inf tensor", "resnet18", inf, []string{inf, "layer2.0.conv1.weight", "non-finite", "+Inf"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "m.padim")
			o := fitOpts(data, "stripes", c.weights, out)
			o.backbone = c.backbone
			var stdout bytes.Buffer
			err := runFit(context.Background(), &stdout, o)
			if err == nil {
				t.Fatal("fit succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if _, serr := os.Stat(out); serr == nil {
				t.Error("a model file was written")
			}
			t.Logf("user sees: padim: %v", err)
		})
	}
}

// TestFitRejectsBadDataBeforeWork: a broken image anywhere in the split
// (here: the test set) stops `padim fit` before the backbone is loaded or
// any image is fitted, with the file named.
func TestFitRejectsBadDataBeforeWork(t *testing.T) {
	w := resnet18Weights(t)
	cases := []struct {
		name      string
		breakData func(root string) string // breaks the dataset, returns the file the error must name
		want      string
	}{
		{"zero-byte test image", func(root string) string {
			p := filepath.Join(root, "stripes", "test", "spot", "000.png")
			os.WriteFile(p, nil, 0o644)
			return p
		}, "empty file"},
		{"truncated test image", func(root string) string {
			p := filepath.Join(root, "stripes", "test", "good", "001.png")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:20], 0o644)
			return p
		}, "truncated"},
		{"gif among training images", func(root string) string {
			p := filepath.Join(root, "stripes", "train", "good", "002.png")
			os.WriteFile(p, []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), 0o644)
			return p
		}, "gif images are not supported"},
		{"mask of another size", func(root string) string {
			p := filepath.Join(root, "stripes", "ground_truth", "scratch", "000_mask.png")
			f, _ := os.Create(p)
			png.Encode(f, image.NewGray(image.Rect(0, 0, 3, 5)))
			f.Close()
			return p
		}, "mask is 3x5 but its image"},
		{"mask without image", func(root string) string {
			p := filepath.Join(root, "stripes", "ground_truth", "scratch", "009_mask.png")
			b, _ := os.ReadFile(filepath.Join(root, "stripes", "ground_truth", "scratch", "000_mask.png"))
			os.WriteFile(p, b, 0o644)
			return p
		}, "mask has no test image"},
		{"image without mask", func(root string) string {
			p := filepath.Join(root, "stripes", "ground_truth", "spot", "000_mask.png")
			os.Remove(p)
			return filepath.Join(root, "stripes", "test", "spot", "000.png")
		}, "anomalous image has no mask"},
		{"empty train folder", func(root string) string {
			d := filepath.Join(root, "stripes", "train", "good")
			os.RemoveAll(d)
			os.MkdirAll(d, 0o755)
			return d
		}, "no training images"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := tinySynthetic(t, []string{"stripes"}, 3)
			file := c.breakData(root)
			out := filepath.Join(t.TempDir(), "m.padim")
			var stdout bytes.Buffer
			err := runFit(context.Background(), &stdout, fitOpts(root, "stripes", w, out))
			if err == nil || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one naming %s and %q", err, file, c.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("fit started before the data was rejected: %q", stdout.String())
			}
			if _, serr := os.Stat(out); serr == nil {
				t.Error("a model file was written")
			}
			t.Logf("user sees: padim: %v", err)
		})
	}
	// One training image: a clear error, before any image is run.
	root := tinySynthetic(t, []string{"stripes"}, 1)
	err := runFit(context.Background(), io.Discard, fitOpts(root, "stripes", w, filepath.Join(t.TempDir(), "m.padim")))
	if err == nil || !strings.Contains(err.Error(), "need at least 2 training images, have 1") {
		t.Fatalf("one training image: %v", err)
	}
}

// TestModelFileErrorsThroughCLI: `padim test` on damaged model files and
// mismatched weights.
func TestModelFileErrorsThroughCLI(t *testing.T) {
	w := resnet18Weights(t)
	data := tinySynthetic(t, []string{"stripes"}, 3)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.padim")
	if err := runFit(context.Background(), io.Discard, fitOpts(data, "stripes", w, good)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flipped := append([]byte(nil), b...)
	flipped[len(flipped)/2] ^= 0x40
	version := append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(version[8:], padim.FormatVersion+1)
	// The same weights re-encoded: identical values, another sha256.
	sd, err := statedict.Load(w)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "resnet18-other.safetensors")
	writeSafetensors(t, other, sd)

	cases := []struct {
		name, model, weights string
		want                 []string
	}{
		{"truncated model", write("trunc.padim", b[:len(b)*2/3]), w, []string{"trunc.padim", "truncated or corrupt"}},
		{"flipped byte", write("flip.padim", flipped), w, []string{"flip.padim", "checksum mismatch"}},
		{"other format version", write("v2.padim", version), w,
			[]string{"v2.padim", fmt.Sprintf("format version %d, this program reads version %d", padim.FormatVersion+1, padim.FormatVersion)}},
		{"weights given as model", w, w, []string{w, "not a PaDiM model file"}},
		{"empty model", write("empty.padim", nil), w, []string{"empty.padim", "too short"}},
		{"weights differ from the fit's", good, other, []string{other, "sha256", "differ", good}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			jsonOut := filepath.Join(t.TempDir(), "r.json")
			o := testOptions{dataOptions: dataOptions{data: data, format: "mvtec", category: "stripes"}, model: c.model, weights: c.weights, jsonOut: jsonOut, batch: 4}
			err := runTest(context.Background(), io.Discard, o)
			if err == nil {
				t.Fatal("test succeeded")
			}
			for _, s := range c.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if _, serr := os.Stat(jsonOut); serr == nil {
				t.Error("a result file was written")
			}
			t.Logf("user sees: padim: %v", err)
		})
	}
	// The undamaged model scores.
	o := testOptions{dataOptions: dataOptions{data: data, format: "mvtec", category: "stripes"}, model: good, weights: w, batch: 4}
	if err := runTest(context.Background(), io.Discard, o); err != nil {
		t.Fatalf("good model: %v", err)
	}
}

// TestFitDeterministicRealBackbone: with the real ResNet-18, `padim fit`
// writes byte-identical model files under GOMAXPROCS 1 and 2 with the
// matching --threads, and `padim test` gives bit-identical per-image
// scores. The commands run OpenBLAS single-threaded (nn.SetThreads sets
// blas.SetThreads(1)); the last case shows why: with 2 OpenBLAS threads the
// Cholesky inverse and GEMM blockings change, and with them the last bits
// (results still agree to 1e-5 relative).
func TestFitDeterministicRealBackbone(t *testing.T) {
	w := resnet18Weights(t)
	data := tinySynthetic(t, []string{"stripes"}, 4)
	dir := t.TempDir()
	run := func(i, procs, blasThreads int) ([]byte, []float64) {
		prev := runtime.GOMAXPROCS(procs)
		defer runtime.GOMAXPROCS(prev)
		nn.SetThreads(procs) // what the commands' --threads does
		blas.SetThreads(blasThreads)
		defer nn.SetThreads(prev)
		out := filepath.Join(dir, fmt.Sprintf("m%d.padim", i))
		if err := runFit(context.Background(), io.Discard, fitOpts(data, "stripes", w, out)); err != nil {
			t.Fatal(err)
		}
		js := filepath.Join(dir, fmt.Sprintf("r%d.json", i))
		if err := runTest(context.Background(), io.Discard, testOptions{dataOptions: dataOptions{data: data, format: "mvtec", category: "stripes"},
			model: out, weights: w, jsonOut: js, batch: 4}); err != nil {
			t.Fatal(err)
		}
		var rep testReport
		b, _ := os.ReadFile(js)
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatal(err)
		}
		var scores []float64
		for _, im := range rep.Images {
			scores = append(scores, im.Score)
		}
		m, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return m, scores
	}
	refFile, refScores := run(0, 1, 1)
	for i, procs := range []int{2} {
		f, s := run(i+1, procs, 1)
		if !bytes.Equal(f, refFile) {
			t.Errorf("GOMAXPROCS/--threads %d (run %d): model file differs from the GOMAXPROCS 1 fit", procs, i+1)
		}
		for j := range s {
			if s[j] != refScores[j] {
				t.Errorf("GOMAXPROCS/--threads %d (run %d): image %d scores %b, first run %b", procs, i+1, j, s[j], refScores[j])
			}
		}
	}
	if blas.Backend == "openblas" {
		_, s := run(3, 1, 2)
		for j := range s {
			if math.Abs(s[j]-refScores[j]) > 1e-5*math.Abs(refScores[j]) {
				t.Errorf("2 OpenBLAS threads: image %d scores %v, single-threaded %v", j, s[j], refScores[j])
			}
		}
	}
	blas.SetThreads(1)
}
