package testenv

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// Manifest indexes a folder of raw little-endian reference arrays written by
// a fixture script (scripts/padim_math_fixtures.py writes testdata/padim):
// manifest.json names each array's dtype, shape and file, and per-case
// parameters.
type Manifest struct {
	Arrays map[string]struct {
		Dtype string `json:"dtype"`
		Shape []int  `json:"shape"`
		File  string `json:"file"`
	} `json:"arrays"`
	Cases map[string]map[string]float64 `json:"cases"`
	dir   string
}

// LoadManifest reads DIR/manifest.json, DIR relative to the repository root.
func LoadManifest(t testing.TB, dir string) *Manifest {
	t.Helper()
	dir = filepath.Join(RepoRoot(t), dir)
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	m := &Manifest{dir: dir}
	if err := json.Unmarshal(b, m); err != nil {
		t.Fatalf("%s/manifest.json: %v", dir, err)
	}
	return m
}

// Array returns the named float32 or float64 array as float64, checking
// its byte size against the manifest's shape.
func (m *Manifest) Array(t testing.TB, name string) []float64 {
	t.Helper()
	a, ok := m.Arrays[name]
	if !ok {
		t.Fatalf("fixture %q not in %s/manifest.json", name, m.dir)
	}
	n := 1
	for _, s := range a.Shape {
		n *= s
	}
	b, err := os.ReadFile(filepath.Join(m.dir, a.File))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, n)
	switch a.Dtype {
	case "float32":
		if len(b) != 4*n {
			t.Fatalf("%s: %d bytes, want %d", a.File, len(b), 4*n)
		}
		for i := range out {
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
		}
	case "float64":
		if len(b) != 8*n {
			t.Fatalf("%s: %d bytes, want %d", a.File, len(b), 8*n)
		}
		for i := range out {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		}
	default:
		t.Fatalf("%s: dtype %q", a.File, a.Dtype)
	}
	return out
}

// Array32 is Array converted to float32.
func (m *Manifest) Array32(t testing.TB, name string) []float32 {
	t.Helper()
	v := m.Array(t, name)
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}
