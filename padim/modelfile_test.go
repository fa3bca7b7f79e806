package padim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/padim-go/padim/backbones"
)

func fittedModel(t testing.TB, cfg FitConfig) *Model {
	t.Helper()
	m, err := Fit(context.Background(), cfg, fakeBackbone{}, trainSamples(6), fakeLoader{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Header.WeightsSHA256 = "abc123"
	m.Header.Preprocess = PreprocessPolicy{Mode: "squash", Height: 32, Width: 32, Filter: "bilinear"}
	return m
}

func TestModelFileRoundTrip(t *testing.T) {
	ctx := context.Background()
	imgs := loadBatch(t, "t/img-50", "t/anomaly-51")
	for _, cfg := range []FitConfig{{D: 5, Seed: 4}, {Selection: SelectPCA, D: 3}} {
		m := fittedModel(t, cfg)
		path := filepath.Join(t.TempDir(), "model.padim")
		if err := m.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		r, err := ReadModel(path)
		if err != nil {
			t.Fatal(err)
		}
		if r.Header.Backbone != "fake" || r.Header.Preprocess != m.Header.Preprocess || r.Header.Seed != m.Header.Seed ||
			r.Header.D != m.Header.D || len(r.Header.Channels) != len(m.Header.Channels) {
			t.Fatalf("header %+v, wrote %+v", r.Header, m.Header)
		}
		for name, pair := range map[string][2][]float32{"mean": {m.Mean, r.Mean}, "Cholesky": {m.Cholesky, r.Cholesky}, "pca": {m.PCA, r.PCA}} {
			if len(pair[0]) != len(pair[1]) {
				t.Fatalf("%s: %d values read, %d written", name, len(pair[1]), len(pair[0]))
			}
			for i := range pair[0] {
				if pair[0][i] != pair[1][i] {
					t.Fatalf("%s[%d] = %v, wrote %v", name, i, pair[1][i], pair[0][i])
				}
			}
		}
		want, err := m.Score(ctx, fakeBackbone{}, imgs)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.Score(ctx, fakeBackbone{}, imgs)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i].Score != want[i].Score {
				t.Errorf("%s: image %d scores %v from the file, %v in memory", cfg.Selection, i, got[i].Score, want[i].Score)
			}
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestModelFileCorruption(t *testing.T) {
	m := fittedModel(t, FitConfig{D: 4})
	dir := t.TempDir()
	good := filepath.Join(dir, "good.padim")
	if err := m.WriteFile(good); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	hl := int(binary.LittleEndian.Uint32(data[12:]))
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(data)) }
	for _, tc := range []struct {
		name, want string
		data       []byte
	}{
		{"flip array byte", "checksum", edit(func(b []byte) []byte { b[len(b)-100] ^= 1; return b })},
		{"flip checksum byte", "checksum", edit(func(b []byte) []byte { b[len(b)-1] ^= 0x80; return b })},
		{"flip header byte", "header", edit(func(b []byte) []byte { b[16] ^= 0xff; return b })},
		{"truncated", "truncated", data[:len(data)-7]},
		{"truncated to prefix", "too short", data[:20]},
		{"extended", "implies", append(bytes.Clone(data), 0)},
		{"wrong version", "format version 4, this program reads version 3", edit(func(b []byte) []byte { b[8] = 4; return b })},
		{"wrong magic", "not a PaDiM model", edit(func(b []byte) []byte { b[0] = 'X'; return b })},
		{"huge header length", "header length", edit(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[12:], 1<<30); return b })},
		{"header grows grid", "implies", edit(func(b []byte) []byte {
			h := b[16 : 16+hl]
			copy(h, bytes.Replace(h, []byte(`"grid_h":8`), []byte(`"grid_h":9`), 1))
			return b
		})},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
		if err := os.WriteFile(path, tc.data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadModel(path)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not name the file and %q", tc.name, err, tc.want)
		}
	}
	if _, err := ReadModel(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestWriteFileRejectsInconsistentModel(t *testing.T) {
	m := fittedModel(t, FitConfig{D: 4})
	m.Cholesky = m.Cholesky[:len(m.Cholesky)-1]
	path := filepath.Join(t.TempDir(), "bad.padim")
	if err := m.WriteFile(path); err == nil {
		t.Fatal("short covariance factors written")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a failed write left %s behind", path)
	}
}

func FuzzModelFile(f *testing.F) {
	m := fittedModel(f, FitConfig{D: 3})
	path := filepath.Join(f.TempDir(), "seed.padim")
	if err := m.WriteFile(path); err != nil {
		f.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(data[:100])
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(b []byte) {
			m, err := parseModel(b, "fuzz")
			if err != nil {
				if !strings.HasPrefix(err.Error(), "fuzz: ") {
					t.Fatalf("error %q does not start with the file name", err)
				}
				return
			}
			// A file that parses must be self-consistent.
			p, d := m.Header.GridH*m.Header.GridW, m.Header.D
			if len(m.Mean) != p*d || len(m.Cholesky) != p*packedLen(d) {
				t.Fatalf("parsed model with %d means, %d covariance-factor entries for %d positions, d %d", len(m.Mean), len(m.Cholesky), p, d)
			}
		}
		check(b)
		// Nearly every mutation fails the SHA-256 check first; parse the
		// input again with its checksum made valid so the fuzzer reaches
		// the header and layout validation behind it.
		if len(b) >= checksumLen {
			body := b[:len(b)-checksumLen]
			sum := sha256.Sum256(body)
			check(append(append([]byte(nil), body...), sum[:]...))
		}
	})
}

// A model without a weights path is written as version 2, readable by
// programs that predate version 3; one with a path is version 3 and keeps
// it. A version 2 file must not carry the version 3 field.
func TestModelFileVersions(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		weightsPath string
		version     byte
	}{{"", 2}, {"/data/weights/resnet18.pth", 3}} {
		m := fittedModel(t, FitConfig{D: 3, WeightsPath: tc.weightsPath})
		if m.Header.WeightsPath != tc.weightsPath {
			t.Fatalf("Fit recorded weights path %q, want %q", m.Header.WeightsPath, tc.weightsPath)
		}
		path := filepath.Join(dir, fmt.Sprintf("v%d.padim", tc.version))
		if err := m.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if b[8] != tc.version {
			t.Fatalf("weights path %q: file version %d, want %d", tc.weightsPath, b[8], tc.version)
		}
		got, err := ReadModel(path)
		if err != nil {
			t.Fatal(err)
		}
		if got.Header.WeightsPath != tc.weightsPath || got.Header.WeightsSHA256 != m.Header.WeightsSHA256 {
			t.Fatalf("read back weights %q sha %q, want %q %q", got.Header.WeightsPath, got.Header.WeightsSHA256, tc.weightsPath, m.Header.WeightsSHA256)
		}
		got.Close()
		if tc.version == 3 {
			// Relabelled as version 2 (checksum fixed): the field is refused.
			b[8] = 2
			sum := sha256.Sum256(b[:len(b)-32])
			copy(b[len(b)-32:], sum[:])
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := ReadModel(path); err == nil || !strings.Contains(err.Error(), "weights_path in a version 2 file") {
				t.Fatalf("version 2 file with weights_path: error %v", err)
			}
		}
	}
}

func TestPreprocessModeValidate(t *testing.T) {
	for _, tc := range []struct {
		mode PreprocessMode
		ok   bool
	}{
		{PreprocessCrop, true},
		{PreprocessSquash, true},
		{"", true}, // not recorded
		{"Crop", false},
		{"stretch", false},
	} {
		err := tc.mode.Validate()
		if tc.ok != (err == nil) {
			t.Errorf("mode %q: error %v, want ok=%v", tc.mode, err, tc.ok)
		}
		if err != nil && (!strings.Contains(err.Error(), fmt.Sprintf("preprocess mode %q", tc.mode)) || !strings.Contains(err.Error(), "crop, squash")) {
			t.Errorf("mode %q: error %q does not name the field and the allowed modes", tc.mode, err)
		}
	}
}

// A model file whose header names an unknown preprocessing mode is refused
// on reading, with the file's name; one without a recorded policy (the
// empty mode, what Fit writes when FitConfig.Preprocess is zero) still reads.
func TestModelFilePreprocessMode(t *testing.T) {
	dir := t.TempDir()
	m := fittedModel(t, FitConfig{D: 3})
	for _, tc := range []struct {
		mode PreprocessMode
		want string // "": reads
	}{
		{PreprocessSquash, ""},
		{"", ""},
		{"smoosh", `header: preprocess mode "smoosh": want one of crop, squash`},
	} {
		path := filepath.Join(dir, "mode-"+string(tc.mode)+".padim")
		// Write a valid file, then put tc.mode into its header and fix the
		// checksum, as a hand edit or another program would.
		m.Header.Preprocess.Mode = PreprocessSquash
		if err := m.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.Replace(b, []byte(`"mode":"squash"`), []byte(fmt.Sprintf("%-15s", `"mode":"`+tc.mode+`"`)), 1)
		sum := sha256.Sum256(b[:len(b)-32])
		copy(b[len(b)-32:], sum[:])
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := ReadModel(path)
		if tc.want == "" {
			if err != nil {
				t.Errorf("mode %q: %v", tc.mode, err)
			} else if got.Header.Preprocess.Mode != tc.mode {
				t.Errorf("mode %q read back as %q", tc.mode, got.Header.Preprocess.Mode)
			}
			if got != nil {
				got.Close()
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("mode %q: error %v, want the path and %q", tc.mode, err, tc.want)
		}
	}
	m.Header.Preprocess.Mode = "smoosh"
	if err := m.WriteFile(filepath.Join(dir, "written.padim")); err == nil || !strings.Contains(err.Error(), "preprocess mode") {
		t.Errorf("WriteFile with an unknown mode: %v", err)
	}
}

func TestSelectionValidate(t *testing.T) {
	for _, tc := range []struct {
		s    Selection
		want string // "" = valid
	}{
		{SelectRandom, ""},
		{SelectIndices, ""},
		{SelectPCA, ""},
		{"", `channel selection "": want one of random, indices, pca`},
		{"Random", `channel selection "Random": want one of random, indices, pca`},
	} {
		err := tc.s.Validate()
		if tc.want == "" && err != nil {
			t.Errorf("%q: %v", tc.s, err)
		}
		if tc.want != "" && (err == nil || err.Error() != tc.want) {
			t.Errorf("%q: error %v, want %q", tc.s, err, tc.want)
		}
	}
	// A FitConfig with an unknown selection is refused by NewFitter, naming it.
	_, err := NewFitter(FitConfig{Selection: "svd", D: 2, Layers: []string{"layer1"}}, "tiny", []backbones.Layer{{Name: "layer1", Channels: 4, Stride: 4}})
	if err == nil || !strings.Contains(err.Error(), `channel selection "svd"`) {
		t.Errorf("NewFitter with selection svd: %v", err)
	}
}
