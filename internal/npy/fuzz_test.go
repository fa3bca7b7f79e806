package npy

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func addFixtureSeeds(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.npy")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzNpyRead feeds arbitrary bytes to Read: it must never panic or
// allocate beyond the input, and whatever it accepts must survive a
// Write/Read round trip unchanged.
func FuzzNpyRead(f *testing.F) {
	addFixtureSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Read(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		if n := a.Len(); n*a.DType.size() > len(data) {
			t.Fatalf("accepted %d elements of %s from %d bytes", n, a.DType, len(data))
		}
		var buf bytes.Buffer
		if err := Write(&buf, a); err != nil {
			t.Fatalf("cannot rewrite what was read (%v %s): %v", a.Shape, a.DType, err)
		}
		b, err := Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatalf("cannot reread what was written: %v", err)
		}
		if !sameArray(a, b) {
			t.Fatalf("round trip changed the array:\n%+v\n%+v", a, b)
		}
	})
}

// FuzzNpyRoundTrip builds an array from fuzzed dtype, shape and payload,
// writes it and reads it back.
func FuzzNpyRoundTrip(f *testing.F) {
	f.Add(uint8(0), uint8(2), uint8(3), uint8(1), []byte("0123456789abcdefghijklmnopqrstuvwxyz"))
	f.Add(uint8(1), uint8(1), uint8(1), uint8(1), []byte{0, 0, 0, 0, 0, 0, 0xf8, 0x7f})
	f.Add(uint8(2), uint8(4), uint8(0), uint8(3), []byte{})
	f.Add(uint8(3), uint8(5), uint8(2), uint8(2), bytes.Repeat([]byte{0xff, 0x01}, 20))
	f.Add(uint8(4), uint8(1), uint8(1), uint8(0), bytes.Repeat([]byte{0x80}, 8))
	f.Fuzz(func(t *testing.T, kind, d0, d1, d2 uint8, payload []byte) {
		dt := DType(kind%5) + Float32
		// Dimension 0 marks "absent", so 0-, 1-, 2- and 3-d shapes all occur.
		shape := []int{}
		for _, d := range []uint8{d0, d1, d2} {
			if d != 0 {
				shape = append(shape, int(d%9))
			}
		}
		a := &Array{Shape: shape, DType: dt}
		n := a.Len()
		sz := dt.size()
		raw := make([]byte, n*sz)
		for i := range raw {
			if len(payload) > 0 {
				raw[i] = payload[i%len(payload)]
			}
		}
		switch dt {
		case Float32:
			a.Float32 = make([]float32, n)
			for i := range a.Float32 {
				a.Float32[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		case Float64:
			a.Float64 = make([]float64, n)
			for i := range a.Float64 {
				a.Float64[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		case Uint8:
			a.Uint8 = raw
		case Bool:
			a.Uint8 = make([]uint8, n)
			for i, v := range raw {
				if v&1 == 1 {
					a.Uint8[i] = 1
				}
			}
		case Int64:
			a.Int64 = make([]int64, n)
			for i := range a.Int64 {
				a.Int64[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		}
		var buf bytes.Buffer
		if err := Write(&buf, a); err != nil {
			t.Fatal(err)
		}
		if buf.Len()%align != (n*sz)%align {
			t.Fatalf("header of %d-byte file not padded to %d", buf.Len(), align)
		}
		b, err := Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		if !sameArray(a, b) {
			t.Fatalf("round trip changed the array:\n%+v\n%+v", a, b)
		}
	})
}

// sameArray compares shape, dtype and bit patterns (so NaNs compare equal).
func sameArray(a, b *Array) bool {
	if a.DType != b.DType || !reflect.DeepEqual(a.Shape, b.Shape) || a.Len() != b.Len() {
		return false
	}
	for i := 0; i < a.Len(); i++ {
		switch a.DType {
		case Float32:
			if math.Float32bits(a.Float32[i]) != math.Float32bits(b.Float32[i]) {
				return false
			}
		case Float64:
			if math.Float64bits(a.Float64[i]) != math.Float64bits(b.Float64[i]) {
				return false
			}
		case Bool, Uint8:
			if a.Uint8[i] != b.Uint8[i] {
				return false
			}
		case Int64:
			if a.Int64[i] != b.Int64[i] {
				return false
			}
		}
	}
	return true
}
