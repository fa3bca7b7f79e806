package chart

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/padim-go/padim/internal/atomicfile"
)

// Range is an axis range. It is fixed when Max > Min; otherwise the axis
// fits the data.
type Range struct {
	Min, Max float64
}

func (r Range) fixed() bool { return r.Max > r.Min }

// Series is one set of (x, y) values, drawn as a line, as markers, or both.
type Series struct {
	// Name is the series' legend entry. Series without a name draw without
	// one, so that the several seeds of a method share one entry.
	Name string
	X, Y []float64
	// YErr, when set, holds one error half-width per point, drawn as a
	// vertical bar when any of them is positive.
	YErr []float64
	// Style picks the colour and dash pattern; series of one method share
	// it.
	Style int
	// NoLine draws the points without joining them; a line also needs two
	// points.
	NoLine bool
	// LineWidth is the line's width; 0 keeps gonum/plot's default (1pt).
	LineWidth vg.Length
	// Marker is the shape drawn at each point: for measured points, where
	// the line between them is only a guide. nil draws none.
	Marker draw.GlyphDrawer
	// MarkerRadius is the marker's size; 0 keeps gonum/plot's default
	// (2.5pt).
	MarkerRadius vg.Length
}

// Error bars: thin enough not to hide the markers, capped so that short
// bars still read as bars.
const (
	errorBarWidth = 1.2 // points
	errorBarCap   = 6   // points
)

// The reports' figure style, shared by the paper figures (package
// experiments) and the benchmark figures (package benchmark) so that the
// figures of one reports/ folder look alike: a legend small enough to
// leave the data room, lines thicker than gonum/plot's 1 pt, and markers
// that still show the measured points when a figure is printed small.
const (
	LegendFontSize vg.Length = 9   // points
	LineWidth      vg.Length = 1.5 // points
	MarkerRadius   vg.Length = 3.5 // points
)

// figureMargin is the white border around a plot, in points. gonum/plot
// fits the last x tick label to the image's edge by its measured width,
// which is narrower than the text as drawn, so that without a border the
// label's last character is cut off; the border also keeps the title and
// the legend off the edge.
const figureMargin = 6

// Plot is one figure of lines, markers and error bars on a grid, with the
// legend at the bottom right.
type Plot struct {
	Title, XLabel, YLabel string
	Series                []Series
	X, Y                  Range
	// YHeadroom > 0 on a y axis that is not fixed runs the axis from Y.Min
	// to YHeadroom times the largest y (widened to the data where that is
	// wider), so that the highest point is not drawn on the frame.
	YHeadroom float64
	// XTicksAtData puts the x ticks at the distinct x values of the series:
	// for measured settings, which a regular tick spacing would not name.
	// Without it, an x axis fitted to the data has regular ticks plus
	// labelled ones at its first and last data values (endTicks).
	XTicksAtData bool
	// LegendFontSize is the legend's text size; 0 keeps gonum/plot's
	// default (12pt).
	LegendFontSize vg.Length
	// Width and Height are the image size (96 dots per inch).
	Width, Height vg.Length
}

// WritePNG draws p and writes it to path atomically: on an error nothing
// is written. Errors name path and the series at fault.
func (p Plot) WritePNG(path string) error {
	g, err := p.plot()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	c, err := draw.NewFormattedCanvas(p.Width, p.Height, "png")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	m := vg.Points(figureMargin)
	g.Draw(draw.Crop(draw.New(c), m, -m, m, -m))
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := c.WriteTo(w)
		return err
	})
}

// plot builds the gonum/plot figure of p.
func (p Plot) plot() (*plot.Plot, error) {
	g := plot.New()
	g.Title.Text = p.Title
	g.X.Label.Text = p.XLabel
	g.Y.Label.Text = p.YLabel
	g.Add(plotter.NewGrid())
	if p.LegendFontSize > 0 {
		g.Legend.TextStyle.Font.Size = p.LegendFontSize
	}
	switch lo, hi, ok := xExtent(p.Series); {
	case p.XTicksAtData:
		g.X.Tick.Marker = plot.ConstantTicks(dataTicks(p.Series))
	case !p.X.fixed() && ok:
		g.X.Tick.Marker = endTicks{lo, hi}
	}
	headroom := !p.Y.fixed() && p.YHeadroom > 0
	if headroom {
		g.Y.Min = p.Y.Min
	}
	for _, s := range p.Series {
		if err := addSeries(g, s); err != nil {
			return nil, fmt.Errorf("series %q: %w", s.Name, err)
		}
		if headroom {
			for _, y := range s.Y {
				g.Y.Max = max(g.Y.Max, y*p.YHeadroom)
			}
		}
	}
	g.Legend.Top = false
	g.Legend.Left = false
	// After the series, which widen the axes to their data.
	if p.X.fixed() {
		g.X.Min, g.X.Max = p.X.Min, p.X.Max
	}
	if p.Y.fixed() {
		g.Y.Min, g.Y.Max = p.Y.Min, p.Y.Max
	}
	return g, nil
}

// addSeries adds s's line, markers and error bars to g, in that order, and
// its legend entry when it has a name.
func addSeries(g *plot.Plot, s Series) error {
	if len(s.X) != len(s.Y) {
		return fmt.Errorf("%d x and %d y values", len(s.X), len(s.Y))
	}
	if s.YErr != nil && len(s.YErr) != len(s.X) {
		return fmt.Errorf("%d points and %d error bars", len(s.X), len(s.YErr))
	}
	pts := make(plotter.XYs, len(s.X))
	for i := range s.X {
		pts[i].X, pts[i].Y = s.X[i], s.Y[i]
	}
	c := plotutil.Color(s.Style)
	var thumbs []plot.Thumbnailer
	if !s.NoLine && len(pts) > 1 {
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.Color, l.Dashes = c, plotutil.Dashes(s.Style)
		if s.LineWidth > 0 {
			l.Width = s.LineWidth
		}
		g.Add(l)
		thumbs = append(thumbs, l)
	}
	if s.Marker != nil {
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return err
		}
		sc.GlyphStyle.Color, sc.GlyphStyle.Shape = c, s.Marker
		if s.MarkerRadius > 0 {
			sc.GlyphStyle.Radius = s.MarkerRadius
		}
		g.Add(sc)
		thumbs = append(thumbs, sc)
	}
	if anyPositive(s.YErr) {
		e := make(plotter.YErrors, len(s.YErr))
		for i, v := range s.YErr {
			e[i].Low, e[i].High = v, v
		}
		eb, err := plotter.NewYErrorBars(struct {
			plotter.XYer
			plotter.YErrorer
		}{pts, e})
		if err != nil {
			return err
		}
		eb.Color, eb.Width, eb.CapWidth = c, vg.Points(errorBarWidth), vg.Points(errorBarCap)
		g.Add(eb)
	}
	if s.Name != "" {
		g.Legend.Add(s.Name, thumbs...)
	}
	return nil
}

// dataTicks are ticks at the distinct x values of the series, in the order
// they first appear.
func dataTicks(series []Series) []plot.Tick {
	var ticks []plot.Tick
	seen := map[float64]bool{}
	for _, s := range series {
		for _, x := range s.X {
			if !seen[x] {
				seen[x] = true
				ticks = append(ticks, plot.Tick{Value: x, Label: strconv.FormatFloat(x, 'g', -1, 64)})
			}
		}
	}
	return ticks
}

// xExtent is the smallest and largest finite x of the series; ok is false
// when they have none.
func xExtent(series []Series) (lo, hi float64, ok bool) {
	for _, s := range series {
		for _, x := range s.X {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				continue
			}
			if !ok || x < lo {
				lo = x
			}
			if !ok || x > hi {
				hi = x
			}
			ok = true
		}
	}
	return lo, hi, ok
}

// minLabelGap is how close, as a fraction of the axis, a regular tick label
// may come to a labelled end of the data before it gives way.
const minLabelGap = 0.1

// endTicks marks an axis fitted to its data, whose ends are then the first
// and last data values: gonum/plot's regular ticks label round numbers
// only, so an end that is not one (N = 50 on an axis ticked 100, 200, ...)
// went unlabelled. endTicks keeps the regular ticks and labels both ends
// too; a regular label closer than minLabelGap of the axis to an end keeps
// its tick but loses its label, so that labels do not run into each other.
type endTicks struct{ lo, hi float64 }

func (t endTicks) Ticks(min, max float64) []plot.Tick {
	ends := []float64{t.lo}
	if t.hi != t.lo {
		ends = append(ends, t.hi)
	}
	var ticks []plot.Tick
	if max > min {
		for _, tk := range (plot.DefaultTicks{}).Ticks(min, max) {
			if slices.Contains(ends, tk.Value) {
				continue // the end's own tick, labelled below, replaces it
			}
			for _, e := range ends {
				if math.Abs(tk.Value-e) < minLabelGap*(max-min) {
					tk.Label = ""
				}
			}
			ticks = append(ticks, tk)
		}
	}
	for _, e := range ends {
		ticks = append(ticks, plot.Tick{Value: e, Label: endLabel(e)})
	}
	return ticks
}

// endLabel writes a data value as a tick label: whole numbers in full
// (3136, not 3.136e+03), others to 4 significant digits.
func endLabel(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func anyPositive(v []float64) bool {
	for _, x := range v {
		if x > 0 {
			return true
		}
	}
	return false
}
