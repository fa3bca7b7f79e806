package padim

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// fixtureDir holds the arrays written by scripts/padim_math_fixtures.py.
const fixtureDir = "../testdata/padim"

type fixtureManifest struct {
	Arrays map[string]struct {
		Dtype string `json:"dtype"`
		Shape []int  `json:"shape"`
		File  string `json:"file"`
	} `json:"arrays"`
	Cases map[string]map[string]float64 `json:"cases"`
}

func loadManifest(t *testing.T) *fixtureManifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m fixtureManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	return &m
}

// array returns the named float32 fixture widened to float64 (or the float64
// fixture as is), checking the byte size against the manifest shape.
func (m *fixtureManifest) array(t *testing.T, name string) []float64 {
	t.Helper()
	a, ok := m.Arrays[name]
	if !ok {
		t.Fatalf("fixture %q not in manifest", name)
	}
	n := 1
	for _, s := range a.Shape {
		n *= s
	}
	b, err := os.ReadFile(filepath.Join(fixtureDir, a.File))
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

func (m *fixtureManifest) array32(t *testing.T, name string) []float32 {
	v := m.array(t, name)
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}
