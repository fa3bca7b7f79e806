package padim

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"unsafe"

	"github.com/padim-go/padim/internal/atomicfile"
	"github.com/padim-go/padim/internal/filekind"
)

// Model file layout (all integers and floats little-endian):
//
//	offset 0   magic "PADIMMDL" (8 bytes)
//	offset 8   format version, uint32 (FormatVersion)
//	offset 12  header length L, uint32
//	offset 16  header, L bytes of JSON (Header)
//	           zero padding to a multiple of 64
//	           means: GridH*GridW*D float32, position-major
//	           zero padding to a multiple of 64
//	           covariance factors: GridH*GridW*D*(D+1)/2 float32, per
//	           position the packed upper-triangular Cholesky factor U
//	           (Sigma = U^T U), row by row
//	           zero padding to a multiple of 64
//	           PCA axes (Selection "pca" only): TotalChannels*D float32,
//	           row-major, column j = axis j
//	           zero padding to a multiple of 64
//	last 32    SHA-256 of every preceding byte
//
// The factors are stored packed because they are triangular: 1.9 GB
// instead of 3.8 GB for Wide-ResNet-50-2 with d = 550.
// The arrays start at 64-byte-aligned offsets so they can be used in place
// from a memory map.

// FormatVersion is the newest model file version this package writes and
// reads. Version 1 stored packed inverse covariances and must be fitted
// again; version 2 stores Cholesky factors of the covariances; version 3 is
// version 2 plus the header's weights_path. A model without a weights path
// is written as version 2, so that older programs still read it.
const FormatVersion = 3

// oldestFormatVersion is the oldest version this package reads.
const oldestFormatVersion = 2

var magic = [8]byte{'P', 'A', 'D', 'I', 'M', 'M', 'D', 'L'}

const (
	prefixLen   = 16
	checksumLen = 32
	alignment   = 64
	maxHeader   = 64 << 20
)

// Header is the JSON part of a model file: everything but the big arrays.
type Header struct {
	Backbone      string `json:"backbone"`
	WeightsSHA256 string `json:"weights_sha256,omitempty"`
	// WeightsPath is the absolute path of the weights file at fit time
	// (version 3): scoring tries it first, when its sha256 still matches.
	WeightsPath   string           `json:"weights_path,omitempty"`
	Layers        []string         `json:"layers"`
	TotalChannels int              `json:"total_channels"` // width of the full concatenated embedding
	Selection     Selection        `json:"selection"`      // SelectRandom, SelectIndices or SelectPCA
	Seed          uint64           `json:"seed"`           // SelectRandom's seed
	Channels      []int            `json:"channels,omitempty"`
	D             int              `json:"d"`
	GridH         int              `json:"grid_h"`
	GridW         int              `json:"grid_w"`
	NTrain        int              `json:"n_train"`
	Epsilon       float64          `json:"epsilon"`
	Preprocess    PreprocessPolicy `json:"preprocess"`
	Created       Creation         `json:"created"`
}

// Creation records how a model was made. Time is empty unless the
// SOURCE_DATE_EPOCH environment variable supplied one at fit time, so that
// fitting the same data twice gives byte-identical files.
type Creation struct {
	Time      string `json:"time,omitempty"`
	GoVersion string `json:"go_version"`
	BLAS      string `json:"blas"`
	Tool      string `json:"tool,omitempty"`
}

// Model is a fitted PaDiM model: per patch position, the mean and the
// Cholesky factor of the covariance of the training embeddings.
type Model struct {
	Header Header
	// Mean holds GridH*GridW vectors of D float32, position p = y*GridW+x.
	Mean []float32
	// Cholesky holds, per position, the packed upper-triangular factor U
	// of the covariance, Sigma = U^T U: D*(D+1)/2 float32 each, row by row.
	Cholesky []float32
	// PCA is the TotalChannels x D projection for Selection "pca", else nil.
	PCA []float32

	mapped []byte // non-nil when the arrays view a memory-mapped file
}

// Close releases a memory-mapped model file. The model's arrays must not
// be used afterwards. It is a no-op for models not read from a file.
func (m *Model) Close() error {
	if m.mapped == nil {
		return nil
	}
	data := m.mapped
	m.mapped, m.Mean, m.Cholesky, m.PCA = nil, nil, nil, nil
	return unmapFile(data)
}

// layout is the byte offset and float32 count of each array.
type layout struct {
	meanOff, meanLen int64
	cholOff, cholLen int64
	pcaOff, pcaLen   int64
	size             int64 // whole file, checksum included
}

func alignUp(n int64) int64 { return (n + alignment - 1) / alignment * alignment }

// validate checks the header's sizes and internal consistency, bounding
// every count so the layout arithmetic cannot overflow.
func (h *Header) validate() error {
	const maxDim = 1 << 16
	if h.Backbone == "" {
		return fmt.Errorf("no backbone name")
	}
	if len(h.Layers) == 0 {
		return fmt.Errorf("no layers")
	}
	if h.GridH <= 0 || h.GridW <= 0 || h.GridH > maxDim || h.GridW > maxDim {
		return fmt.Errorf("grid %dx%d out of range", h.GridH, h.GridW)
	}
	if h.TotalChannels <= 0 || h.TotalChannels > maxDim {
		return fmt.Errorf("total channels %d out of range", h.TotalChannels)
	}
	if h.D <= 0 || h.D > h.TotalChannels {
		return fmt.Errorf("d = %d out of range 1..%d", h.D, h.TotalChannels)
	}
	// Bound the array sizes before layout multiplies them: a 2^16 x 2^16
	// grid with d = 2^16 would overflow int64 in p*d*(d+1)/2, and a
	// crafted header could then make the layout match a small file.
	const maxElements = 1 << 40 // 4 TiB of float32
	if p, per := int64(h.GridH)*int64(h.GridW), int64(h.D)*int64(h.D+1)/2; p > maxElements/per {
		return fmt.Errorf("%dx%d grid with d = %d needs more than %d covariance-factor values", h.GridH, h.GridW, h.D, int64(maxElements))
	}
	if h.NTrain < 2 {
		return fmt.Errorf("n_train = %d, need at least 2", h.NTrain)
	}
	if err := h.Preprocess.Mode.Validate(); err != nil {
		return err
	}
	switch h.Selection {
	case SelectRandom, SelectIndices:
		if len(h.Channels) != h.D {
			return fmt.Errorf("%d channel indices for d = %d", len(h.Channels), h.D)
		}
		if err := validateChannels(h.Channels, h.TotalChannels); err != nil {
			return err
		}
	case SelectPCA:
		if len(h.Channels) != 0 {
			return fmt.Errorf("PCA model lists channel indices")
		}
	default:
		return fmt.Errorf("unknown selection %q", h.Selection)
	}
	return nil
}

func (h *Header) layout(headerLen int64) layout {
	var l layout
	p, d := int64(h.GridH)*int64(h.GridW), int64(h.D)
	l.meanOff = alignUp(prefixLen + headerLen)
	l.meanLen = p * d
	l.cholOff = alignUp(l.meanOff + 4*l.meanLen)
	l.cholLen = p * d * (d + 1) / 2
	end := alignUp(l.cholOff + 4*l.cholLen)
	if h.Selection == SelectPCA {
		l.pcaOff = end
		l.pcaLen = int64(h.TotalChannels) * d
		end = alignUp(l.pcaOff + 4*l.pcaLen)
	}
	l.size = end + checksumLen
	return l
}

// WriteFile stores the model at path atomically (internal/atomicfile).
func (m *Model) WriteFile(path string) error {
	h := m.Header
	if err := h.validate(); err != nil {
		return fmt.Errorf("%s: invalid model: %w", path, err)
	}
	hj, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	l := h.layout(int64(len(hj)))
	if int64(len(m.Mean)) != l.meanLen || int64(len(m.Cholesky)) != l.cholLen || int64(len(m.PCA)) != l.pcaLen {
		return fmt.Errorf("%s: model arrays have %d means, %d covariance-factor entries, %d PCA entries; header implies %d, %d, %d",
			path, len(m.Mean), len(m.Cholesky), len(m.PCA), l.meanLen, l.cholLen, l.pcaLen)
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		sum := sha256.New()
		bw := bufio.NewWriterSize(io.MultiWriter(w, sum), 1<<20)
		var pos int64
		put := func(b []byte) error {
			pos += int64(len(b))
			_, err := bw.Write(b)
			return err
		}
		pad := func(to int64) error { return put(make([]byte, to-pos)) }
		var prefix [prefixLen]byte
		copy(prefix[:8], magic[:])
		version := uint32(FormatVersion)
		if h.WeightsPath == "" {
			version = 2 // nothing of version 3 in it: readable by older programs
		}
		binary.LittleEndian.PutUint32(prefix[8:], version)
		binary.LittleEndian.PutUint32(prefix[12:], uint32(len(hj)))
		if err := put(prefix[:]); err != nil {
			return err
		}
		if err := put(hj); err != nil {
			return err
		}
		buf := make([]byte, 4<<10)
		for _, a := range []struct {
			off  int64
			data []float32
		}{{l.meanOff, m.Mean}, {l.cholOff, m.Cholesky}, {l.pcaOff, m.PCA}} {
			if a.data == nil {
				continue
			}
			if err := pad(a.off); err != nil {
				return err
			}
			for i := 0; i < len(a.data); i += len(buf) / 4 {
				chunk := a.data[i:min(i+len(buf)/4, len(a.data))]
				for j, v := range chunk {
					binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(v))
				}
				if err := put(buf[:4*len(chunk)]); err != nil {
					return err
				}
			}
		}
		if err := pad(l.size - checksumLen); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		_, err := w.Write(sum.Sum(nil))
		return err
	})
}

// ReadModel opens a model file, checks its magic, version, sizes and
// checksum, and returns the model with its arrays viewing a read-only
// memory map of the file (on Linux; elsewhere the file is read into
// memory). Call Close when done.
func ReadModel(path string) (*Model, error) {
	data, mapped, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	m, err := parseModel(data, path)
	if err != nil {
		if mapped {
			unmapFile(data)
		}
		return nil, err
	}
	if mapped {
		m.mapped = data
	}
	return m, nil
}

// parseModel decodes a whole model file held in data. Every length is
// checked against len(data) before it is used; the arrays view data when
// it is suitably aligned on a little-endian machine and are copied
// otherwise.
func parseModel(data []byte, name string) (*Model, error) {
	size := int64(len(data))
	if size < prefixLen+checksumLen {
		return nil, fmt.Errorf("%s: %d bytes is too short for a PaDiM model file", name, size)
	}
	if !bytes.Equal(data[:8], magic[:]) {
		return nil, fmt.Errorf("%s: not a PaDiM model file (magic %q, want %q)", name, data[:8], magic[:])
	}
	v := binary.LittleEndian.Uint32(data[8:])
	if v < oldestFormatVersion || v > FormatVersion {
		hint := ""
		if v < oldestFormatVersion {
			hint = " (written by an older padim: fit the model again)"
		}
		return nil, fmt.Errorf("%s: model file format version %d, this program reads version %d%s", name, v, FormatVersion, hint)
	}
	hl := int64(binary.LittleEndian.Uint32(data[12:]))
	if hl > maxHeader || prefixLen+hl+checksumLen > size {
		return nil, fmt.Errorf("%s: header length %d does not fit in a %d-byte file", name, hl, size)
	}
	var h Header
	dec := json.NewDecoder(bytes.NewReader(data[prefixLen : prefixLen+hl]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return nil, fmt.Errorf("%s: header: %w", name, err)
	}
	if err := h.validate(); err != nil {
		return nil, fmt.Errorf("%s: header: %w", name, err)
	}
	if v < 3 && h.WeightsPath != "" {
		return nil, fmt.Errorf("%s: header: weights_path in a version %d file (it was added in version 3)", name, v)
	}
	l := h.layout(hl)
	if l.size != size {
		return nil, fmt.Errorf("%s: file is %d bytes, header (%dx%d grid, d=%d) implies %d: truncated or corrupt",
			name, size, h.GridH, h.GridW, h.D, l.size)
	}
	sum := sha256.Sum256(data[:size-checksumLen])
	if !bytes.Equal(sum[:], data[size-checksumLen:]) {
		return nil, fmt.Errorf("%s: checksum mismatch: file is corrupt", name)
	}
	m := &Model{Header: h}
	m.Mean = float32View(data[l.meanOff : l.meanOff+4*l.meanLen])
	m.Cholesky = float32View(data[l.cholOff : l.cholOff+4*l.cholLen])
	if l.pcaLen > 0 {
		m.PCA = float32View(data[l.pcaOff : l.pcaOff+4*l.pcaLen])
	}
	return m, nil
}

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// float32View reinterprets little-endian bytes as float32 without copying
// when the platform and alignment allow it.
func float32View(b []byte) []float32 {
	n := len(b) / 4
	if n == 0 {
		return []float32{}
	}
	if littleEndian && uintptr(unsafe.Pointer(&b[0]))%4 == 0 {
		return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// readWhole is the portable fallback of mapFile.
func readWhole(path string) ([]byte, bool, error) {
	b, err := filekind.ReadFile(path)
	return b, false, err
}
