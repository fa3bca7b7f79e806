package statedict

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"

	"github.com/padim-go/padim/internal/filekind"
)

// Tensor is one named parameter or buffer.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32 // row-major, len = product of Shape
}

// StateDict maps torch parameter names ("layer1.0.conv1.weight") to tensors.
type StateDict map[string]*Tensor

// File is a loaded weight file: the tensors and the path every error about
// them names.
type File struct {
	Path    string
	Tensors StateDict
}

// Open loads the weight file at path (see Load) and keeps its path for
// error messages from Get.
func Open(path string) (*File, error) {
	sd, err := Load(path)
	if err != nil {
		return nil, err
	}
	return &File{Path: path, Tensors: sd}, nil
}

// Get returns the named tensor, checking its shape when shape is given.
// Errors read "PATH: tensor NAME missing" or
// "PATH: tensor NAME shape [a b] want [c d]".
func (f *File) Get(name string, shape ...int) (*Tensor, error) {
	t, err := f.Tensors.Get(name, shape...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	return t, nil
}

// Load reads a .pth (torch zip) or .safetensors file, telling the two apart
// by content rather than extension, and rejects non-finite weights. For a
// training checkpoint (a dict with a "state_dict" entry) the tensors under
// "state_dict" are returned. Every error starts with path.
func Load(path string) (StateDict, error) {
	f, _, err := filekind.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	sd, err := Read(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := CheckFinite(sd); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return sd, nil
}

// Read decodes a state dict from r, which holds size bytes, detecting the
// format from the first bytes. Unlike Load it does not check finiteness.
func Read(r io.ReaderAt, size int64) (StateDict, error) {
	var head [16]byte
	n, err := r.ReadAt(head[:], 0)
	if err != nil && err != io.EOF {
		return nil, err
	}
	h := head[:n]
	switch {
	case len(h) >= 4 && string(h[:4]) == "PK\x03\x04":
		return readPth(r, size)
	case len(h) >= 9 && h[8] == '{':
		return readSafetensors(r, size)
	case len(h) >= 12 && h[0] == 0x80 && string(h[2:12]) == "\x8a\x0al\xfc\x9cF\xf9 j\xa8":
		return nil, fmt.Errorf("legacy (torch < 1.6, non-zip) torch.save format is not supported; re-save it with a newer torch")
	}
	return nil, fmt.Errorf("neither a zip-format .pth nor a .safetensors file (starts with %q)", h)
}

// Get returns the named tensor, checking its shape when shape is given.
func (sd StateDict) Get(name string, shape ...int) (*Tensor, error) {
	t, ok := sd[name]
	if !ok || t == nil {
		return nil, fmt.Errorf("tensor %s missing", name)
	}
	if len(shape) > 0 && !slices.Equal(t.Shape, shape) {
		return nil, fmt.Errorf("tensor %s shape %v want %v", name, t.Shape, shape)
	}
	if n := numel(t.Shape); n != len(t.Data) {
		return nil, fmt.Errorf("tensor %s has %d values, shape %v needs %d", name, len(t.Data), t.Shape, n)
	}
	return t, nil
}

// Names returns the tensor names in sorted order.
func (sd StateDict) Names() []string {
	names := make([]string, 0, len(sd))
	for k := range sd {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Rename returns a state dict whose names are mapped through m; names not in
// m keep their name, names mapped to "" are dropped. It is how timm
// checkpoints are brought to torchvision's layout. Two tensors landing on
// one name is an error.
func (sd StateDict) Rename(m map[string]string) (StateDict, error) {
	return sd.RenameFunc(func(name string) string {
		if to, ok := m[name]; ok {
			return to
		}
		return name
	})
}

// RenameFunc returns a state dict with every name replaced by f(name);
// tensors for which f returns "" are dropped. The tensors' data is shared
// with sd; sd itself is unchanged.
func (sd StateDict) RenameFunc(f func(name string) string) (StateDict, error) {
	out := make(StateDict, len(sd))
	from := make(map[string]string, len(sd))
	for _, name := range sd.Names() {
		to := f(name)
		if to == "" {
			continue
		}
		if prev, dup := from[to]; dup {
			return nil, fmt.Errorf("rename: tensors %s and %s both become %s", prev, name, to)
		}
		from[to] = name
		t := *sd[name]
		t.Name = to
		out[to] = &t
	}
	return out, nil
}

// CheckFinite returns an error naming the first tensor (in name order) that
// holds a NaN or an infinity, with the index of the first bad value and how
// many there are.
func CheckFinite(sd StateDict) error {
	for _, name := range sd.Names() {
		t := sd[name]
		if t == nil {
			continue
		}
		first, count := -1, 0
		for i, v := range t.Data {
			f := float64(v)
			if math.IsNaN(f) || math.IsInf(f, 0) {
				if first < 0 {
					first = i
				}
				count++
			}
		}
		if count > 0 {
			return fmt.Errorf("tensor %s: %d non-finite values, first %v at flat index %d", name, count, t.Data[first], first)
		}
	}
	return nil
}

// SHA256File returns the lower-case hex SHA-256 of the file at path.
func SHA256File(path string) (string, error) {
	f, _, err := filekind.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// numel is the product of shape (1 for a scalar).
func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// dtype is a stored element type.
type dtype int

const (
	dtUnknown dtype = iota
	dtF32
	dtF16
	dtBF16
	dtF64
	// dtInteger covers every integer and bool type: tensors of it are dropped.
	dtInteger
)

// float32At decodes element i of little-endian raw data of type dt.
func float32At(dt dtype, raw []byte, i int) float32 {
	switch dt {
	case dtF32:
		return math.Float32frombits(uint32(raw[4*i]) | uint32(raw[4*i+1])<<8 | uint32(raw[4*i+2])<<16 | uint32(raw[4*i+3])<<24)
	case dtF16:
		return half(uint16(raw[2*i]) | uint16(raw[2*i+1])<<8)
	case dtBF16:
		return math.Float32frombits((uint32(raw[2*i]) | uint32(raw[2*i+1])<<8) << 16)
	case dtF64:
		b := raw[8*i : 8*i+8]
		u := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		return float32(math.Float64frombits(u))
	}
	panic("statedict: float32At on non-float dtype")
}

// half converts IEEE 754 binary16 bits to float32 exactly.
func half(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN; keep NaN payload bits.
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	case mant == 0: // signed zero
		return math.Float32frombits(sign)
	}
	// Subnormal half: mant * 2^-24, exact in float32.
	f := float32(mant) * (1.0 / (1 << 24))
	if sign != 0 {
		f = -f
	}
	return f
}

func (dt dtype) size() int {
	switch dt {
	case dtF32:
		return 4
	case dtF16, dtBF16:
		return 2
	case dtF64:
		return 8
	}
	return 0
}
