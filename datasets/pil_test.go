package datasets

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// pilCase is one entry of testdata/datasets/pil/manifest.json, written by
// scripts/pil_fixtures.py from PIL 9.4 / torchvision 0.14.
type pilCase struct {
	Kind     string `json:"kind"` // decode, resize, mask, normalize
	Input    string `json:"input"`
	PILMode  string `json:"pil_mode"`
	Filter   string `json:"filter"`
	Mode     string `json:"mode"` // paper, squash
	Resize   int    `json:"resize"`
	Crop     int    `json:"crop"`
	Height   int    `json:"height"`
	Width    int    `json:"width"`
	Expected string `json:"expected"`
	Exact    bool   `json:"exact"`
}

const pilDir = "../testdata/datasets/pil"

func loadPILCases(t *testing.T) []pilCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(pilDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Cases []pilCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m.Cases
}

func (c pilCase) preprocess(t *testing.T) Preprocess {
	p := Preprocess{Resize: c.Resize, Crop: c.Crop, Height: c.Height, Width: c.Width}
	if c.Filter != "" {
		f, err := ParseFilter(c.Filter)
		if err != nil {
			t.Fatal(err)
		}
		p.Filter = f
	}
	return p
}

// diffRGB returns the largest and mean absolute difference of two images.
func diffRGB(a, b *RGB) (maxDiff int, mean float64, err error) {
	if a.W != b.W || a.H != b.H {
		return 0, 0, fmt.Errorf("size %dx%d, want %dx%d", a.W, a.H, b.W, b.H)
	}
	sum := 0
	for i := range a.Pix {
		d := int(a.Pix[i]) - int(b.Pix[i])
		if d < 0 {
			d = -d
		}
		maxDiff = max(maxDiff, d)
		sum += d
	}
	return maxDiff, float64(sum) / float64(len(a.Pix)), nil
}

func TestPILDecode(t *testing.T) {
	for _, c := range loadPILCases(t) {
		if c.Kind != "decode" {
			continue
		}
		t.Run(c.Input, func(t *testing.T) {
			got, err := ReadRGB(filepath.Join(pilDir, c.Input))
			if err != nil {
				t.Fatal(err)
			}
			want, err := ReadRGB(filepath.Join(pilDir, c.Expected))
			if err != nil {
				t.Fatal(err)
			}
			maxDiff, mean, err := diffRGB(got, want)
			if err != nil {
				t.Fatal(err)
			}
			if c.Exact && maxDiff != 0 {
				t.Fatalf("PIL mode %s: max abs difference %d (mean %.4f), want bit-exact", c.PILMode, maxDiff, mean)
			}
			// Go's jpeg decoder is not libjpeg: see doc.go for the bound.
			if !c.Exact && (maxDiff > jpegMaxDiff || mean > 0.1) {
				t.Fatalf("PIL mode %s jpeg: max abs difference %d, mean %.4f", c.PILMode, maxDiff, mean)
			}
			t.Logf("PIL mode %s: max abs diff %d, mean %.4f", c.PILMode, maxDiff, mean)
		})
	}
}

func TestPILResize(t *testing.T) {
	n := 0
	for _, c := range loadPILCases(t) {
		if c.Kind != "resize" {
			continue
		}
		n++
		t.Run(c.Expected, func(t *testing.T) {
			got, err := c.preprocess(t).RGB(filepath.Join(pilDir, c.Input))
			if err != nil {
				t.Fatal(err)
			}
			want, err := ReadRGB(filepath.Join(pilDir, c.Expected))
			if err != nil {
				t.Fatal(err)
			}
			maxDiff, mean, err := diffRGB(got, want)
			if err != nil {
				t.Fatal(err)
			}
			if maxDiff != 0 {
				t.Fatalf("max abs difference %d (mean %.4f), want bit-exact", maxDiff, mean)
			}
		})
	}
	if n == 0 {
		t.Fatal("no resize cases in manifest")
	}
}

func TestPILMask(t *testing.T) {
	for _, c := range loadPILCases(t) {
		if c.Kind != "mask" {
			continue
		}
		t.Run(c.Expected, func(t *testing.T) {
			got, err := c.preprocess(t).Mask(filepath.Join(pilDir, c.Input))
			if err != nil {
				t.Fatal(err)
			}
			want, err := ReadGray(filepath.Join(pilDir, c.Expected))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want.Pix) {
				t.Fatalf("%d mask pixels, want %d", len(got), len(want.Pix))
			}
			bad := 0
			for i, v := range got {
				if v != (want.Pix[i] > 127) {
					bad++
				}
			}
			if bad != 0 {
				t.Fatalf("%d of %d mask pixels differ from PIL nearest + > 127", bad, len(got))
			}
		})
	}
}

func TestPILNormalize(t *testing.T) {
	for _, c := range loadPILCases(t) {
		if c.Kind != "normalize" {
			continue
		}
		t.Run(c.Expected, func(t *testing.T) {
			got, err := c.preprocess(t).Image(filepath.Join(pilDir, c.Input))
			if err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(filepath.Join(pilDir, c.Expected))
			if err != nil {
				t.Fatal(err)
			}
			if len(raw) != 4*len(got.Data) {
				t.Fatalf("fixture has %d floats, tensor %d", len(raw)/4, len(got.Data))
			}
			for i, v := range got.Data {
				w := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
				if v != w {
					t.Fatalf("element %d: %v, torchvision %v", i, v, w)
				}
			}
		})
	}
}

// jpegMaxDiff bounds |Go - PIL| per sample on the jpeg fixtures; doc.go
// explains where the differences come from.
const jpegMaxDiff = 4
