package npy

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/padim-go/padim/internal/atomicfile"
)

// ReadFloat32 reads a float32 or float64 array from path as float32.
func ReadFloat32(path string) (shape []int, data []float32, err error) {
	a, err := ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	switch a.DType {
	case Float32:
		return a.Shape, a.Float32, nil
	case Float64:
		out := make([]float32, len(a.Float64))
		for i, v := range a.Float64 {
			out[i] = float32(v)
		}
		return a.Shape, out, nil
	}
	return nil, nil, fmt.Errorf("%s: dtype %s (%s) is not floating point", path, a.DType, a.Descr)
}

// ReadFloat64 reads a float64 or float32 array from path as float64.
func ReadFloat64(path string) (shape []int, data []float64, err error) {
	a, err := ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	switch a.DType {
	case Float64:
		return a.Shape, a.Float64, nil
	case Float32:
		out := make([]float64, len(a.Float32))
		for i, v := range a.Float32 {
			out[i] = float64(v)
		}
		return a.Shape, out, nil
	}
	return nil, nil, fmt.Errorf("%s: dtype %s (%s) is not floating point", path, a.DType, a.Descr)
}

// ReadUint8 reads a bool or uint8 array, such as a ground-truth mask, from
// path. Bools come back as 0 and 1.
func ReadUint8(path string) (shape []int, data []uint8, err error) {
	a, err := ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	if a.DType != Uint8 && a.DType != Bool {
		return nil, nil, fmt.Errorf("%s: dtype %s (%s) is not bool or uint8", path, a.DType, a.Descr)
	}
	return a.Shape, a.Uint8, nil
}

// ReadInt64 reads an int64 array, such as labels or indices, from path.
func ReadInt64(path string) (shape []int, data []int64, err error) {
	a, err := ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	if a.DType != Int64 {
		return nil, nil, fmt.Errorf("%s: dtype %s (%s) is not int64", path, a.DType, a.Descr)
	}
	return a.Shape, a.Int64, nil
}

// WriteFloat32 atomically writes data with the given C-order shape to path
// as a '<f4' array.
func WriteFloat32(path string, shape []int, data []float32) error {
	return WriteFile(path, &Array{Shape: shape, DType: Float32, Float32: data})
}

// WriteFloat64 atomically writes data to path as a '<f8' array.
func WriteFloat64(path string, shape []int, data []float64) error {
	return WriteFile(path, &Array{Shape: shape, DType: Float64, Float64: data})
}

// WriteUint8 atomically writes data to path as a '|u1' array.
func WriteUint8(path string, shape []int, data []uint8) error {
	return WriteFile(path, &Array{Shape: shape, DType: Uint8, Uint8: data})
}

// WriteBool atomically writes data to path as a '|b1' array; any non-zero
// byte is written as True.
func WriteBool(path string, shape []int, data []uint8) error {
	return WriteFile(path, &Array{Shape: shape, DType: Bool, Uint8: data})
}

// WriteInt64 atomically writes data to path as a '<i8' array.
func WriteInt64(path string, shape []int, data []int64) error {
	return WriteFile(path, &Array{Shape: shape, DType: Int64, Int64: data})
}

// WriteFile atomically writes a to path (see Write).
func WriteFile(path string, a *Array) error {
	if err := check(a); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.Write(path, func(w io.Writer) error { return Write(w, a) })
}

// check verifies that a's data slice for its DType matches its shape.
func check(a *Array) error {
	n, err := elementCount(a.Shape)
	for _, d := range a.Shape {
		if d < 0 {
			err = fmt.Errorf("negative dimension %d", d)
		}
	}
	if err != nil {
		return fmt.Errorf("npy: shape %v: %w", a.Shape, err)
	}
	if len(a.Shape) > maxDims {
		return fmt.Errorf("npy: shape %v has more than %d dimensions", a.Shape, maxDims)
	}
	var have int
	switch a.DType {
	case Float32:
		have = len(a.Float32)
	case Float64:
		have = len(a.Float64)
	case Bool, Uint8:
		have = len(a.Uint8)
	case Int64:
		have = len(a.Int64)
	default:
		return fmt.Errorf("npy: cannot write %s", a.DType)
	}
	if int64(have) != n {
		return fmt.Errorf("npy: %d %s values do not fill shape %v (%d elements)", have, a.DType, a.Shape, n)
	}
	return nil
}

// Write encodes a in .npy format version 1.0 to w, little-endian, C order,
// byte-identical to what numpy.save writes for the same array.
func Write(w io.Writer, a *Array) error {
	if err := check(a); err != nil {
		return err
	}
	var dict strings.Builder
	fmt.Fprintf(&dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", a.DType.descr())
	for i, d := range a.Shape {
		if i > 0 {
			dict.WriteString(", ")
		}
		fmt.Fprintf(&dict, "%d", d)
	}
	if len(a.Shape) == 1 {
		dict.WriteString(",")
	}
	dict.WriteString("), }")
	// Pad with spaces and end with '\n' so magic+version+length+header is a
	// multiple of align, exactly as numpy does. With at most maxDims
	// dimensions the header is far below version 1.0's 64 KiB limit.
	total := len(magic) + 2 + 2 + dict.Len() + 1
	pad := (align - total%align) % align
	hlen := dict.Len() + pad + 1
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString(magic)
	bw.Write([]byte{1, 0})
	var lb [2]byte
	binary.LittleEndian.PutUint16(lb[:], uint16(hlen))
	bw.Write(lb[:])
	bw.WriteString(dict.String())
	bw.WriteString(strings.Repeat(" ", pad))
	bw.WriteByte('\n')
	var b [8]byte
	switch a.DType {
	case Float32:
		for _, v := range a.Float32 {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			bw.Write(b[:4])
		}
	case Float64:
		for _, v := range a.Float64 {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
			bw.Write(b[:8])
		}
	case Uint8:
		bw.Write(a.Uint8)
	case Bool:
		for _, v := range a.Uint8 {
			if v != 0 {
				v = 1
			}
			bw.WriteByte(v)
		}
	case Int64:
		for _, v := range a.Int64 {
			binary.LittleEndian.PutUint64(b[:], uint64(v))
			bw.Write(b[:8])
		}
	}
	return bw.Flush()
}
