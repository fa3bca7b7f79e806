package datasets

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/padim-go/padim/internal/filekind"
	"github.com/padim-go/padim/internal/npy"
)

// readMask reads a mask file as a 0/1 gray image at full resolution.
// frame < 0 asks for a whole 2-D mask (image or .npy); frame >= 0 for one
// frame of a 3-D .npy. Thresholding before resizing is exact because masks
// are only ever resampled with Nearest, which never blends values.
func readMask(path string, frame int) (*Gray, error) {
	if strings.EqualFold(filepath.Ext(path), ".npy") {
		return readNpyMask(path, frame)
	}
	if frame > 0 {
		return nil, fmt.Errorf("%s: frame %d requested but image masks have one frame", path, frame)
	}
	g, err := ReadGray(path)
	if err != nil {
		return nil, err
	}
	thr := uint8(127)
	if maxOf(g.Pix) <= 1 { // a 0/1 mask: > 127 would erase it
		thr = 0
	}
	for i, v := range g.Pix {
		if v > thr {
			g.Pix[i] = 1
		} else {
			g.Pix[i] = 0
		}
	}
	return g, nil
}

func maxOf(p []uint8) uint8 {
	var m uint8
	for _, v := range p {
		m = max(m, v)
	}
	return m
}

// npyCache keeps the most recently read 3-D mask array: ShanghaiTech Campus
// stores one (frames x H x W) array per video, and test frames are read in
// order, so one entry turns a per-frame file read into a per-video one.
var npyCache struct {
	sync.Mutex
	path string
	mod  int64
	arr  *npy.Array
}

func loadNpy(path string) (*npy.Array, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	npyCache.Lock()
	defer npyCache.Unlock()
	if npyCache.path == path && npyCache.mod == st.ModTime().UnixNano() {
		return npyCache.arr, nil
	}
	a, err := npy.ReadFile(path)
	if err != nil {
		return nil, err
	}
	npyCache.path, npyCache.mod, npyCache.arr = path, st.ModTime().UnixNano(), a
	return a, nil
}

// readNpyMask reads a 2-D mask, or frame frame of a 3-D one, from a .npy
// file of any numeric or bool dtype; non-zero means defect.
func readNpyMask(path string, frame int) (*Gray, error) {
	a, err := loadNpy(path)
	if err != nil {
		return nil, fmt.Errorf("datasets: reading mask: %w", err)
	}
	var h, w, off int
	switch {
	case frame <= 0 && len(a.Shape) == 2: // frame 0 is Sample.MaskIndex's zero value
		h, w = a.Shape[0], a.Shape[1]
	case frame < 0:
		return nil, fmt.Errorf("%s: mask has shape %v; a 2-D array is needed (3-D masks need a frame index)", path, a.Shape)
	case len(a.Shape) != 3:
		return nil, fmt.Errorf("%s: frame %d requested but the mask has shape %v, not frames x H x W", path, frame, a.Shape)
	case frame >= a.Shape[0]:
		return nil, fmt.Errorf("%s: frame %d out of range: the mask has %d frames", path, frame, a.Shape[0])
	default:
		h, w = a.Shape[1], a.Shape[2]
		off = frame * h * w
	}
	if h <= 0 || w <= 0 {
		return nil, fmt.Errorf("%s: mask has empty shape %v", path, a.Shape)
	}
	g := &Gray{W: w, H: h, Pix: make([]uint8, h*w)}
	for i := range g.Pix {
		var nz bool
		switch {
		case a.Uint8 != nil:
			nz = a.Uint8[off+i] != 0
		case a.Float32 != nil:
			nz = a.Float32[off+i] != 0
		case a.Float64 != nil:
			nz = a.Float64[off+i] != 0
		case a.Int64 != nil:
			nz = a.Int64[off+i] != 0
		default:
			return nil, fmt.Errorf("%s: unsupported mask dtype %s", path, a.Descr)
		}
		if nz {
			g.Pix[i] = 1
		}
	}
	return g, nil
}

// imageSize returns an image file's width and height from its header only.
func imageSize(path string) (w, h int, err error) {
	f, _, err := filekind.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	return imageSizeFrom(f, path)
}

// imageSizeFrom is imageSize on an open stream; path only names it in errors.
func imageSizeFrom(rd io.Reader, path string) (w, h int, err error) {
	r := bufio.NewReader(rd)
	head, _ := r.Peek(12)
	if len(head) == 0 {
		return 0, 0, fmt.Errorf("%s: empty file, not an image", path)
	}
	format := imageFormat(head)
	cfgFn, ok := configFuncs[format]
	if !ok {
		if format == "" {
			return 0, 0, fmt.Errorf("%s: unknown image format (supported: png, jpeg, bmp)", path)
		}
		return 0, 0, fmt.Errorf("%s: %s images are not supported (supported: png, jpeg, bmp)", path, format)
	}
	cfg, err := cfgFn(r)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: reading %s header: %w", path, format, describe(err))
	}
	return cfg.Width, cfg.Height, nil
}
