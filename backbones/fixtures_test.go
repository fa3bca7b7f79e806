package backbones

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"github.com/padim-go/padim/internal/testenv"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/padim-go/padim/internal/statedict"
	"github.com/padim-go/padim/internal/tensor"
)

// This file reads testdata/backbones (written by scripts/backbone_fixtures.py)
// and reproduces the script's weight formula bit for bit.

type fixtureArray struct {
	File  string `json:"file"`
	Shape []int  `json:"shape"`
}

type fixtureCase struct {
	Name    string            `json:"name"`
	Model   string            `json:"model"`
	Kind    string            `json:"kind"`
	Input   *string           `json:"input"`
	Weights string            `json:"weights"`
	Outputs map[string]string `json:"outputs"`
}

type fixtureManifest struct {
	InputShape []int                     `json:"input_shape"`
	Arrays     map[string]fixtureArray   `json:"arrays"`
	Cases      []fixtureCase             `json:"cases"`
	Params     map[string][]fixtureParam `json:"params"`
}

// fixtureParam is a [name, shape] pair from the manifest.
type fixtureParam struct {
	Name  string
	Shape []int
}

func (p *fixtureParam) UnmarshalJSON(b []byte) error {
	var raw [2]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if err := json.Unmarshal(raw[0], &p.Name); err != nil {
		return err
	}
	return json.Unmarshal(raw[1], &p.Shape)
}

func readManifest(t testing.TB) (*fixtureManifest, string) {
	t.Helper()
	dir := filepath.Join(testenv.RepoRoot(t), "testdata", "backbones")
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m fixtureManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	return &m, dir
}

// readArray loads a manifest array as an N x C x H x W tensor.
func readArray(t testing.TB, m *fixtureManifest, dir, name string) *tensor.Tensor {
	t.Helper()
	a, ok := m.Arrays[name]
	if !ok || len(a.Shape) != 4 {
		t.Fatalf("manifest: array %q missing or not 4-D", name)
	}
	b, err := os.ReadFile(filepath.Join(dir, a.File))
	if err != nil {
		t.Fatal(err)
	}
	data := make([]float32, len(b)/4)
	for i := range data {
		data[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	x, err := tensor.FromData(a.Shape[0], a.Shape[1], a.Shape[2], a.Shape[3], data)
	if err != nil {
		t.Fatalf("%s: %v", a.File, err)
	}
	return x
}

func fnv1a(s string) uint32 {
	h := uint32(0x811c9dc5)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 0x01000193
	}
	return h
}

// formulaUnit is the script's u_i in [0, 1) for tensor name.
func formulaUnit(name string, i int) float64 {
	x := uint32(i)*2654435761 + fnv1a(name)
	x ^= x >> 16
	x *= 0x045d9f3b
	x ^= x >> 16
	return float64(x) / (1 << 32)
}

// formulaValues fills a tensor the way backbone_fixtures.py does.
func formulaValues(name string, shape []int, kind paramKind) []float32 {
	n, fanIn := 1, 1
	for i, d := range shape {
		n *= d
		if i > 0 {
			fanIn *= d
		}
	}
	out := make([]float32, n)
	for i := range out {
		u := formulaUnit(name, i)
		var v float64
		switch kind {
		case kindWeight:
			v = (u - 0.5) * math.Sqrt(12/float64(fanIn))
		case kindBias, kindBNBias, kindBNMean:
			v = (u - 0.5) * 0.2
		case kindBNWeight:
			v = 0.5 + 0.5*u
		case kindBNVar:
			v = 0.5 + u
		}
		out[i] = float32(v)
	}
	return out
}

func formulaInput(shape []int) *tensor.Tensor {
	x := tensor.New(shape[0], shape[1], shape[2], shape[3])
	for i := range x.Data {
		x.Data[i] = float32((formulaUnit("input", i) - 0.5) * 4)
	}
	return x
}

// formulaStateDict holds every tensor the full architecture reads.
func formulaStateDict(t testing.TB, model string) statedict.StateDict {
	t.Helper()
	n, err := build(model)
	if err != nil {
		t.Fatal(err)
	}
	sd := statedict.StateDict{}
	for _, p := range n.params(len(n.steps)) {
		sd[p.name] = &statedict.Tensor{Name: p.name, Shape: p.shape, Data: formulaValues(p.name, p.shape, p.kind)}
	}
	return sd
}

// relErr is max|got - want| / max|want|.
func relErr(got, want *tensor.Tensor) (float64, error) {
	if !got.SameShape(want) {
		return 0, fmt.Errorf("shape %v, want %v", got, want)
	}
	var diff, scale float64
	for i, w := range want.Data {
		g := float64(got.Data[i])
		if math.IsNaN(g) || math.IsInf(g, 0) {
			// max would swallow a NaN into a NaN error, and NaN > tol is
			// false: report it instead of letting it pass.
			return math.Inf(1), fmt.Errorf("value %d is %v (want %v)", i, g, w)
		}
		diff = max(diff, math.Abs(g-float64(w)))
		scale = max(scale, math.Abs(float64(w)))
	}
	if scale == 0 {
		return diff, nil
	}
	return diff / scale, nil
}
