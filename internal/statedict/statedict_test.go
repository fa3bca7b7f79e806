package statedict

import (
	"archive/zip"
	"bytes"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/padim-go/padim/internal/npy"
)

// expectTorch checks sd against the reference .npy files torch wrote for
// each tensor (testdata/expected/<prefix><name>.npy), bit for bit.
func expectTorch(t *testing.T, sd StateDict, prefix string, names []string) {
	t.Helper()
	for _, name := range names {
		shape, want, err := npy.ReadFloat32(filepath.Join("testdata", "expected", prefix+name+".npy"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := sd.Get(name, shape...)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if got.Name != name {
			t.Errorf("tensor %s carries name %q", name, got.Name)
		}
		for i := range want {
			if math.Float32bits(got.Data[i]) != math.Float32bits(want[i]) {
				t.Errorf("%s[%d] = %v, torch says %v", name, i, got.Data[i], want[i])
				break
			}
		}
	}
}

var mixedNames = []string{
	"conv.weight", "conv.bias", "half.weight", "bf16.weight", "double.weight",
	"transposed.weight", "strided.weight", "shared.a", "shared.b", "shared.c", "empty",
}

var moduleNames = []string{"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var"}

func TestLoadMatchesTorch(t *testing.T) {
	tests := []struct {
		file   string
		prefix string // of the reference files
		names  []string
	}{
		{"mixed.pth", "", mixedNames},
		{"mixed_proto4.pth", "", mixedNames},
		{"mixed.safetensors", "", mixedNames},
		{"module.pth", "module.", moduleNames},
		{"checkpoint.pth", "module.", moduleNames},
		{"plain_dict.pth", "plain.", []string{"w"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			sd, err := Load(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			expectTorch(t, sd, tt.prefix, tt.names)
			extra := 0
			if tt.file == "plain_dict.pth" {
				extra = 1 // "b", checked below
				b, err := sd.Get("b", 2)
				if err != nil || b.Data[0] != 1 || b.Data[1] != 1 {
					t.Errorf("b = %v, %v; want ones(2)", b, err)
				}
			}
			if len(sd) != len(tt.names)+extra {
				t.Errorf("%d tensors %v, want %d (integer buffers dropped)", len(sd), sd.Names(), len(tt.names)+extra)
			}
			for _, name := range sd.Names() {
				if strings.Contains(name, "num_batches_tracked") {
					t.Errorf("integer buffer %s kept", name)
				}
			}
		})
	}
}

// half against a brute-force evaluation of the binary16 definition for all
// 65536 bit patterns.
func TestHalfAllValues(t *testing.T) {
	for u := 0; u < 1<<16; u++ {
		h := uint16(u)
		sign := 1.0
		if h&0x8000 != 0 {
			sign = -1
		}
		e := int(h>>10) & 0x1f
		m := float64(h & 0x3ff)
		got := half(h)
		switch {
		case e == 0x1f && m == 0:
			if !math.IsInf(float64(got), int(sign)) {
				t.Fatalf("half(%#04x) = %v, want %vInf", h, got, sign)
			}
		case e == 0x1f:
			if !math.IsNaN(float64(got)) {
				t.Fatalf("half(%#04x) = %v, want NaN", h, got)
			}
		default:
			var want float64
			if e == 0 {
				want = sign * m / 1024 * math.Pow(2, -14)
			} else {
				want = sign * (1 + m/1024) * math.Pow(2, float64(e-15))
			}
			if float64(got) != want || math.Signbit(float64(got)) != (sign < 0) {
				t.Fatalf("half(%#04x) = %v, want %v", h, got, want)
			}
		}
	}
}

// zipEdit rewrites a .pth archive entry by entry: edit returns the new
// name and data, keep=false drops the entry, badCRC keeps the old CRC.
func zipEdit(t *testing.T, src string, edit func(name string, data []byte) (newData []byte, keep, badCRC bool)) []byte {
	t.Helper()
	zr, err := zip.OpenReader(src)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		nd, keep, badCRC := edit(f.Name, data)
		if !keep {
			continue
		}
		if badCRC {
			fh := f.FileHeader
			fh.Method = zip.Store
			fh.CompressedSize64 = uint64(len(nd))
			fh.UncompressedSize64 = uint64(len(nd))
			w, err := zw.CreateRaw(&fh)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(nd)
			continue
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(nd)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestLoadRejectsBadFiles(t *testing.T) {
	mixed, err := os.ReadFile("testdata/mixed.pth")
	if err != nil {
		t.Fatal(err)
	}
	safe, err := os.ReadFile("testdata/mixed.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	pth := "testdata/plain_dict.pth" // "w" in storage 0, "b" in storage 1
	edits := map[string]func(string, []byte) ([]byte, bool, bool){
		"drop data.pkl": func(name string, d []byte) ([]byte, bool, bool) {
			return d, !strings.HasSuffix(name, "data.pkl"), false
		},
		"drop storage": func(name string, d []byte) ([]byte, bool, bool) {
			return d, !strings.HasSuffix(name, "/data/0"), false
		},
		"short storage": func(name string, d []byte) ([]byte, bool, bool) {
			if strings.HasSuffix(name, "/data/0") {
				return d[:len(d)-4], true, false
			}
			return d, true, false
		},
		"flipped bit": func(name string, d []byte) ([]byte, bool, bool) {
			if strings.HasSuffix(name, "/data/0") {
				d = append([]byte{}, d...)
				d[3] ^= 0x10
				return d, true, true
			}
			return d, true, false
		},
		"complex dtype": func(name string, d []byte) ([]byte, bool, bool) {
			if strings.HasSuffix(name, "data.pkl") {
				return bytes.ReplaceAll(d, []byte("torch\nFloatStorage\n"), []byte("torch\nComplexFloatStorage\n")), true, false
			}
			return d, true, false
		},
		"pickle cut": func(name string, d []byte) ([]byte, bool, bool) {
			if strings.HasSuffix(name, "data.pkl") {
				return d[:len(d)/2], true, false
			}
			return d, true, false
		},
		"pickle huge length": func(name string, d []byte) ([]byte, bool, bool) {
			if strings.HasSuffix(name, "data.pkl") {
				// BINUNICODE claiming 2 GiB right after the PROTO opcode.
				return append([]byte{0x80, 2, 'X', 0xff, 0xff, 0xff, 0x7f}, d[2:]...), true, false
			}
			return d, true, false
		},
	}
	hdr := func(json string, data int) []byte {
		b := make([]byte, 8, 8+len(json)+data)
		b[0] = byte(len(json))
		b = append(b, json...)
		return append(b, make([]byte, data)...)
	}
	tests := []struct {
		name string
		data []byte
		want []string
	}{
		{"text file", []byte("hello, world"), []string{"neither a zip-format .pth nor a .safetensors"}},
		{"empty file", nil, []string{"neither"}},
		{"legacy torch", []byte("\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.\x80\x02M\xe9\x03."), []string{"legacy"}},
		{"truncated zip", mixed[:len(mixed)/2], []string{"not a readable zip"}},
		{"no data.pkl", zipEdit(t, pth, edits["drop data.pkl"]), []string{"no data.pkl"}},
		{"storage missing", zipEdit(t, pth, edits["drop storage"]), []string{"tensor w", "storage data/0 missing"}},
		{"storage too small", zipEdit(t, pth, edits["short storage"]), []string{"tensor w", "storage data/0 holds 20 bytes, too small for 6 FloatStorage"}},
		{"corrupt storage", zipEdit(t, pth, edits["flipped bit"]), []string{"tensor w", "corrupt", "checksum"}},
		{"unsupported dtype", zipEdit(t, pth, edits["complex dtype"]), []string{"tensor w", "unsupported dtype torch.ComplexFloatStorage"}},
		{"pickle cut short", zipEdit(t, pth, edits["pickle cut"]), []string{"data.pkl"}},
		{"pickle length beyond data", zipEdit(t, pth, edits["pickle huge length"]), []string{"data.pkl", "opcode 0x58 at byte 2 wants 2147483651 bytes"}},
		{"safetensors header past end", append([]byte{0xff, 0xff, 0, 0, 0, 0, 0, 0, '{'}, safe[9:100]...), []string{"header length 65535 runs past the end"}},
		{"safetensors bad json", hdr(`{"a":{"dtype":"F32",`, 0), []string{"not a JSON object"}},
		{"safetensors unsupported dtype", hdr(`{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}`, 1), []string{"tensor a", `unsupported dtype "F8_E4M3"`}},
		{"safetensors offsets past data", hdr(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 4), []string{"tensor a", "outside the 4-byte data section"}},
		{"safetensors shape mismatch", hdr(`{"a":{"dtype":"F16","shape":[3],"data_offsets":[0,4]}}`, 4), []string{"tensor a", "shape [3] of F16 needs 6"}},
		{"safetensors truncated", safe[:len(safe)-10], []string{"outside the"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "w.bin")
			if err := os.WriteFile(p, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(p)
			if err == nil {
				t.Fatal("loaded without error")
			}
			for _, w := range append([]string{p + ": "}, tt.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadRejectsTorchScriptAndNonFinite(t *testing.T) {
	ts := zipEdit(t, "testdata/plain_dict.pth", func(name string, d []byte) ([]byte, bool, bool) { return d, true, false })
	// Add a constants.pkl beside data.pkl, as torch.jit.save archives have.
	zr, err := zip.NewReader(bytes.NewReader(ts), int64(len(ts)))
	if err != nil {
		t.Fatal(err)
	}
	prefix := strings.TrimSuffix(zr.File[0].Name, "data.pkl")
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		zw.Copy(f)
	}
	w, _ := zw.Create(prefix + "constants.pkl")
	w.Write([]byte("\x80\x02)."))
	zw.Close()
	p := filepath.Join(t.TempDir(), "script.pt")
	os.WriteFile(p, buf.Bytes(), 0o644)

	tests := []struct {
		path string
		want []string
	}{
		{p, []string{p, "TorchScript"}},
		{"testdata/nan.pth", []string{"testdata/nan.pth: tensor bad.weight", "NaN at flat index 1"}},
		{"testdata/inf.pth", []string{"testdata/inf.pth: tensor bad.bias", "-Inf at flat index 0"}},
		{"testdata/nan.safetensors", []string{"testdata/nan.safetensors: tensor bad.weight", "NaN"}},
	}
	for _, tt := range tests {
		_, err := Load(tt.path)
		for _, w := range tt.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("Load(%s) error %v, want it to mention %q", tt.path, err, w)
			}
		}
	}
}

// materialize on hand-built views of a 6-element float32 storage [0..5].
func TestMaterializeViews(t *testing.T) {
	raw := make([]byte, 24)
	for i := 0; i < 6; i++ {
		b := math.Float32bits(float32(i))
		raw[4*i], raw[4*i+1], raw[4*i+2], raw[4*i+3] = byte(b), byte(b>>8), byte(b>>16), byte(b>>24)
	}
	ref := &storageRef{class: &storageClass{"FloatStorage", dtF32}, key: "0", numel: 6}
	tests := []struct {
		name   string
		offset int
		size   []int
		stride []int
		want   []float32 // nil: expect error containing errMsg
		errMsg string
	}{
		{"contiguous", 0, []int{2, 3}, []int{3, 1}, []float32{0, 1, 2, 3, 4, 5}, ""},
		{"transpose", 0, []int{3, 2}, []int{1, 3}, []float32{0, 3, 1, 4, 2, 5}, ""},
		{"offset slice", 2, []int{3}, []int{1}, []float32{2, 3, 4}, ""},
		{"every other", 1, []int{3}, []int{2}, []float32{1, 3, 5}, ""},
		{"broadcast", 4, []int{2, 2}, []int{0, 1}, []float32{4, 5, 4, 5}, ""},
		{"size-1 dim odd stride", 0, []int{1, 3}, []int{99, 1}, []float32{0, 1, 2}, ""},
		{"scalar", 5, []int{}, []int{}, []float32{5}, ""},
		{"empty", 100, []int{0, 4}, []int{4, 1}, []float32{}, ""},
		{"offset past end", 6, []int{}, []int{}, nil, "too small for size [] stride [] at offset 6"},
		{"stride past end", 0, []int{2, 3}, []int{4, 1}, nil, "needs 7"},
		{"negative stride", 5, []int{2}, []int{-1}, nil, "negative size or stride"},
		{"negative offset", -1, []int{1}, []int{1}, nil, "negative storage offset"},
		{"rank mismatch", 0, []int{2, 3}, []int{1}, nil, "differ in length"},
		{"huge broadcast", 0, []int{1 << 13, 1 << 13}, []int{0, 0}, nil, "expanded views this large"},
		{"overflowing size", 0, []int{1 << 30, 1 << 30}, []int{0, 0}, nil, "too many elements"},
		{"over budget", 0, []int{1 << 12, 1 << 12}, []int{0, 0}, nil, "implausibly many elements"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &storages{raw: map[string][]byte{"0": raw}}
			tr := &tensorRef{storage: ref, offset: tt.offset, size: tt.size, stride: tt.stride}
			budget := int64(1 << 30)
			if tt.name == "over budget" {
				budget = 1 << 20
			}
			got, err := tr.materialize("x", st, &budget)
			if tt.want == nil {
				if err == nil || !strings.Contains(err.Error(), tt.errMsg) {
					t.Fatalf("err = %v, want %q", err, tt.errMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Data, tt.want) || !reflect.DeepEqual(got.Shape, tt.size) {
				t.Fatalf("got %v %v, want %v %v", got.Shape, got.Data, tt.size, tt.want)
			}
		})
	}
}

func TestGetAndFile(t *testing.T) {
	f, err := Open("testdata/plain_dict.pth")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		shape []int
		err   string
	}{
		{"w", []int{2, 3}, ""},
		{"w", nil, ""},
		{"w", []int{3, 2}, "testdata/plain_dict.pth: tensor w shape [2 3] want [3 2]"},
		{"conv1.weight", nil, "testdata/plain_dict.pth: tensor conv1.weight missing"},
	}
	for _, tt := range tests {
		got, err := f.Get(tt.name, tt.shape...)
		if tt.err == "" {
			if err != nil || got.Name != tt.name {
				t.Errorf("Get(%s, %v) = %v, %v", tt.name, tt.shape, got, err)
			}
			continue
		}
		if err == nil || err.Error() != tt.err {
			t.Errorf("Get(%s, %v) error %v, want %q", tt.name, tt.shape, err, tt.err)
		}
	}
	// A tensor whose data does not fill its shape is caught too.
	bad := StateDict{"x": {Name: "x", Shape: []int{2, 2}, Data: []float32{1}}}
	if _, err := bad.Get("x"); err == nil || !strings.Contains(err.Error(), "has 1 values, shape [2 2] needs 4") {
		t.Errorf("short data: %v", err)
	}
}

func TestRename(t *testing.T) {
	sd := StateDict{
		"conv_stem.weight": {Name: "conv_stem.weight", Shape: []int{1}, Data: []float32{1}},
		"bn1.weight":       {Name: "bn1.weight", Shape: []int{1}, Data: []float32{2}},
		"classifier.bias":  {Name: "classifier.bias", Shape: []int{1}, Data: []float32{3}},
	}
	out, err := sd.Rename(map[string]string{"conv_stem.weight": "features.0.0.weight", "classifier.bias": ""})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out.Names(), []string{"bn1.weight", "features.0.0.weight"}) {
		t.Fatalf("names %v", out.Names())
	}
	if out["features.0.0.weight"].Name != "features.0.0.weight" || out["features.0.0.weight"].Data[0] != 1 {
		t.Fatalf("renamed tensor %+v", out["features.0.0.weight"])
	}
	if sd["conv_stem.weight"].Name != "conv_stem.weight" || len(sd) != 3 {
		t.Fatal("Rename modified its receiver")
	}
	_, err = sd.RenameFunc(func(string) string { return "same" })
	if err == nil || !strings.Contains(err.Error(), "both become same") {
		t.Fatalf("collision error = %v", err)
	}
}

func TestCheckFinite(t *testing.T) {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	tests := []struct {
		sd   StateDict
		want string
	}{
		{StateDict{"a": {Data: []float32{1, -3.4e38, 1e-45}}}, ""},
		{StateDict{"a": {Data: []float32{1, inf, nan}}, "b": {Data: []float32{nan}}}, "tensor a: 2 non-finite values, first +Inf at flat index 1"},
		{StateDict{"a": {Data: []float32{0}}, "b": {Data: []float32{0, 0, nan}}}, "tensor b: 1 non-finite values, first NaN at flat index 2"},
	}
	for _, tt := range tests {
		err := CheckFinite(tt.sd)
		if (tt.want == "") != (err == nil) || (err != nil && err.Error() != tt.want) {
			t.Errorf("CheckFinite = %v, want %q", err, tt.want)
		}
	}
}

func TestSHA256File(t *testing.T) {
	p := filepath.Join(t.TempDir(), "abc")
	os.WriteFile(p, []byte("abc"), 0o644)
	got, err := SHA256File(p)
	// FIPS 180-2 test vector for "abc".
	if want := "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; err != nil || got != want {
		t.Fatalf("SHA256File = %s, %v; want %s", got, err, want)
	}
	if _, err := SHA256File(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("no error for a missing file")
	}
}

func TestScanPickle(t *testing.T) {
	tests := []struct {
		name string
		p    string
		ok   bool
	}{
		{"empty tuple", "\x80\x02).", true},
		{"global and unicode", "\x80\x02ctorch\nFloatStorage\nX\x01\x00\x00\x00a.", true},
		{"frame", "\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00).", true},
		{"frame too long", "\x80\x04\x95\xff\x00\x00\x00\x00\x00\x00\x00).", false},
		{"binunicode8 huge", "\x80\x04\x8d\x00\x00\x00\x00\x00\x00\x00\x01.", false},
		{"negative binstring", "T\xff\xff\xff\xff.", false},
		{"unterminated global", "ctorch\nFloat", false},
		{"unknown opcode", "\xff.", false},
		{"no stop", ")", false},
	}
	for _, tt := range tests {
		if err := scanPickle([]byte(tt.p)); (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}
