package chart

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	imgdraw "image/draw"
	"image/png"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/padim-go/padim/internal/atomicfile"
)

// HeatmapPanel is one row of a heatmap grid: an image (RGB, 8 bit), its
// ground-truth mask (nil when it has none) and its anomaly map, all H x W.
type HeatmapPanel struct {
	RGB   []uint8 // H*W*3
	Mask  []bool  // H*W or nil
	Map   []float32
	H, W  int
	Label string // the row's label, such as the image's defect type
}

// HeatmapGrid is a grid of anomaly maps, one row per panel: image | ground
// truth | anomaly map over the image (without the ground-truth column when
// no panel has a mask), with column labels, each row's label and a colour
// bar. The maps share one colour scale, Lo..Hi (anomaly score), so that
// rows compare.
type HeatmapGrid struct {
	Panels []HeatmapPanel
	Lo, Hi float32
}

// Layout of a heatmap grid around its panels, in pixels.
const (
	gridGap    = 4
	gridLeft   = 96 // row labels
	gridTop    = 18 // column labels
	gridBar    = 16 // colour bar width
	gridBarPad = 10
	gridRight  = 70 // colour bar labels
)

// WritePNG draws g and writes it to path atomically: on an error nothing
// is written. Errors name path and the panel at fault.
func (g HeatmapGrid) WritePNG(path string) error {
	if len(g.Panels) == 0 {
		return fmt.Errorf("%s: no panels", path)
	}
	h, w := g.Panels[0].H, g.Panels[0].W
	cols, mapCol := 2, 1
	for r, p := range g.Panels {
		if err := p.check(h, w); err != nil {
			return fmt.Errorf("%s: panel %d (%q): %w", path, r, p.Label, err)
		}
		if p.Mask != nil {
			cols, mapCol = 3, 2
		}
	}
	gridW := cols*w + (cols-1)*gridGap
	gridH := len(g.Panels)*(h+gridGap) - gridGap
	img := image.NewRGBA(image.Rect(0, 0, gridLeft+gridW+gridBarPad+gridBar+gridRight, gridTop+gridH))
	imgdraw.Draw(img, img.Bounds(), image.White, image.Point{}, imgdraw.Src)
	heads := []string{"image", "anomaly map"}
	if cols == 3 {
		heads = []string{"image", "ground truth", "anomaly map"}
	}
	for c, s := range heads {
		drawText(img, gridLeft+c*(w+gridGap)+(w-7*len(s))/2, 13, s)
	}
	for r, p := range g.Panels {
		y0 := gridTop + r*(h+gridGap)
		drawText(img, 4, y0+h/2, truncate(p.Label, 13))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				o := (y*w + x) * 3
				pix := color.RGBA{p.RGB[o], p.RGB[o+1], p.RGB[o+2], 255}
				img.SetRGBA(gridLeft+x, y0+y, pix)
				if cols == 3 {
					m := color.RGBA{0, 0, 0, 255}
					if p.Mask != nil && p.Mask[y*w+x] {
						m = color.RGBA{255, 255, 255, 255}
					}
					img.SetRGBA(gridLeft+w+gridGap+x, y0+y, m)
				}
				t := float32(0)
				if g.Hi > g.Lo {
					t = (p.Map[y*w+x] - g.Lo) / (g.Hi - g.Lo)
				}
				j := jet(t)
				img.SetRGBA(gridLeft+mapCol*(w+gridGap)+x, y0+y, color.RGBA{
					uint8((int(pix.R) + int(j.R)) / 2), uint8((int(pix.G) + int(j.G)) / 2), uint8((int(pix.B) + int(j.B)) / 2), 255})
			}
		}
	}
	// Colour bar: the full jet scale from Lo (bottom) to Hi (top), blended
	// with mid grey as the map is blended with the image.
	bx := gridLeft + gridW + gridBarPad
	for y := 0; y < gridH; y++ {
		j := jet(1 - float32(y)/float32(max(1, gridH-1)))
		c := color.RGBA{uint8((int(j.R) + 128) / 2), uint8((int(j.G) + 128) / 2), uint8((int(j.B) + 128) / 2), 255}
		for x := 0; x < gridBar; x++ {
			img.SetRGBA(bx+x, gridTop+y, c)
		}
	}
	drawText(img, bx+gridBar+4, gridTop+10, fmt.Sprintf("%.3g", g.Hi))
	drawText(img, bx+gridBar+4, gridTop+gridH/2+4, fmt.Sprintf("%.3g", (g.Lo+g.Hi)/2))
	drawText(img, bx+gridBar+4, gridTop+gridH-2, fmt.Sprintf("%.3g", g.Lo))
	drawText(img, bx-4, 13, "score")
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, buf.Bytes())
}

// check reports a panel whose size differs from the grid's (h x w) or
// whose pixels do not fill it.
func (p HeatmapPanel) check(h, w int) error {
	switch {
	case p.H != h || p.W != w:
		return fmt.Errorf("%dx%d, want %dx%d as the first panel", p.H, p.W, h, w)
	case h <= 0 || w <= 0:
		return fmt.Errorf("empty (%dx%d)", h, w)
	case len(p.RGB) != h*w*3:
		return fmt.Errorf("%d RGB bytes, want %d for %dx%d", len(p.RGB), h*w*3, h, w)
	case len(p.Map) != h*w:
		return fmt.Errorf("%d map values, want %d for %dx%d", len(p.Map), h*w, h, w)
	case p.Mask != nil && len(p.Mask) != h*w:
		return fmt.Errorf("%d mask values, want %d for %dx%d", len(p.Mask), h*w, h, w)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "."
}

// drawText writes s in black with its baseline at y.
func drawText(img *image.RGBA, x, y int, s string) {
	d := font.Drawer{Dst: img, Src: image.Black, Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// jet maps t in [0,1] to the usual blue-cyan-yellow-red colour scale.
func jet(t float32) color.RGBA {
	if t < 0 {
		t = 0
	}
	if t > 1 {
		t = 1
	}
	c := func(x float32) uint8 {
		if x < 0 {
			x = 0
		}
		if x > 1 {
			x = 1
		}
		return uint8(x*255 + 0.5)
	}
	return color.RGBA{c(1.5 - abs32(4*t-3)), c(1.5 - abs32(4*t-2)), c(1.5 - abs32(4*t-1)), 255}
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}
