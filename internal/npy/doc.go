// Package npy reads and writes NumPy .npy files, the format fixtures and
// intermediate arrays are exchanged in between the Python reference scripts
// and the Go harness.
//
// Reading accepts format versions 1.0, 2.0 and 3.0 and the dtypes float32
// (<f4), float64 (<f8), bool (|b1), uint8 (|u1), int64 (<i8) and int32 (<i4),
// in either byte order. Fortran-ordered arrays are transposed to C order on
// read, so callers always see row-major data. Every size taken from a header
// is checked against the bytes actually present before anything is
// allocated, so a corrupt or hostile file yields an error, not an
// out-of-memory crash.
//
// Writing produces version 1.0 files, padded to 64-byte alignment and
// byte-identical to numpy.save's output, and goes through
// internal/atomicfile so a reader never sees a half-written file.
package npy
