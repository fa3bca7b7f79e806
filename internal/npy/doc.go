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

// # Why not codeberg.org/sbinet/npyio
//
// npyio v0.14.0 was evaluated as a replacement (issue 17) and is not used,
// for reasons measured against the guarantees above (2026-12-02, go1.26.8):
//
//   - Hostile headers. A 20-byte version-2.0 header claiming a 4 GiB
//     header length makes it allocate that 4 GiB before reading (a fatal,
//     unrecoverable out-of-memory under an 8 GB limit); a 92-byte file
//     whose header claims shape (200000000,) allocates 200 MB before
//     failing with a bare EOF; a negative shape is accepted without error;
//     a header without its closing newline, or with its keys in another
//     order, panics (slice bounds out of range). FuzzNpyRead's contract
//     (no panic, no allocation beyond the input) would not hold.
//   - Speed. Reading a 200 x 256 x 256 uint8 mask (STC's T x H x W) into
//     a []uint8 reads one byte per call: 372 ms against 4.8 ms here (its
//     Array path took 12 ms; both on a loaded shared machine, so take the
//     ratios, not the times). Writing a 448 x 56 x 56 float32 feature map
//     needs it as nested [][][]float32 (a flat slice is written as 1-d) and
//     took 2.2 s.
//   - Format. It writes version 2.0 headers padded to 16 bytes, not
//     numpy.save's version 1.0 padded to 64, so written fixtures would no
//     longer be byte-identical to numpy's; it rejects version 3.0 files.
//   - Dependencies. It requires gopickle v0.3.0 (internal/statedict is
//     built and tested on v0.2.0) and golang.org/x/text v0.34.0.
//
// It does read STC's masks correctly (uint8 and bool, values identical to
// this package's), and this package's fixtures without a panic.
