package experiments

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	imgdraw "image/draw"
	"image/png"
	"io"
	"strconv"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/padim-go/padim/internal/atomicfile"
)

// Series is one curve. Curves of one method share Style (colour and dash
// pattern); only those with a Name get a legend entry, so the several seeds
// of a method draw as one legend line.
type Series struct {
	Name  string
	X, Y  []float64
	Style int
	Thin  bool // drawn thinner (a seed among several)
}

// Axes are a plot's ranges: X.Max or Y.Max 0 keeps gonum's automatic range.
type Axes struct {
	XMin, XMax, YMin, YMax float64
}

// PlotLines writes a line plot of the series as a PNG.
func PlotLines(path, title, xLabel, yLabel string, series []Series, ax Axes) error {
	p := newPlot(title, xLabel, yLabel)
	for _, s := range series {
		pts := make(plotter.XYs, len(s.X))
		for j := range s.X {
			pts[j].X, pts[j].Y = s.X[j], s.Y[j]
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("%s: series %s: %w", path, s.Name, err)
		}
		l.Color = plotutil.Color(s.Style)
		l.Dashes = plotutil.Dashes(s.Style)
		l.Width = vg.Points(1.5)
		if s.Thin {
			l.Width = vg.Points(0.8)
		}
		p.Add(l)
		if s.Name != "" {
			p.Legend.Add(s.Name, l)
		}
	}
	p.Legend.Top = false
	p.Legend.Left = false
	setAxes(p, ax)
	return savePlot(path, p)
}

func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Add(plotter.NewGrid())
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	return p
}

func setAxes(p *plot.Plot, ax Axes) {
	if ax.XMax > ax.XMin {
		p.X.Min, p.X.Max = ax.XMin, ax.XMax
	}
	if ax.YMax > ax.YMin {
		p.Y.Min, p.Y.Max = ax.YMin, ax.YMax
	}
}

func savePlot(path string, p *plot.Plot) error {
	wt, err := p.WriterTo(7*vg.Inch, 5*vg.Inch, "png")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := wt.WriteTo(w)
		return err
	})
}

// Points is a set of (x, y) values with optional error half-widths, drawn
// as markers (and joined by a line when Line is set).
type Points struct {
	Name       string
	X, Y, YErr []float64
	Style      int
	Line       bool
	Shape      draw.GlyphDrawer
	Hollow     bool
}

// PlotPoints writes a marker plot with error bars as a PNG, with x ticks at
// the distinct x values of the sets.
func PlotPoints(path, title, xLabel, yLabel string, sets []Points, ax Axes) error {
	p := newPlot(title, xLabel, yLabel)
	var ticks []plot.Tick
	seen := map[float64]bool{}
	for _, s := range sets {
		for _, x := range s.X {
			if !seen[x] {
				seen[x] = true
				ticks = append(ticks, plot.Tick{Value: x, Label: strconv.FormatFloat(x, 'g', -1, 64)})
			}
		}
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	for _, s := range sets {
		pts := make(plotter.XYs, len(s.X))
		for j := range s.X {
			pts[j].X, pts[j].Y = s.X[j], s.Y[j]
		}
		c := plotutil.Color(s.Style)
		var thumbs []plot.Thumbnailer
		if s.Line && len(pts) > 1 {
			l, err := plotter.NewLine(pts)
			if err != nil {
				return fmt.Errorf("%s: %s: %w", path, s.Name, err)
			}
			l.Color, l.Width, l.Dashes = c, vg.Points(1.5), plotutil.Dashes(s.Style)
			p.Add(l)
			thumbs = append(thumbs, l)
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", path, s.Name, err)
		}
		sc.GlyphStyle.Color = c
		sc.GlyphStyle.Radius = vg.Points(3.5)
		sc.GlyphStyle.Shape = s.Shape
		if sc.GlyphStyle.Shape == nil {
			sc.GlyphStyle.Shape = draw.CircleGlyph{}
		}
		p.Add(sc)
		thumbs = append(thumbs, sc)
		if len(s.YErr) == len(s.X) && anyPositive(s.YErr) {
			e := make(plotter.YErrors, len(s.YErr))
			for j, v := range s.YErr {
				e[j].Low, e[j].High = v, v
			}
			eb, err := plotter.NewYErrorBars(struct {
				plotter.XYer
				plotter.YErrorer
			}{pts, e})
			if err != nil {
				return fmt.Errorf("%s: %s: %w", path, s.Name, err)
			}
			eb.Color, eb.Width, eb.CapWidth = c, vg.Points(1.2), vg.Points(6)
			p.Add(eb)
		}
		if s.Name != "" {
			p.Legend.Add(s.Name, thumbs...)
		}
	}
	p.Legend.Top = false
	p.Legend.Left = false
	setAxes(p, ax)
	return savePlot(path, p)
}

func anyPositive(v []float64) bool {
	for _, x := range v {
		if x > 0 {
			return true
		}
	}
	return false
}

// HeatmapPanel is one test image for a heatmap grid: the preprocessed image
// (RGB, 8 bit), its mask (nil when none) and the anomaly map, all H x W.
type HeatmapPanel struct {
	RGB   []uint8 // H*W*3
	Mask  []bool  // H*W or nil
	Map   []float32
	H, W  int
	Label string // the row's label: the image's defect type
}

// Layout of a heatmap grid around its panels.
const (
	gridGap    = 4
	gridLeft   = 96 // row labels
	gridTop    = 18 // column labels
	gridBar    = 16 // colour bar width
	gridBarPad = 10
	gridRight  = 70 // colour bar labels
)

// WriteHeatmapGrid writes one row per panel: image | ground truth | anomaly
// map over the image (without the ground-truth column when no panel has a
// mask), with column labels, each row's defect type, and a colour bar. Maps
// share one colour scale (lo..hi, anomaly score) so rows compare.
func WriteHeatmapGrid(path string, panels []HeatmapPanel, lo, hi float32) error {
	if len(panels) == 0 {
		return fmt.Errorf("%s: no panels", path)
	}
	h, w := panels[0].H, panels[0].W
	cols, mapCol := 2, 1
	for _, p := range panels {
		if p.Mask != nil {
			cols, mapCol = 3, 2
		}
	}
	gridW := cols*w + (cols-1)*gridGap
	gridH := len(panels)*(h+gridGap) - gridGap
	img := image.NewRGBA(image.Rect(0, 0, gridLeft+gridW+gridBarPad+gridBar+gridRight, gridTop+gridH))
	imgdraw.Draw(img, img.Bounds(), image.White, image.Point{}, imgdraw.Src)
	heads := []string{"image", "anomaly map"}
	if cols == 3 {
		heads = []string{"image", "ground truth", "anomaly map"}
	}
	for c, s := range heads {
		drawText(img, gridLeft+c*(w+gridGap)+(w-7*len(s))/2, 13, s)
	}
	for r, p := range panels {
		if p.H != h || p.W != w {
			return fmt.Errorf("%s: panel %d is %dx%d, want %dx%d", path, r, p.H, p.W, h, w)
		}
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
				if hi > lo {
					t = (p.Map[y*w+x] - lo) / (hi - lo)
				}
				j := jet(t)
				img.SetRGBA(gridLeft+mapCol*(w+gridGap)+x, y0+y, color.RGBA{
					uint8((int(pix.R) + int(j.R)) / 2), uint8((int(pix.G) + int(j.G)) / 2), uint8((int(pix.B) + int(j.B)) / 2), 255})
			}
		}
	}
	// Colour bar: the full jet scale from lo (bottom) to hi (top), blended
	// with mid grey as the map is blended with the image.
	bx := gridLeft + gridW + gridBarPad
	for y := 0; y < gridH; y++ {
		j := jet(1 - float32(y)/float32(max(1, gridH-1)))
		c := color.RGBA{uint8((int(j.R) + 128) / 2), uint8((int(j.G) + 128) / 2), uint8((int(j.B) + 128) / 2), 255}
		for x := 0; x < gridBar; x++ {
			img.SetRGBA(bx+x, gridTop+y, c)
		}
	}
	drawText(img, bx+gridBar+4, gridTop+10, fmt.Sprintf("%.3g", hi))
	drawText(img, bx+gridBar+4, gridTop+gridH/2+4, fmt.Sprintf("%.3g", (lo+hi)/2))
	drawText(img, bx+gridBar+4, gridTop+gridH-2, fmt.Sprintf("%.3g", lo))
	drawText(img, bx-4, 13, "score")
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, buf.Bytes())
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
