package datasets

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/bmp"

	"github.com/padim-go/padim/internal/filekind"
)

// MaxPixels is the largest width*height an image file may declare, and the
// largest image a preprocessing may make: 8192x8192. It is checked on the
// header before any pixel buffer is allocated. Decoding costs about 7 bytes
// a pixel (the decoded image and its RGB copy), so this bounds one image at
// about 0.5 GB; PIL's own limit (twice Image.MAX_IMAGE_PIXELS, 179 Mpx)
// let a 13000x13000 header cost 2.2 GB. No dataset this harness reads
// comes near it (MVTec AD's largest images are 1024x1024).
const MaxPixels = 1 << 26

// RGB is an 8-bit RGB image, pixels interleaved R, G, B, rows top to bottom.
type RGB struct {
	W, H int
	Pix  []uint8 // len 3*W*H
}

// NewRGB returns a black w x h image.
func NewRGB(w, h int) *RGB { return &RGB{W: w, H: h, Pix: make([]uint8, 3*w*h)} }

// Gray is an 8-bit single-channel image, rows top to bottom.
type Gray struct {
	W, H int
	Pix  []uint8 // len W*H
}

// imageFormat names the container by its magic bytes, so a file is decoded
// by what it is, not by its extension (as PIL does).
func imageFormat(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(head, []byte{0xff, 0xd8}):
		return "jpeg"
	case bytes.HasPrefix(head, []byte("BM")):
		return "bmp"
	case bytes.HasPrefix(head, []byte("GIF8")):
		return "gif"
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		return "tiff"
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		return "webp"
	}
	return ""
}

var (
	decodeFuncs = map[string]func(io.Reader) (image.Image, error){
		"png": png.Decode, "jpeg": jpeg.Decode, "bmp": bmp.Decode}
	configFuncs = map[string]func(io.Reader) (image.Config, error){
		"png": png.DecodeConfig, "jpeg": jpeg.DecodeConfig, "bmp": bmp.DecodeConfig}
)

// decodeFile reads and decodes the image file at path after checking its
// header. Every error names the file.
func decodeFile(path string) (image.Image, error) {
	data, err := filekind.ReadFile(path)
	if err != nil {
		return nil, err // *PathError already names the file
	}
	return decodeBytes(data, path)
}

// decodeBytes is decodeFile on the file's contents; path only names it in
// errors.
func decodeBytes(data []byte, path string) (image.Image, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%s: empty file, not an image", path)
	}
	format := imageFormat(data)
	decode, config := decodeFuncs[format], configFuncs[format]
	switch {
	case format == "":
		return nil, fmt.Errorf("%s: unknown image format (supported: png, jpeg, bmp)", path)
	case decode == nil:
		return nil, fmt.Errorf("%s: %s images are not supported (supported: png, jpeg, bmp)", path, format)
	}
	cfg, err := config(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: reading %s header: %w", path, format, describe(err))
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%s: %s header declares an empty %dx%d image", path, format, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, fmt.Errorf("%s: %s header declares %dx%d pixels, more than the limit of %d",
			path, format, cfg.Width, cfg.Height, MaxPixels)
	}
	img, err := decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: decoding %s: %w", path, format, describe(err))
	}
	return img, nil
}

// describe turns the decoders' bare EOF errors into a readable cause.
func describe(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("file is truncated (%w)", err)
	}
	return err
}

// ReadRGB decodes a png, jpeg or bmp file to 8-bit RGB the way PIL's
// Image.open(path).convert("RGB") does:
//
//   - grayscale (1, 2, 4, 8 bit) is replicated to R=G=B;
//   - alpha is dropped, not composited (RGBA, LA and palette transparency);
//   - palettes are expanded;
//   - 16-bit RGB(A) and gray+alpha keep each sample's high byte;
//   - 16-bit grayscale, which PIL opens as 32-bit mode "I", is clipped to
//     [0, 255] (so every value >= 255 becomes white). This is odd but it is
//     what PIL does, and matching it keeps results comparable with the
//     Python reference code;
//   - CMYK jpeg uses PIL's cmyk2rgb: X = 255-K - round((255-K)*C/255);
//   - YCbCr jpeg is converted by Go's decoder, which differs from libjpeg
//     (PIL) by a few levels on some pixels (see the package documentation).
func ReadRGB(path string) (*RGB, error) {
	img, err := decodeFile(path)
	if err != nil {
		return nil, err
	}
	return toRGB(img), nil
}

// ReadGray decodes an image file to 8-bit gray for use as a mask: gray
// images as they are (16-bit clipped like ReadRGB), colour images by PIL's
// convert("L") luma, L = (19595 R + 38470 G + 7471 B + 32768) >> 16.
func ReadGray(path string) (*Gray, error) {
	img, err := decodeFile(path)
	if err != nil {
		return nil, err
	}
	return toGray(img), nil
}

// toGray converts a decoded image to 8-bit gray, PIL's convert("L") way.
func toGray(img image.Image) *Gray {
	b := img.Bounds()
	g := &Gray{W: b.Dx(), H: b.Dy(), Pix: make([]uint8, b.Dx()*b.Dy())}
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < g.H; y++ {
			copy(g.Pix[y*g.W:(y+1)*g.W], m.Pix[y*m.Stride:])
		}
		return g
	case *image.Gray16:
		for y := 0; y < g.H; y++ {
			for x := 0; x < g.W; x++ {
				i := y*m.Stride + 2*x
				g.Pix[y*g.W+x] = clip16to8(uint16(m.Pix[i])<<8 | uint16(m.Pix[i+1]))
			}
		}
		return g
	}
	rgb := toRGB(img)
	for i := range g.Pix {
		r, gg, bb := uint32(rgb.Pix[3*i]), uint32(rgb.Pix[3*i+1]), uint32(rgb.Pix[3*i+2])
		g.Pix[i] = uint8((r*19595 + gg*38470 + bb*7471 + 0x8000) >> 16)
	}
	return g
}

// clip16to8 is PIL's mode "I" to "RGB"/"L" conversion: clip, do not scale.
func clip16to8(v uint16) uint8 {
	if v >= 255 {
		return 255
	}
	return uint8(v)
}

// toRGB converts a decoded image to interleaved 8-bit RGB, PIL's way.
func toRGB(img image.Image) *RGB {
	b := img.Bounds()
	out := NewRGB(b.Dx(), b.Dy())
	w, h := out.W, out.H
	p := out.Pix
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < w; x++ {
				v := row[x]
				o := 3 * (y*w + x)
				p[o], p[o+1], p[o+2] = v, v, v
			}
		}
	case *image.Gray16:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < w; x++ {
				v := clip16to8(uint16(row[2*x])<<8 | uint16(row[2*x+1]))
				o := 3 * (y*w + x)
				p[o], p[o+1], p[o+2] = v, v, v
			}
		}
	case *image.NRGBA:
		copyRGB(p, w, h, m.Pix, m.Stride, 4, 1)
	case *image.NRGBA64:
		copyRGB(p, w, h, m.Pix, m.Stride, 8, 2)
	case *image.RGBA64:
		if opaque(m) {
			copyRGB(p, w, h, m.Pix, m.Stride, 8, 2)
		} else {
			generic(p, img)
		}
	case *image.RGBA:
		if opaque(m) {
			copyRGB(p, w, h, m.Pix, m.Stride, 4, 1)
		} else {
			generic(p, img)
		}
	case *image.Paletted:
		var lut [256][3]uint8
		for i, c := range m.Palette {
			lut[i] = straightRGB(c)
		}
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < w; x++ {
				o := 3 * (y*w + x)
				c := lut[row[x]]
				p[o], p[o+1], p[o+2] = c[0], c[1], c[2]
			}
		}
	case *image.CMYK:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < w; x++ {
				nk := 255 - int(row[4*x+3])
				o := 3 * (y*w + x)
				for c := 0; c < 3; c++ {
					p[o+c] = uint8(nk - mulDiv255(int(row[4*x+c]), nk))
				}
			}
		}
	case *image.YCbCr:
		jpegYCbCrToRGB(m, out)
	default:
		generic(p, img)
	}
	return out
}

// mulDiv255 is a*b/255 rounded, computed as PIL's MULDIV255 macro does.
func mulDiv255(a, b int) int {
	t := a*b + 128
	return ((t >> 8) + t) >> 8
}

// copyRGB copies the first three samples of each pixel (bytes per pixel
// bpp, bytes per sample bps; for 16-bit samples the big-endian high byte).
func copyRGB(dst []uint8, w, h int, src []uint8, stride, bpp, bps int) {
	for y := 0; y < h; y++ {
		row := src[y*stride:]
		for x := 0; x < w; x++ {
			o := 3 * (y*w + x)
			s := x * bpp
			dst[o], dst[o+1], dst[o+2] = row[s], row[s+bps], row[s+2*bps]
		}
	}
}

type opaquer interface{ Opaque() bool }

func opaque(m opaquer) bool { return m.Opaque() }

// straightRGB returns a colour's non-premultiplied 8-bit RGB, so a
// transparent palette entry keeps its colour as PIL keeps it.
func straightRGB(c color.Color) [3]uint8 {
	switch v := c.(type) {
	case color.NRGBA:
		return [3]uint8{v.R, v.G, v.B}
	case color.RGBA:
		if v.A == 255 {
			return [3]uint8{v.R, v.G, v.B}
		}
	}
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	return [3]uint8{n.R, n.G, n.B}
}

// generic handles any other decoder output through the colour interface;
// premultiplied translucent pixels are un-premultiplied, which loses a
// little precision (no decoder used here produces them for real files).
func generic(dst []uint8, img image.Image) {
	b := img.Bounds()
	w := b.Dx()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := straightRGB(img.At(x, y))
			o := 3 * ((y-b.Min.Y)*w + (x - b.Min.X))
			dst[o], dst[o+1], dst[o+2] = c[0], c[1], c[2]
		}
	}
}
