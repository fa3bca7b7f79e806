package npy

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/padim-go/padim/internal/filekind"
)

// DType is the element type of an array, independent of byte order.
type DType int

const (
	Float32 DType = iota + 1 // numpy float32, '<f4'
	Float64                  // numpy float64, '<f8'
	Bool                     // numpy bool, '|b1', held as 0/1 bytes in Array.Uint8
	Uint8                    // numpy uint8, '|u1'
	Int64                    // numpy int64, '<i8'
)

func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Float64:
		return "float64"
	case Bool:
		return "bool"
	case Uint8:
		return "uint8"
	case Int64:
		return "int64"
	}
	return fmt.Sprintf("DType(%d)", int(d))
}

// size is the number of bytes one element occupies in a file.
func (d DType) size() int {
	switch d {
	case Float32:
		return 4
	case Float64, Int64:
		return 8
	case Bool, Uint8:
		return 1
	}
	return 0
}

// descr is the little-endian numpy type string written for d.
func (d DType) descr() string {
	switch d {
	case Float32:
		return "<f4"
	case Float64:
		return "<f8"
	case Bool:
		return "|b1"
	case Uint8:
		return "|u1"
	case Int64:
		return "<i8"
	}
	return ""
}

// Array is a decoded .npy array in C (row-major) order. Exactly one of the
// data slices is set, chosen by DType: Float32, Float64, Uint8 (for both
// Uint8 and Bool; bools are 0 or 1) or Int64.
type Array struct {
	Shape []int
	DType DType
	// Descr is the numpy type string as found in the file header, such as
	// "<f4" or ">f8"; informational on read, ignored on write.
	Descr string

	Float32 []float32
	Float64 []float64
	Uint8   []uint8
	Int64   []int64
}

// Len is the number of elements, the product of Shape (1 for a scalar).
func (a *Array) Len() int {
	n := 1
	for _, d := range a.Shape {
		n *= d
	}
	return n
}

const (
	magic = "\x93NUMPY"
	// maxDims bounds the number of dimensions accepted; numpy's own limit is 64.
	maxDims = 64
	// align is the header alignment numpy.save uses so data can be mmapped.
	align = 64
)

// ReadFile reads the .npy file at path.
func ReadFile(path string) (*Array, error) {
	f, _, err := filekind.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	a, err := Read(bufio.NewReaderSize(f, 1<<16), st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// Header is what a .npy file's header declares about its array.
type Header struct {
	Shape []int
	DType DType
	// Descr is the numpy type string, such as "<f4".
	Descr string
}

// ReadHeaderFile reads only the header of the .npy file at path and checks
// it against the file's length, so a truncated or padded file is reported
// without reading the data: the cheap check a dataset validation wants.
func ReadHeaderFile(path string) (Header, error) {
	f, _, err := filekind.Open(path)
	if err != nil {
		return Header{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Header{}, err
	}
	h, dt, _, _, err := readHeader(bufio.NewReader(f), st.Size())
	if err != nil {
		return Header{}, fmt.Errorf("%s: %w", path, err)
	}
	return Header{Shape: h.shape, DType: dt, Descr: h.descr}, nil
}

// Read decodes one .npy array from r, which must hold exactly size bytes
// (the file length). size is what lets header-declared shapes be checked
// before memory is allocated for them. Bytes after the array are an error:
// they mean the header and the data disagree.
func Read(r io.Reader, size int64) (*Array, error) {
	h, dt, order, n, err := readHeader(r, size)
	if err != nil {
		return nil, err
	}
	a := &Array{Shape: h.shape, DType: dt, Descr: h.descr}
	if err := readData(r, a, int(n), order); err != nil {
		return nil, fmt.Errorf("npy: reading %d elements of %s: %w", n, h.descr, err)
	}
	if h.fortran && len(a.Shape) > 1 {
		switch dt {
		case Float32:
			a.Float32 = fortranToC(a.Float32, a.Shape)
		case Float64:
			a.Float64 = fortranToC(a.Float64, a.Shape)
		case Bool, Uint8:
			a.Uint8 = fortranToC(a.Uint8, a.Shape)
		case Int64:
			a.Int64 = fortranToC(a.Int64, a.Shape)
		}
	}
	return a, nil
}

// readHeader reads the magic, version and header dict from r and checks
// the declared shape against the size bytes of the file: the returned n
// elements of dtype dt fill the rest of the file exactly.
func readHeader(r io.Reader, size int64) (h header, dt DType, order binary.ByteOrder, n int64, err error) {
	var pre [8]byte
	if size < int64(len(pre)) {
		return header{}, 0, nil, 0, fmt.Errorf("npy: file is %d bytes, too short for the npy magic and version", size)
	}
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return header{}, 0, nil, 0, fmt.Errorf("npy: reading magic: %w", err)
	}
	if string(pre[:6]) != magic {
		return header{}, 0, nil, 0, fmt.Errorf("npy: not an npy file (magic %q, want %q)", pre[:6], magic)
	}
	major, minor := pre[6], pre[7]
	var lenBytes int
	switch major {
	case 1:
		lenBytes = 2
	case 2, 3:
		lenBytes = 4
	default:
		return header{}, 0, nil, 0, fmt.Errorf("npy: unsupported format version %d.%d", major, minor)
	}
	if minor != 0 {
		return header{}, 0, nil, 0, fmt.Errorf("npy: unsupported format version %d.%d", major, minor)
	}
	var lb [4]byte
	if _, err := io.ReadFull(r, lb[:lenBytes]); err != nil {
		return header{}, 0, nil, 0, fmt.Errorf("npy: reading header length: %w", err)
	}
	var hlen int64
	if lenBytes == 2 {
		hlen = int64(binary.LittleEndian.Uint16(lb[:2]))
	} else {
		hlen = int64(binary.LittleEndian.Uint32(lb[:4]))
	}
	dataStart := int64(6+2+lenBytes) + hlen
	if dataStart > size {
		return header{}, 0, nil, 0, fmt.Errorf("npy: header length %d runs past the end of the %d-byte file", hlen, size)
	}
	hbuf := make([]byte, hlen)
	if _, err := io.ReadFull(r, hbuf); err != nil {
		return header{}, 0, nil, 0, fmt.Errorf("npy: reading header: %w", err)
	}
	// Versions 1 and 2 promise latin-1 (in practice ASCII); 3 allows UTF-8.
	// Only ASCII can be meaningful in the dict we parse, so both are
	// handled by the same byte-level parser.
	h, err = parseHeader(string(hbuf))
	if err != nil {
		return header{}, 0, nil, 0, fmt.Errorf("npy: header %q: %w", truncate(string(hbuf), 200), err)
	}
	dt, order, err = parseDescr(h.descr)
	if err != nil {
		return header{}, 0, nil, 0, fmt.Errorf("npy: %w", err)
	}
	n, err = elementCount(h.shape)
	if err != nil {
		return header{}, 0, nil, 0, fmt.Errorf("npy: shape %v: %w", h.shape, err)
	}
	avail := size - dataStart
	isz := int64(dt.size())
	if n > avail/isz || n*isz != avail {
		if n <= avail/isz {
			return header{}, 0, nil, 0, fmt.Errorf("npy: shape %v of %s needs %d data bytes but the file has %d (trailing bytes)", h.shape, h.descr, n*isz, avail)
		}
		return header{}, 0, nil, 0, fmt.Errorf("npy: shape %v of %s needs more data bytes than the %d the file has (truncated?)", h.shape, h.descr, avail)
	}
	return h, dt, order, n, nil
}

// elementCount multiplies the dimensions, refusing results that overflow.
func elementCount(shape []int) (int64, error) {
	for _, d := range shape {
		if d == 0 {
			return 0, nil
		}
	}
	n := int64(1)
	for _, d := range shape {
		if int64(d) > math.MaxInt64/n {
			return 0, errors.New("element count overflows")
		}
		n *= int64(d)
	}
	if n > math.MaxInt {
		return 0, errors.New("element count overflows int")
	}
	return n, nil
}

// readData fills the slice chosen by a.DType with n elements from r,
// converting in fixed-size chunks so a file is never held twice in memory.
func readData(r io.Reader, a *Array, n int, order binary.ByteOrder) error {
	isz := a.DType.size()
	buf := make([]byte, min(n*isz, 1<<16))
	per := 0
	if len(buf) > 0 {
		per = len(buf) / isz
	}
	switch a.DType {
	case Float32:
		a.Float32 = make([]float32, n)
	case Float64:
		a.Float64 = make([]float64, n)
	case Bool, Uint8:
		a.Uint8 = make([]uint8, n)
	case Int64:
		a.Int64 = make([]int64, n)
	}
	for i := 0; i < n; {
		k := min(per, n-i)
		b := buf[:k*isz]
		if _, err := io.ReadFull(r, b); err != nil {
			return err
		}
		switch a.DType {
		case Float32:
			for j := range k {
				a.Float32[i+j] = math.Float32frombits(order.Uint32(b[4*j:]))
			}
		case Float64:
			for j := range k {
				a.Float64[i+j] = math.Float64frombits(order.Uint64(b[8*j:]))
			}
		case Uint8:
			copy(a.Uint8[i:], b)
		case Bool:
			for j := range k {
				if b[j] != 0 {
					a.Uint8[i+j] = 1
				}
			}
		case Int64:
			for j := range k {
				a.Int64[i+j] = int64(order.Uint64(b[8*j:]))
			}
		}
		i += k
	}
	return nil
}

// fortranToC reorders column-major data (first index fastest) to row-major.
func fortranToC[T any](src []T, shape []int) []T {
	dst := make([]T, len(src))
	if len(src) == 0 {
		return dst
	}
	nd := len(shape)
	// Row-major strides of the destination.
	cstride := make([]int, nd)
	s := 1
	for i := nd - 1; i >= 0; i-- {
		cstride[i] = s
		s *= shape[i]
	}
	// Walk src in its own order (index 0 fastest), carrying the C offset.
	idx := make([]int, nd)
	off := 0
	for k := range src {
		dst[off] = src[k]
		for d := 0; d < nd; d++ {
			idx[d]++
			off += cstride[d]
			if idx[d] < shape[d] {
				break
			}
			off -= idx[d] * cstride[d]
			idx[d] = 0
		}
	}
	return dst
}

func parseDescr(descr string) (DType, binary.ByteOrder, error) {
	if len(descr) != 3 {
		return 0, nil, fmt.Errorf("unsupported dtype %q (want one of <f4 <f8 |b1 |u1 <i8)", descr)
	}
	var order binary.ByteOrder
	switch descr[0] {
	case '<', '|':
		order = binary.LittleEndian
	case '>':
		order = binary.BigEndian
	default:
		return 0, nil, fmt.Errorf("dtype %q has unsupported byte order %q", descr, descr[0])
	}
	var dt DType
	switch descr[1:] {
	case "f4":
		dt = Float32
	case "f8":
		dt = Float64
	case "b1":
		dt = Bool
	case "u1":
		dt = Uint8
	case "i8":
		dt = Int64
	default:
		return 0, nil, fmt.Errorf("unsupported dtype %q (want one of <f4 <f8 |b1 |u1 <i8)", descr)
	}
	if descr[0] == '|' && dt.size() != 1 {
		return 0, nil, fmt.Errorf("dtype %q: multi-byte type without byte order", descr)
	}
	return dt, order, nil
}

type header struct {
	descr   string
	fortran bool
	shape   []int
}

// parseHeader reads the Python dict literal numpy writes, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// It accepts exactly the three keys numpy requires, each once.
func parseHeader(s string) (header, error) {
	var h header
	p := &parser{s: s}
	p.space()
	if !p.eat('{') {
		return h, errors.New("does not start with '{'")
	}
	seen := map[string]bool{}
	for {
		p.space()
		if p.eat('}') {
			break
		}
		key, err := p.str()
		if err != nil {
			return h, fmt.Errorf("key: %w", err)
		}
		if seen[key] {
			return h, fmt.Errorf("key %q repeated", key)
		}
		seen[key] = true
		p.space()
		if !p.eat(':') {
			return h, fmt.Errorf("missing ':' after key %q", key)
		}
		p.space()
		switch key {
		case "descr":
			if p.peek() == '[' {
				return h, errors.New("structured dtypes are not supported")
			}
			h.descr, err = p.str()
		case "fortran_order":
			h.fortran, err = p.boolean()
		case "shape":
			h.shape, err = p.tuple()
		default:
			return h, fmt.Errorf("unexpected key %q", key)
		}
		if err != nil {
			return h, fmt.Errorf("%s: %w", key, err)
		}
		p.space()
		if p.eat('}') {
			break
		}
		if !p.eat(',') {
			return h, fmt.Errorf("missing ',' after %q value", key)
		}
	}
	p.space()
	if p.i != len(p.s) {
		return h, errors.New("text after closing '}'")
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return h, fmt.Errorf("key %q missing", k)
		}
	}
	return h, nil
}

type parser struct {
	s string
	i int
}

func (p *parser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *parser) eat(c byte) bool {
	if p.peek() == c && p.i < len(p.s) {
		p.i++
		return true
	}
	return false
}

// space skips whitespace, including the newline and padding numpy appends.
func (p *parser) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// str reads a quoted string without escapes, as numpy's keys and descrs are.
func (p *parser) str() (string, error) {
	q := p.peek()
	if q != '\'' && q != '"' {
		return "", errors.New("expected a quoted string")
	}
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", errors.New("unterminated string")
	}
	v := p.s[p.i+1 : p.i+1+end]
	if strings.IndexByte(v, '\\') >= 0 {
		return "", errors.New("escaped strings are not supported")
	}
	p.i += end + 2
	return v, nil
}

func (p *parser) boolean() (bool, error) {
	switch {
	case strings.HasPrefix(p.s[p.i:], "True"):
		p.i += 4
		return true, nil
	case strings.HasPrefix(p.s[p.i:], "False"):
		p.i += 5
		return false, nil
	}
	return false, errors.New("expected True or False")
}

// tuple reads "()", "(3,)" or "(3, 4)"; Python 2 long suffixes ("3L") are
// accepted because old numpy wrote them.
func (p *parser) tuple() ([]int, error) {
	if !p.eat('(') {
		return nil, errors.New("expected '('")
	}
	shape := []int{}
	comma := false
	for {
		p.space()
		if p.eat(')') {
			break
		}
		start := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		if start == p.i {
			return nil, fmt.Errorf("expected a non-negative integer at %q", truncate(p.s[start:], 20))
		}
		d, err := strconv.Atoi(p.s[start:p.i])
		if err != nil {
			return nil, fmt.Errorf("dimension %q: %w", p.s[start:p.i], err)
		}
		p.eat('L')
		if len(shape) == maxDims {
			return nil, fmt.Errorf("more than %d dimensions", maxDims)
		}
		shape = append(shape, d)
		p.space()
		if p.eat(')') {
			break
		}
		if !p.eat(',') {
			return nil, errors.New("expected ',' or ')'")
		}
		comma = true
	}
	if len(shape) == 1 && !comma {
		// "(3)" is an int in Python, not a tuple; numpy never writes it.
		return nil, errors.New("one-element shape without trailing comma")
	}
	return shape, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
