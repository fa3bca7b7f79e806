package experiments

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"

	"gonum.org/v1/plot/vg"

	"github.com/padim-go/padim/internal/atomicfile"
	"github.com/padim-go/padim/internal/chart"
)

// Series is one named curve.
type Series struct {
	Name string
	X, Y []float64
}

// PlotLines writes a line plot of the series as a PNG, y from 0 to 1.02
// (the metrics' range) and x from 0 to xMax when xMax > 0.
func PlotLines(path, title, xLabel, yLabel string, series []Series, xMax float64) error {
	l := chart.Lines{Title: title, XLabel: xLabel, YLabel: yLabel, YMin: 0, YMax: 1.02, XMax: xMax,
		LineWidth: vg.Points(1.5), Width: 6 * vg.Inch, Height: 4.5 * vg.Inch}
	for _, s := range series {
		l.Series = append(l.Series, chart.Series{Name: s.Name, X: s.X, Y: s.Y})
	}
	return l.WritePNG(path)
}

// HeatmapPanel is one test image for a heatmap grid: the preprocessed image
// (RGB, 8 bit), its mask (nil when none) and the anomaly map, all H x W.
type HeatmapPanel struct {
	RGB   []uint8 // H*W*3
	Mask  []bool  // H*W or nil
	Map   []float32
	H, W  int
	Label string
}

// WriteHeatmapGrid writes one row per panel: image | ground truth | anomaly
// map over the image (without the ground-truth column when no panel has a
// mask). Maps share one colour scale (lo..hi) so rows compare.
func WriteHeatmapGrid(path string, panels []HeatmapPanel, lo, hi float32) error {
	if len(panels) == 0 {
		return fmt.Errorf("%s: no panels", path)
	}
	h, w := panels[0].H, panels[0].W
	const gap = 4
	cols, mapCol := 2, 1
	for _, p := range panels {
		if p.Mask != nil {
			cols, mapCol = 3, 2
		}
	}
	img := image.NewRGBA(image.Rect(0, 0, cols*w+(cols-1)*gap, len(panels)*(h+gap)-gap))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for r, p := range panels {
		if p.H != h || p.W != w {
			return fmt.Errorf("%s: panel %d is %dx%d, want %dx%d", path, r, p.H, p.W, h, w)
		}
		y0 := r * (h + gap)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				o := (y*w + x) * 3
				pix := color.RGBA{p.RGB[o], p.RGB[o+1], p.RGB[o+2], 255}
				img.SetRGBA(x, y0+y, pix)
				if cols == 3 {
					m := color.RGBA{0, 0, 0, 255}
					if p.Mask != nil && p.Mask[y*w+x] {
						m = color.RGBA{255, 255, 255, 255}
					}
					img.SetRGBA(w+gap+x, y0+y, m)
				}
				t := float32(0)
				if hi > lo {
					t = (p.Map[y*w+x] - lo) / (hi - lo)
				}
				j := jet(t)
				img.SetRGBA(mapCol*(w+gap)+x, y0+y, color.RGBA{
					uint8((int(pix.R) + int(j.R)) / 2), uint8((int(pix.G) + int(j.G)) / 2), uint8((int(pix.B) + int(j.B)) / 2), 255})
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, buf.Bytes())
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
