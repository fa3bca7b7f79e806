package statedict

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// maxPickleBytes bounds data.pkl; real state dicts' pickles are tens of KB
// (ResNet-18's is 9 KB), the tensors live in separate entries.
const maxPickleBytes = 64 << 20

// maxBroadcastElements bounds tensors with more elements than their storage
// (stride-0 expanded views), which could otherwise turn a tiny file into an
// enormous allocation.
const maxBroadcastElements = 1 << 24

// elementBudget is how many float32 values a file of size bytes may decode
// to in total. Without overlapping views a file holds at most size/2
// elements (float16); the budget allows views and expansions generously
// while stopping a small pickle that names one large view many times.
func elementBudget(size int64) int64 {
	return max(4*size, maxBroadcastElements)
}

// readPth decodes a torch >= 1.6 zip archive written by torch.save.
func readPth(r io.ReaderAt, size int64) (StateDict, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("not a readable zip archive (truncated or corrupt .pth?): %w", err)
	}
	entries := make(map[string]*zip.File, len(zr.File))
	var pkl *zip.File
	for _, f := range zr.File {
		entries[f.Name] = f
		// torch names it "<archive>/data.pkl"; the folder varies with the
		// file name it was saved under, so take the shallowest data.pkl.
		if strings.HasSuffix(f.Name, "data.pkl") && (f.Name == "data.pkl" || strings.HasSuffix(f.Name, "/data.pkl")) {
			if pkl == nil || strings.Count(f.Name, "/") < strings.Count(pkl.Name, "/") {
				pkl = f
			}
		}
	}
	if pkl == nil {
		return nil, errors.New("zip archive has no data.pkl entry: not a torch.save file")
	}
	prefix := strings.TrimSuffix(pkl.Name, "data.pkl")
	if _, ok := entries[prefix+"constants.pkl"]; ok {
		return nil, errors.New("TorchScript archive (torch.jit.save) is not a state dict; save model.state_dict() with torch.save instead")
	}
	if pkl.UncompressedSize64 > maxPickleBytes {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d a state dict pickle can plausibly need", pkl.Name, pkl.UncompressedSize64, maxPickleBytes)
	}
	pdata, err := readEntry(pkl, int64(pkl.UncompressedSize64), size)
	if err != nil {
		return nil, err
	}
	if err := scanPickle(pdata); err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	root, err := unpickle(pdata)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	items, err := stateDictItems(root)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	st := &storages{entries: entries, prefix: prefix, fileSize: size, raw: map[string][]byte{}}
	sd := make(StateDict, len(items))
	budget := elementBudget(size)
	for _, it := range items {
		t, err := it.ref.materialize(it.name, st, &budget)
		if err != nil {
			return nil, fmt.Errorf("tensor %s: %w", it.name, err)
		}
		if t != nil {
			sd[it.name] = t
		}
	}
	return sd, nil
}

// readEntry reads want bytes from a zip entry, then drains it so the zip
// reader verifies the CRC. fileSize bounds the allocation: stored entries
// cannot exceed the file, deflated ones cannot exceed deflate's maximum
// ratio of about 1032:1.
func readEntry(f *zip.File, want, fileSize int64) ([]byte, error) {
	limit := fileSize
	if f.Method != zip.Store {
		limit = fileSize * 1100
	}
	if want < 0 || want > limit || uint64(want) > f.UncompressedSize64 {
		return nil, fmt.Errorf("zip entry %s: %d bytes wanted, entry claims %d in a %d-byte file (corrupt?)", f.Name, want, f.UncompressedSize64, fileSize)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("zip entry %s: %w", f.Name, err)
	}
	defer rc.Close()
	buf := make([]byte, want)
	if _, err := io.ReadFull(rc, buf); err != nil {
		return nil, fmt.Errorf("zip entry %s: truncated or corrupt: %w", f.Name, err)
	}
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return nil, fmt.Errorf("zip entry %s: corrupt: %w", f.Name, err)
	}
	return buf, nil
}

// unpickle runs gopickle over a scanned pickle, turning any panic inside it
// (it trusts its input more than a file deserves) into an error.
func unpickle(data []byte) (root any, err error) {
	defer func() {
		if p := recover(); p != nil {
			root, err = nil, fmt.Errorf("malformed pickle: %v", p)
		}
	}()
	u := pickle.NewUnpickler(bytes.NewReader(data))
	u.FindClass = findClass
	u.PersistentLoad = persistentLoad
	return u.Load()
}

type item struct {
	name string
	ref  *tensorRef
}

// stateDictItems finds the tensors in the unpickled root: an OrderedDict or
// dict of name -> tensor, or a checkpoint dict holding one under
// "state_dict". Non-tensor values beside the tensors are skipped.
func stateDictItems(root any) ([]item, error) {
	if v, ok := dictGet(root, "state_dict"); ok {
		if _, isDict := asDict(v); isDict {
			root = v
		}
	}
	entries, ok := asDict(root)
	if !ok {
		return nil, fmt.Errorf("top-level object is %s, not a dict of tensors", describe(root))
	}
	var items []item
	var others []string
	for _, e := range entries {
		ref, isTensor := e.value.(*tensorRef)
		if !isTensor {
			if k, ok := e.key.(string); ok {
				others = append(others, k)
			}
			continue
		}
		name, ok := e.key.(string)
		if !ok {
			return nil, fmt.Errorf("state dict key %s is not a string", describe(e.key))
		}
		items = append(items, item{name, ref})
	}
	if len(items) == 0 {
		if len(others) > 10 {
			others = append(others[:10], "...")
		}
		return nil, fmt.Errorf("no tensors in the top-level dict (keys %q)", others)
	}
	return items, nil
}

type kv struct{ key, value any }

func asDict(v any) ([]kv, bool) {
	switch d := v.(type) {
	case *types.OrderedDict:
		out := make([]kv, 0, d.Len())
		for el := d.List.Front(); el != nil; el = el.Next() {
			e := el.Value.(*types.OrderedDictEntry)
			out = append(out, kv{e.Key, e.Value})
		}
		return out, true
	case *types.Dict:
		out := make([]kv, 0, d.Len())
		for _, e := range *d {
			out = append(out, kv{e.Key, e.Value})
		}
		return out, true
	}
	return nil, false
}

func dictGet(v any, key string) (any, bool) {
	entries, ok := asDict(v)
	if !ok {
		return nil, false
	}
	for _, e := range entries {
		if k, ok := e.key.(string); ok && k == key {
			return e.value, true
		}
	}
	return nil, false
}

func describe(v any) string {
	switch x := v.(type) {
	case *opaque:
		return x.class.module + "." + x.class.name
	case nil:
		return "None"
	case string:
		return fmt.Sprintf("%q", x)
	}
	return fmt.Sprintf("%T", v)
}

// storageClass is a torch.*Storage class named in the pickle.
type storageClass struct {
	name string
	dt   dtype
}

var storageTypes = map[string]dtype{
	"FloatStorage":    dtF32,
	"HalfStorage":     dtF16,
	"BFloat16Storage": dtBF16,
	"DoubleStorage":   dtF64,
	"LongStorage":     dtInteger,
	"IntStorage":      dtInteger,
	"ShortStorage":    dtInteger,
	"CharStorage":     dtInteger,
	"ByteStorage":     dtInteger,
	"BoolStorage":     dtInteger,
}

// storageRef is a persistent id: storage data lives in archive entry
// data/<key>, numel elements of class.
type storageRef struct {
	class *storageClass
	key   string
	numel int
}

// tensorRef is what _rebuild_tensor_v2 describes: a strided view of a
// storage. It is materialized only if it ends up in the state dict.
type tensorRef struct {
	storage *storageRef
	offset  int
	size    []int
	stride  []int
}

// opaqueClass stands for any other Python class or function; calling it
// yields an opaque object that swallows state, so checkpoints carrying
// optimizers, numpy scalars or argparse namespaces still unpickle.
type opaqueClass struct{ module, name string }

type opaque struct{ class *opaqueClass }

func (c *opaqueClass) Call(args ...any) (any, error)  { return &opaque{c}, nil }
func (c *opaqueClass) PyNew(args ...any) (any, error) { return &opaque{c}, nil }
func (o *opaque) PySetState(state any) error          { return nil }
func (o *opaque) PyDictSet(key, value any) error      { return nil }
func (o *opaque) PySetAttr(key string, value any) error {
	return nil
}

type callFunc func(args ...any) (any, error)

func (f callFunc) Call(args ...any) (any, error) { return f(args...) }

func findClass(module, name string) (any, error) {
	switch module + "." + name {
	case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
		return callFunc(rebuildTensor), nil
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		return callFunc(func(args ...any) (any, error) {
			if len(args) < 1 {
				return nil, errors.New("_rebuild_parameter: no arguments")
			}
			return args[0], nil
		}), nil
	case "torch._tensor._rebuild_from_type_v2":
		// (func, new_type, args, state): rebuild with func, ignore the subclass.
		return callFunc(func(args ...any) (any, error) {
			if len(args) < 3 {
				return nil, errors.New("_rebuild_from_type_v2: too few arguments")
			}
			fn, ok := args[0].(types.Callable)
			tup, ok2 := args[2].(*types.Tuple)
			if !ok || !ok2 {
				return nil, errors.New("_rebuild_from_type_v2: unexpected arguments")
			}
			return fn.Call(*tup...)
		}), nil
	}
	if module == "torch" && strings.HasSuffix(name, "Storage") {
		return &storageClass{name: name, dt: storageTypes[name]}, nil
	}
	return &opaqueClass{module, name}, nil
}

func persistentLoad(id any) (any, error) {
	t, ok := id.(*types.Tuple)
	if !ok || t.Len() < 5 {
		return nil, fmt.Errorf("persistent id %s is not a ('storage', class, key, location, numel) tuple", describe(id))
	}
	if s, _ := t.Get(0).(string); s != "storage" {
		return nil, fmt.Errorf("persistent id kind %s, want \"storage\"", describe(t.Get(0)))
	}
	class, ok := t.Get(1).(*storageClass)
	if !ok {
		return nil, fmt.Errorf("persistent id storage class is %s, not a torch.*Storage", describe(t.Get(1)))
	}
	key, ok := t.Get(2).(string)
	if !ok || key == "" || strings.ContainsAny(key, "/\\") {
		return nil, fmt.Errorf("persistent id storage key %s is not a plain name", describe(t.Get(2)))
	}
	numel, err := toInt(t.Get(4))
	if err != nil || numel < 0 {
		return nil, fmt.Errorf("persistent id storage %s: bad element count %v", key, t.Get(4))
	}
	return &storageRef{class: class, key: key, numel: numel}, nil
}

// rebuildTensor is torch._utils._rebuild_tensor_v2(storage, storage_offset,
// size, stride, ...).
func rebuildTensor(args ...any) (any, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor_v2: %d arguments, want at least 4", len(args))
	}
	st, ok := args[0].(*storageRef)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: storage is %s", describe(args[0]))
	}
	off, err := toInt(args[1])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor_v2: storage offset: %w", err)
	}
	size, err := toInts(args[2])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor_v2: size: %w", err)
	}
	stride, err := toInts(args[3])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor_v2: stride: %w", err)
	}
	return &tensorRef{storage: st, offset: off, size: size, stride: stride}, nil
}

func toInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case *big.Int:
		if x.IsInt64() && x.Int64() >= math.MinInt && x.Int64() <= math.MaxInt {
			return int(x.Int64()), nil
		}
		return 0, fmt.Errorf("integer %v out of range", x)
	}
	return 0, fmt.Errorf("%s is not an integer", describe(v))
}

func toInts(v any) ([]int, error) {
	t, ok := v.(*types.Tuple)
	if !ok {
		return nil, fmt.Errorf("%s is not a tuple", describe(v))
	}
	out := make([]int, t.Len())
	for i := range out {
		n, err := toInt(t.Get(i))
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// storages loads archive entries data/<key> on first use.
type storages struct {
	entries  map[string]*zip.File
	prefix   string
	fileSize int64
	raw      map[string][]byte
}

func (s *storages) get(ref *storageRef) ([]byte, error) {
	name := "data/" + ref.key
	esz := ref.class.dt.size()
	if ref.numel > math.MaxInt64/8 {
		return nil, fmt.Errorf("storage %s: element count %d overflows", name, ref.numel)
	}
	need := int64(ref.numel) * int64(esz)
	if b, ok := s.raw[ref.key]; ok {
		if int64(len(b)) < need {
			return nil, fmt.Errorf("storage %s is used as %d %s elements but holds %d bytes", name, ref.numel, ref.class.name, len(b))
		}
		return b, nil
	}
	f, ok := s.entries[s.prefix+name]
	if !ok {
		return nil, fmt.Errorf("storage %s missing from the archive", name)
	}
	if f.UncompressedSize64 < uint64(need) {
		return nil, fmt.Errorf("storage %s holds %d bytes, too small for %d %s elements (%d bytes)", name, f.UncompressedSize64, ref.numel, ref.class.name, need)
	}
	b, err := readEntry(f, need, s.fileSize)
	if err != nil {
		return nil, err
	}
	s.raw[ref.key] = b
	return b, nil
}

// materialize copies the strided view into a new contiguous float32 tensor,
// charging its elements to *budget. It returns nil, nil for integer and
// bool tensors, which are dropped.
func (r *tensorRef) materialize(name string, st *storages, budget *int64) (*Tensor, error) {
	dt := r.storage.class.dt
	switch dt {
	case dtInteger:
		return nil, nil
	case dtUnknown:
		return nil, fmt.Errorf("unsupported dtype torch.%s (want Float, Half, BFloat16 or Double)", r.storage.class.name)
	}
	if len(r.size) != len(r.stride) {
		return nil, fmt.Errorf("size %v and stride %v differ in length", r.size, r.stride)
	}
	if r.offset < 0 {
		return nil, fmt.Errorf("negative storage offset %d", r.offset)
	}
	n := 1
	last := r.offset // highest storage index the view touches
	for i, d := range r.size {
		if d < 0 || r.stride[i] < 0 {
			return nil, fmt.Errorf("negative size or stride (size %v, stride %v)", r.size, r.stride)
		}
		if d == 0 {
			n = 0
			break
		}
		if n > math.MaxInt32/d {
			return nil, fmt.Errorf("size %v has too many elements", r.size)
		}
		n *= d
		if r.stride[i] > 0 && d-1 > (math.MaxInt64-last)/r.stride[i] {
			return nil, fmt.Errorf("size %v, stride %v, offset %d overflow", r.size, r.stride, r.offset)
		}
		last += (d - 1) * r.stride[i]
	}
	t := &Tensor{Name: name, Shape: append([]int{}, r.size...)}
	if n == 0 {
		t.Data = []float32{}
		return t, nil
	}
	if last >= r.storage.numel {
		return nil, fmt.Errorf("storage data/%s has %d elements, too small for size %v stride %v at offset %d (needs %d)",
			r.storage.key, r.storage.numel, r.size, r.stride, r.offset, last+1)
	}
	if n > r.storage.numel && n > maxBroadcastElements {
		return nil, fmt.Errorf("size %v has %d elements from a %d-element storage; expanded views this large are not supported", r.size, n, r.storage.numel)
	}
	if int64(n) > *budget {
		return nil, fmt.Errorf("size %v: the file's tensors add up to implausibly many elements for its size (shared views repeated?)", r.size)
	}
	*budget -= int64(n)
	raw, err := st.get(r.storage)
	if err != nil {
		return nil, err
	}
	t.Data = make([]float32, n)
	nd := len(r.size)
	if contiguous(r.size, r.stride) {
		for i := range t.Data {
			t.Data[i] = float32At(dt, raw, r.offset+i)
		}
		return t, nil
	}
	// Odometer over the output index, carrying the storage position.
	idx := make([]int, nd)
	pos := r.offset
	for i := range t.Data {
		t.Data[i] = float32At(dt, raw, pos)
		for d := nd - 1; d >= 0; d-- {
			idx[d]++
			pos += r.stride[d]
			if idx[d] < r.size[d] {
				break
			}
			pos -= idx[d] * r.stride[d]
			idx[d] = 0
		}
	}
	return t, nil
}

// contiguous reports whether stride is the row-major stride of size
// (dimensions of extent 1 may carry any stride, as torch allows).
func contiguous(size, stride []int) bool {
	want := 1
	for i := len(size) - 1; i >= 0; i-- {
		if size[i] != 1 && stride[i] != want {
			return false
		}
		want *= size[i]
	}
	return true
}
