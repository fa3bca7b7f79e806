package npy

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The fixture values are closed-form functions of the C-order flat index,
// as written by scripts/statedict_fixtures.py with numpy.
func wantFloat(i int) float64 { return float64(i-7) * 0.25 }
func wantInt(i int) int64     { return int64(i)*1000003 - 5 }
func wantBool(i int) uint8 {
	if i%3 == 0 {
		return 1
	}
	return 0
}
func wantUint8(i int) uint8 { return uint8((i * 37) % 256) }

func TestReadNumpyFixtures(t *testing.T) {
	tests := []struct {
		file  string
		dtype DType
		shape []int
	}{
		{"f4_2x3.npy", Float32, []int{2, 3}},
		{"f8_2x3x4.npy", Float64, []int{2, 3, 4}},
		{"f4_5.npy", Float32, []int{5}},
		{"f4_scalar.npy", Float32, []int{}},
		{"f4_0x3.npy", Float32, []int{0, 3}},
		{"b1_3x4.npy", Bool, []int{3, 4}},
		{"u1_4x5.npy", Uint8, []int{4, 5}},
		{"i8_7.npy", Int64, []int{7}},
		{"f4_fortran_3x4x2.npy", Float32, []int{3, 4, 2}},
		{"b1_fortran_3x4.npy", Bool, []int{3, 4}},
		{"f8_bigendian_2x3.npy", Float64, []int{2, 3}},
		{"f4_v2_2x3.npy", Float32, []int{2, 3}},
		{"f4_v3_2x3.npy", Float32, []int{2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			a, err := ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if a.DType != tt.dtype || !reflect.DeepEqual(a.Shape, tt.shape) {
				t.Fatalf("got %s %v, want %s %v", a.DType, a.Shape, tt.dtype, tt.shape)
			}
			n := a.Len()
			var got int
			for i := 0; i < n; i++ {
				switch tt.dtype {
				case Float32:
					got = len(a.Float32)
					if float64(a.Float32[i]) != wantFloat(i) {
						t.Fatalf("[%d] = %v, want %v", i, a.Float32[i], wantFloat(i))
					}
				case Float64:
					got = len(a.Float64)
					if a.Float64[i] != wantFloat(i) {
						t.Fatalf("[%d] = %v, want %v", i, a.Float64[i], wantFloat(i))
					}
				case Bool:
					got = len(a.Uint8)
					if a.Uint8[i] != wantBool(i) {
						t.Fatalf("[%d] = %v, want %v", i, a.Uint8[i], wantBool(i))
					}
				case Uint8:
					got = len(a.Uint8)
					if a.Uint8[i] != wantUint8(i) {
						t.Fatalf("[%d] = %v, want %v", i, a.Uint8[i], wantUint8(i))
					}
				case Int64:
					got = len(a.Int64)
					if a.Int64[i] != wantInt(i) {
						t.Fatalf("[%d] = %v, want %v", i, a.Int64[i], wantInt(i))
					}
				}
			}
			if n > 0 && got != n {
				t.Fatalf("%d values, want %d", got, n)
			}
		})
	}
}

func TestTypedReaders(t *testing.T) {
	shape, f32, err := ReadFloat32("testdata/f8_2x3x4.npy")
	if err != nil || len(f32) != 24 || !reflect.DeepEqual(shape, []int{2, 3, 4}) || f32[23] != float32(wantFloat(23)) {
		t.Errorf("ReadFloat32(f8) = %v, %v, %v", shape, f32, err)
	}
	_, f64, err := ReadFloat64("testdata/f4_2x3.npy")
	if err != nil || len(f64) != 6 || f64[5] != wantFloat(5) {
		t.Errorf("ReadFloat64(f4) = %v, %v", f64, err)
	}
	_, m, err := ReadUint8("testdata/b1_3x4.npy")
	if err != nil || len(m) != 12 || m[3] != 1 || m[4] != 0 {
		t.Errorf("ReadUint8(b1) = %v, %v", m, err)
	}
	_, ints, err := ReadInt64("testdata/i8_7.npy")
	if err != nil || len(ints) != 7 || ints[6] != wantInt(6) {
		t.Errorf("ReadInt64 = %v, %v", ints, err)
	}
	wrong := []struct {
		name string
		read func(string) error
		file string
	}{
		{"float32 from uint8", func(p string) error { _, _, err := ReadFloat32(p); return err }, "testdata/u1_4x5.npy"},
		{"float64 from int64", func(p string) error { _, _, err := ReadFloat64(p); return err }, "testdata/i8_7.npy"},
		{"uint8 from float32", func(p string) error { _, _, err := ReadUint8(p); return err }, "testdata/f4_2x3.npy"},
		{"int64 from bool", func(p string) error { _, _, err := ReadInt64(p); return err }, "testdata/b1_3x4.npy"},
	}
	for _, w := range wrong {
		err := w.read(w.file)
		if err == nil || !strings.Contains(err.Error(), w.file) {
			t.Errorf("%s: err = %v, want an error naming %s", w.name, err, w.file)
		}
	}
}

// Go's writer must produce exactly the bytes numpy.save produced.
func TestWriteMatchesNumpyBytes(t *testing.T) {
	fl := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(wantFloat(i))
		}
		return v
	}
	f64 := make([]float64, 24)
	for i := range f64 {
		f64[i] = wantFloat(i)
	}
	b1 := make([]uint8, 12)
	for i := range b1 {
		b1[i] = wantBool(i) * 7 // non-zero bytes other than 1 must still write True
	}
	u1 := make([]uint8, 20)
	for i := range u1 {
		u1[i] = wantUint8(i)
	}
	i8 := make([]int64, 7)
	for i := range i8 {
		i8[i] = wantInt(i)
	}
	tests := []struct {
		file string
		a    *Array
	}{
		{"f4_2x3.npy", &Array{Shape: []int{2, 3}, DType: Float32, Float32: fl(6)}},
		{"f4_5.npy", &Array{Shape: []int{5}, DType: Float32, Float32: fl(5)}},
		{"f4_scalar.npy", &Array{Shape: []int{}, DType: Float32, Float32: fl(1)}},
		{"f4_0x3.npy", &Array{Shape: []int{0, 3}, DType: Float32, Float32: nil}},
		{"f8_2x3x4.npy", &Array{Shape: []int{2, 3, 4}, DType: Float64, Float64: f64}},
		{"b1_3x4.npy", &Array{Shape: []int{3, 4}, DType: Bool, Uint8: b1}},
		{"u1_4x5.npy", &Array{Shape: []int{4, 5}, DType: Uint8, Uint8: u1}},
		{"i8_7.npy", &Array{Shape: []int{7}, DType: Int64, Int64: i8}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := Write(&buf, tt.a); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("wrote\n%q\nnumpy wrote\n%q", buf.Bytes(), want)
			}
		})
	}
}

func TestWriteFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "x.npy")
	data := []float32{1, -2.5, 3e-7, 0}
	if err := WriteFloat32(p, []int{2, 2}, data); err != nil {
		t.Fatal(err)
	}
	shape, got, err := ReadFloat32(p)
	if err != nil || !reflect.DeepEqual(shape, []int{2, 2}) || !reflect.DeepEqual(got, data) {
		t.Fatalf("read back %v %v %v", shape, got, err)
	}
	if err := WriteBool(p, []int{3}, []uint8{0, 2, 1}); err != nil {
		t.Fatal(err)
	}
	_, m, err := ReadUint8(p)
	if err != nil || !reflect.DeepEqual(m, []uint8{0, 1, 1}) {
		t.Fatalf("bools read back %v %v", m, err)
	}
	// A bad shape is rejected before anything touches the disk.
	err = WriteFloat32(p, []int{3}, data)
	if err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("mismatched shape: err = %v, want error naming %s", err, p)
	}
	if _, _, err := ReadUint8(p); err != nil {
		t.Fatalf("failed write damaged the previous file: %v", err)
	}
}

func TestReadRejectsBadFiles(t *testing.T) {
	good, err := os.ReadFile("testdata/f4_2x3.npy")
	if err != nil {
		t.Fatal(err)
	}
	hdr := func(dict string) []byte {
		b := []byte(magic + "\x01\x00\x00\x00" + dict)
		binary.LittleEndian.PutUint16(b[8:], uint16(len(dict)))
		return b
	}
	readFixture := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"bad magic", append([]byte("\x93NUMPZ"), good[6:]...), "not an npy file"},
		{"version 4", append(append([]byte{}, good[:6]...), append([]byte{4, 0}, good[8:]...)...), "version 4.0"},
		{"truncated data", good[:len(good)-1], "needs more data bytes"},
		{"trailing data", append(append([]byte{}, good...), 0), "trailing bytes"},
		{"header past end", good[:40], "runs past the end"},
		{"int32", readFixture("i4_unsupported.npy"), "unsupported dtype \"<i4\""},
		{"complex64", readFixture("c8_unsupported.npy"), "unsupported dtype \"<c8\""},
		{"structured", hdr("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (0,), }\n"), "structured"},
		{"missing shape", hdr("{'descr': '<f4', 'fortran_order': False, }\n"), "\"shape\" missing"},
		{"extra key", hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (0,), 'x': 1}\n"), "unexpected key"},
		{"negative dim", hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }\n"), "non-negative integer"},
		{"int not tuple", hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (3), }\n"), "trailing comma"},
		{"huge shape", hdr("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n"), "overflows"},
		{"big shape, small file", hdr("{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000,), }\n"), "needs more data bytes"},
		{"garbage after dict", hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (0,), } x\n"), "after closing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(tt.data), int64(len(tt.data)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
			// The header-only reader catches the same problems, except
			// those that only reading the data can show (none here), and
			// names the file.
			p := filepath.Join(t.TempDir(), "bad.npy")
			if err := os.WriteFile(p, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = ReadHeaderFile(p)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("ReadHeaderFile: err = %v, want it to mention %q and %s", err, tt.want, p)
			}
		})
	}
}

// ReadHeaderFile reports what ReadFile would decode, without the data.
func TestReadHeaderFile(t *testing.T) {
	for _, name := range []string{"f4_2x3.npy", "i4_unsupported.npy"} {
		p := filepath.Join("testdata", name)
		a, errFull := ReadFile(p)
		h, errHead := ReadHeaderFile(p)
		if (errFull == nil) != (errHead == nil) {
			t.Fatalf("%s: ReadFile err %v, ReadHeaderFile err %v", name, errFull, errHead)
		}
		if errFull != nil {
			continue
		}
		if !reflect.DeepEqual(h.Shape, a.Shape) || h.DType != a.DType || h.Descr != a.Descr {
			t.Errorf("%s: header %+v, array shape %v dtype %v descr %q", name, h, a.Shape, a.DType, a.Descr)
		}
	}
	if _, err := ReadHeaderFile(filepath.Join(t.TempDir(), "missing.npy")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestReadFileErrorNamesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.npy")
	if err := os.WriteFile(p, []byte("hello, not numpy"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(p)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "not an npy file") {
		t.Fatalf("err = %v", err)
	}
}

// fortranToC against a brute-force index computation.
func TestFortranToC(t *testing.T) {
	shape := []int{3, 1, 4, 2}
	n := 24
	src := make([]int, n)
	for i := range src {
		src[i] = i
	}
	got := fortranToC(src, shape)
	for a := 0; a < 3; a++ {
		for b := 0; b < 1; b++ {
			for c := 0; c < 4; c++ {
				for d := 0; d < 2; d++ {
					f := a + 3*(b+1*(c+4*d))
					cc := ((a*1+b)*4+c)*2 + d
					if got[cc] != src[f] {
						t.Fatalf("C[%d,%d,%d,%d] = %d, want %d", a, b, c, d, got[cc], src[f])
					}
				}
			}
		}
	}
}
