package datasets

import (
	"bytes"
	"encoding/binary"
	"github.com/padim-go/padim/internal/testenv"
	"hash/crc32"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pngHeaderOnly is a PNG signature plus an IHDR chunk declaring w x h RGB,
// and nothing else.
func pngHeaderOnly(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func TestReadRGBErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.png")
	writeTestPNG(t, good, 16, 16, func(x, y int) color.Color { return color.NRGBA{uint8(x * 16), uint8(y * 16), 7, 255} })
	pngData, _ := os.ReadFile(good)
	jpgData, _ := os.ReadFile(filepath.Join(pilDir, "baseline.jpg"))
	corrupt := append([]byte(nil), pngData...)
	for i := 40; i < len(corrupt)-12; i++ {
		corrupt[i] ^= 0x5a
	}
	cases := []struct {
		name string
		data []byte
		want string // substring of the error
	}{
		{"empty.png", nil, "empty file"},
		{"truncated.png", pngData[:len(pngData)/2], "truncated"},
		{"truncated.jpg", jpgData[:len(jpgData)/2], "truncated"},
		{"corrupt.png", corrupt, "decoding png"},
		{"text.png", []byte("this is not an image\n"), "unknown image format"},
		{"anim.gif", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), "gif images are not supported"},
		{"huge.png", pngHeaderOnly(100000, 100000), "more than the limit"},
		{"zero.png", pngHeaderOnly(0, 5), "png"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name)
			touch(t, p, c.data)
			_, err := ReadRGB(p)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not name the file and %q", err, c.want)
			}
			if _, err := ReadGray(p); err == nil || !strings.Contains(err.Error(), p) {
				t.Fatalf("ReadGray error %v does not name the file", err)
			}
		})
	}
	if _, err := ReadRGB(filepath.Join(dir, "missing.png")); err == nil || !strings.Contains(err.Error(), "missing.png") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestReadRGBDecodesByContent(t *testing.T) {
	// A jpeg named .png decodes as jpeg, as PIL opens it.
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(pilDir, "baseline.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "really_a_jpeg.png")
	touch(t, p, data)
	got, err := ReadRGB(p)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ReadRGB(filepath.Join(pilDir, "baseline.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Pix, want.Pix) {
		t.Fatal("same bytes decoded differently under another extension")
	}
}

func TestReadGray(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "rgb.png")
	cols := []color.NRGBA{{0, 0, 0, 255}, {255, 255, 255, 255}, {255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}, {10, 200, 30, 9}}
	writeTestPNG(t, p, len(cols), 1, func(x, y int) color.Color { return cols[x] })
	g, err := ReadGray(p)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cols {
		// PIL's rgb2l: ITU-R 601 weights in 16-bit fixed point, rounded.
		want := uint8((uint32(c.R)*19595 + uint32(c.G)*38470 + uint32(c.B)*7471 + 0x8000) >> 16)
		if g.Pix[i] != want {
			t.Errorf("pixel %d %v: gray %d, want %d", i, c, g.Pix[i], want)
		}
	}
}

// TestMagneticTileJPEG measures Go's decoding of the shared grayscale jpgs
// and checks they are 8-bit gray replicated to RGB.
func TestMagneticTileJPEG(t *testing.T) {
	root := filepath.Join(testenv.SharedData(t), "magnetic_tile", "MT_Crack", "Imgs")
	imgs, err := listJPEGs(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range imgs[:5] {
		img, err := ReadRGB(p)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(img.Pix); i += 3 {
			if img.Pix[i] != img.Pix[i+1] || img.Pix[i] != img.Pix[i+2] {
				t.Fatalf("%s: gray jpeg pixel %d not replicated: %v", p, i/3, img.Pix[i:i+3])
			}
		}
	}
}
