package chart

import (
	"fmt"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/padim-go/padim/internal/atomicfile"
)

// Series is one named curve; X and Y have the same length.
type Series struct {
	Name string
	X, Y []float64
}

// Lines describes a line plot.
type Lines struct {
	Title, XLabel, YLabel string
	Series                []Series

	// YMin and YMax fix the y axis when YMax > YMin. Otherwise the axis
	// starts at YMin and ends at HeadroomY times the largest y, so the
	// highest point is not drawn on the frame.
	YMin, YMax float64
	HeadroomY  float64
	// XMax > 0 fixes the x axis to 0..XMax; otherwise it fits the data.
	XMax float64
	// LineWidth is the width of the lines; 0 keeps gonum/plot's default.
	LineWidth vg.Length
	// Markers draws each point with a per-series shape: for measured
	// points, where the line between them is only a guide.
	Markers bool
	// Width and Height are the image size.
	Width, Height vg.Length
}

// WritePNG draws l and writes it to path atomically.
func (l Lines) WritePNG(path string) error {
	p := plot.New()
	p.Title.Text = l.Title
	p.X.Label.Text = l.XLabel
	p.Y.Label.Text = l.YLabel
	p.Add(plotter.NewGrid())
	fixedY := l.YMax > l.YMin
	p.Y.Min = l.YMin
	for i, s := range l.Series {
		if len(s.X) != len(s.Y) {
			return fmt.Errorf("%s: series %s has %d x and %d y values", path, s.Name, len(s.X), len(s.Y))
		}
		pts := make(plotter.XYs, len(s.X))
		for j := range s.X {
			pts[j].X, pts[j].Y = s.X[j], s.Y[j]
			if !fixedY {
				p.Y.Max = max(p.Y.Max, s.Y[j]*l.HeadroomY)
			}
		}
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return fmt.Errorf("%s: series %s: %w", path, s.Name, err)
		}
		line.Color = plotutil.Color(i)
		line.Dashes = plotutil.Dashes(i)
		if l.LineWidth > 0 {
			line.Width = l.LineWidth
		}
		if l.Markers {
			points.Color = plotutil.Color(i)
			points.Shape = plotutil.Shape(i)
			p.Add(line, points)
			p.Legend.Add(s.Name, line, points)
		} else {
			p.Add(line)
			p.Legend.Add(s.Name, line)
		}
	}
	p.Legend.Top = false
	p.Legend.Left = false
	if fixedY { // after the series, which widen the axes to their data
		p.Y.Min, p.Y.Max = l.YMin, l.YMax
	}
	if l.XMax > 0 {
		p.X.Min, p.X.Max = 0, l.XMax
	}
	wt, err := p.WriterTo(l.Width, l.Height, "png")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := wt.WriteTo(w)
		return err
	})
}
