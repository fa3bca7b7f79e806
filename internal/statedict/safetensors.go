package statedict

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
)

// maxSafetensorsHeader is the safetensors library's own limit (100 MB).
const maxSafetensorsHeader = 100 << 20

var safetensorsDtypes = map[string]dtype{
	"F32": dtF32, "F16": dtF16, "BF16": dtBF16, "F64": dtF64,
	"I64": dtInteger, "I32": dtInteger, "I16": dtInteger, "I8": dtInteger,
	"U64": dtInteger, "U32": dtInteger, "U16": dtInteger, "U8": dtInteger,
	"BOOL": dtInteger,
}

type safetensorsEntry struct {
	DType   string  `json:"dtype"`
	Shape   []int64 `json:"shape"`
	Offsets []int64 `json:"data_offsets"`
}

// readSafetensors decodes the safetensors layout: a little-endian uint64
// header length, a JSON header mapping names to dtype, shape and byte
// offsets into the data section that follows, and the data.
func readSafetensors(r io.ReaderAt, size int64) (StateDict, error) {
	var lb [8]byte
	if err := readAt(r, lb[:], 0); err != nil {
		return nil, fmt.Errorf("safetensors: reading header length: %w", err)
	}
	hlen := binary.LittleEndian.Uint64(lb[:])
	if hlen > uint64(size-8) || hlen > maxSafetensorsHeader {
		return nil, fmt.Errorf("safetensors: header length %d runs past the end of the %d-byte file", hlen, size)
	}
	hdr := make([]byte, hlen)
	if err := readAt(r, hdr, 8); err != nil {
		return nil, fmt.Errorf("safetensors: reading header: %w", err)
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(hdr))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("safetensors: header is not a JSON object: %w", err)
	}
	dataStart := int64(8 + hlen)
	dataLen := size - dataStart
	names := make([]string, 0, len(raw))
	for k := range raw {
		if k != "__metadata__" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	sd := make(StateDict, len(names))
	for _, name := range names {
		var e safetensorsEntry
		if err := json.Unmarshal(raw[name], &e); err != nil {
			return nil, fmt.Errorf("safetensors: tensor %s: bad header entry: %w", name, err)
		}
		t, err := e.read(name, r, dataStart, dataLen)
		if err != nil {
			return nil, fmt.Errorf("safetensors: tensor %s: %w", name, err)
		}
		if t != nil {
			sd[name] = t
		}
	}
	return sd, nil
}

func (e *safetensorsEntry) read(name string, r io.ReaderAt, dataStart, dataLen int64) (*Tensor, error) {
	dt, ok := safetensorsDtypes[e.DType]
	if !ok {
		return nil, fmt.Errorf("unsupported dtype %q (want F32, F16, BF16 or F64)", e.DType)
	}
	if len(e.Offsets) != 2 {
		return nil, fmt.Errorf("data_offsets %v, want [begin, end]", e.Offsets)
	}
	begin, end := e.Offsets[0], e.Offsets[1]
	if begin < 0 || end < begin || end > dataLen {
		return nil, fmt.Errorf("data_offsets [%d, %d] outside the %d-byte data section", begin, end, dataLen)
	}
	if dt == dtInteger {
		return nil, nil
	}
	n := int64(1)
	shape := make([]int, len(e.Shape))
	for i, d := range e.Shape {
		if d < 0 {
			return nil, fmt.Errorf("negative dimension in shape %v", e.Shape)
		}
		if d > 0 && n > math.MaxInt32/d {
			return nil, fmt.Errorf("shape %v has too many elements", e.Shape)
		}
		n *= d
		shape[i] = int(d)
	}
	if want := n * int64(dt.size()); end-begin != want {
		return nil, fmt.Errorf("data_offsets [%d, %d] hold %d bytes, shape %v of %s needs %d", begin, end, end-begin, e.Shape, e.DType, want)
	}
	buf := make([]byte, end-begin)
	if err := readAt(r, buf, dataStart+begin); err != nil {
		return nil, fmt.Errorf("reading data: %w", err)
	}
	t := &Tensor{Name: name, Shape: shape, Data: make([]float32, n)}
	for i := range t.Data {
		t.Data[i] = float32At(dt, buf, i)
	}
	return t, nil
}

// readAt fills buf from off, accepting the io.EOF a ReaderAt may return
// alongside a complete read.
func readAt(r io.ReaderAt, buf []byte, off int64) error {
	if len(buf) == 0 {
		return nil
	}
	n, err := r.ReadAt(buf, off)
	if n == len(buf) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}
