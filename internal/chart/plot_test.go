package chart

import (
	"bytes"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// render writes p to a fresh file and returns its bytes.
func render(t *testing.T, p Plot) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "p.png")
	if err := p.WritePNG(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var xs = []float64{50, 100, 200}

// TestWritePNGSize: every kind of figure decodes as a PNG of the requested
// size (96 dots per inch, 72 points per inch) with a blank border.
func TestWritePNGSize(t *testing.T) {
	for _, c := range []struct {
		name string
		p    Plot
	}{
		{"lines", Plot{Width: 7 * vg.Inch, Height: 5 * vg.Inch, LegendFontSize: vg.Points(9), X: Range{0, 1}, Y: Range{0, 1.02},
			Series: []Series{{Name: "a", X: []float64{0, 0.5, 1}, Y: []float64{0, 0.9, 1}, LineWidth: vg.Points(1.5)}, {X: []float64{0, 1}, Y: []float64{0, 1}, Style: 1}}}},
		{"markers", Plot{Width: 6 * vg.Inch, Height: 4 * vg.Inch, YHeadroom: 1.15,
			Series: []Series{{Name: "peak", X: xs, Y: []float64{4.9, 5, 5}, Marker: draw.RingGlyph{}}}}},
		{"error bars", Plot{Width: 3 * vg.Inch, Height: 2 * vg.Inch, XTicksAtData: true,
			Series: []Series{{Name: "random", X: xs, Y: []float64{0.9, 0.95, 0.96}, YErr: []float64{0.01, 0, 0.02}, Marker: draw.CircleGlyph{}}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			img, err := png.Decode(bytes.NewReader(render(t, c.p)))
			if err != nil {
				t.Fatal(err)
			}
			want := [2]int{int(c.p.Width / vg.Inch * 96), int(c.p.Height / vg.Inch * 96)}
			if s := img.Bounds().Size(); s.X != want[0] || s.Y != want[1] {
				t.Fatalf("image is %v, want %dx%d", s, want[0], want[1])
			}
			// Nothing is drawn in the border, so no text is cut off at
			// the edge.
			const border = 8 // 6pt at 96 dpi
			for y := 0; y < want[1]; y++ {
				for x := 0; x < want[0]; x++ {
					inside := x >= border && x < want[0]-border && y >= border && y < want[1]-border
					if r, g, b, _ := img.At(x, y).RGBA(); !inside && (r != 0xffff || g != 0xffff || b != 0xffff) {
						t.Fatalf("pixel (%d, %d) in the %dpx border is drawn", x, y, border)
					}
				}
			}
		})
	}
}

// TestAxisRanges: a fixed range is the axis whatever the data; the y
// headroom runs the axis from Y.Min to YHeadroom times the largest y; an
// axis not fixed fits the data.
func TestAxisRanges(t *testing.T) {
	s := []Series{{Name: "s", X: []float64{2, 4}, Y: []float64{0.5, 2}}}
	for _, c := range []struct {
		name string
		p    Plot
		x, y Range
	}{
		{"fitted", Plot{Series: s}, Range{2, 4}, Range{0.5, 2}},
		{"fixed", Plot{Series: s, X: Range{0, 10}, Y: Range{0.25, 1}}, Range{0, 10}, Range{0.25, 1}},
		{"headroom", Plot{Series: s, YHeadroom: 1.5}, Range{2, 4}, Range{0, 3}},
		{"headroom from y min", Plot{Series: s, YHeadroom: 1.5, Y: Range{Min: 0.1}}, Range{2, 4}, Range{0.1, 3}},
		{"fixed wins over headroom", Plot{Series: s, YHeadroom: 1.5, Y: Range{0, 5}}, Range{2, 4}, Range{0, 5}},
		{"headroom widened to data below y min", Plot{Series: s, YHeadroom: 1.5, Y: Range{Min: 1}}, Range{2, 4}, Range{0.5, 3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, err := c.p.plot()
			if err != nil {
				t.Fatal(err)
			}
			if got := (Range{g.X.Min, g.X.Max}); got != c.x {
				t.Errorf("x axis %v, want %v", got, c.x)
			}
			if got := (Range{g.Y.Min, g.Y.Max}); got != c.y {
				t.Errorf("y axis %v, want %v", got, c.y)
			}
		})
	}
}

// TestXTicksAtData: the ticks are the distinct x values of all series.
func TestXTicksAtData(t *testing.T) {
	p := Plot{XTicksAtData: true, Series: []Series{{X: []float64{10, 50}, Y: []float64{1, 2}}, {X: []float64{50, 448}, Y: []float64{1, 2}}}}
	g, err := p.plot()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tk := range g.X.Tick.Marker.Ticks(g.X.Min, g.X.Max) {
		got = append(got, tk.Label)
	}
	if strings.Join(got, ",") != "10,50,448" {
		t.Errorf("ticks %v, want 10,50,448", got)
	}
}

// TestXTicksAtDataEnds: an x axis fitted to its data labels its first and
// last values, which the regular ticks label only when they are round
// numbers (the memory plot's N = 50 went unlabelled); a regular label too
// close to an end gives way, keeping its tick. A fixed axis keeps the
// regular ticks.
func TestXTicksAtDataEnds(t *testing.T) {
	labels := func(p Plot) (labelled []string, all []float64) {
		t.Helper()
		g, err := p.plot()
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range g.X.Tick.Marker.Ticks(g.X.Min, g.X.Max) {
			all = append(all, tk.Value)
			if tk.Label != "" {
				labelled = append(labelled, tk.Label)
			}
		}
		slices.Sort(labelled)
		return labelled, all
	}
	series := func(x ...float64) []Series { return []Series{{X: x, Y: make([]float64, len(x))}} }
	for _, c := range []struct {
		name string
		p    Plot
		want string
	}{
		{"first value not round", Plot{Series: series(50, 100, 200, 400)}, "100,200,300,400,50"},
		{"last value not round", Plot{Series: series(100, 250, 400, 550)}, "100,300,500,550"},
		{"regular labels near the ends give way", Plot{Series: series(1024, 1600, 2304, 3136)}, "1024,2000,2800,3136"},
		{"fractions", Plot{Series: series(0.123456, 0.5, 0.87)}, "0.1235,0.2,0.4,0.6,0.87"},
		{"over all series", Plot{Series: append(series(2, 3), series(1.5, 9)...)}, "1.5,4,6,8,9"},
		{"fixed axis", Plot{Series: series(50, 400), X: Range{0, 500}}, "0.00,250.00,500.00"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, all := labels(c.p)
			if strings.Join(got, ",") != c.want {
				t.Errorf("labelled ticks %v, want %s (all ticks %v)", got, c.want, all)
			}
		})
	}
	// One x value: the axis is padded around it, and it is labelled.
	if got, _ := labels(Plot{Series: series(7, 7)}); !slices.Contains(got, "7") {
		t.Errorf("labelled ticks %v, want 7 among them", got)
	}
	render(t, Plot{Width: 3 * vg.Inch, Height: 2 * vg.Inch, Series: series(7)})
}

// TestLegendOnlyNamed: a series without a name adds nothing to the legend
// (a series with neither line nor marker draws only its legend entry), and
// a named one adds an entry.
func TestLegendOnlyNamed(t *testing.T) {
	base := func(extra ...Series) Plot {
		return Plot{Width: 4 * vg.Inch, Height: 3 * vg.Inch, X: Range{0, 1}, Y: Range{0, 1},
			Series: append([]Series{{Name: "shown", X: []float64{0, 1}, Y: []float64{0, 1}}}, extra...)}
	}
	invisible := Series{X: []float64{0.2, 0.8}, Y: []float64{0.5, 0.5}, Style: 1, NoLine: true}
	named := invisible
	named.Name = "second"
	alone := render(t, base())
	if !bytes.Equal(alone, render(t, base(invisible))) {
		t.Error("an unnamed series changed the legend")
	}
	if bytes.Equal(alone, render(t, base(named))) {
		t.Error("a named series added no legend entry")
	}
}

// TestStyleDrawn: markers, error bars, line width and style each change
// the image, so none of them is silently dropped.
func TestStyleDrawn(t *testing.T) {
	plain := Series{Name: "s", X: xs, Y: []float64{0.9, 0.95, 0.96}}
	with := func(f func(*Series)) Plot {
		s := plain
		f(&s)
		return Plot{Width: 4 * vg.Inch, Height: 3 * vg.Inch, X: Range{0, 250}, Y: Range{0.8, 1}, Series: []Series{s}}
	}
	ref := render(t, with(func(*Series) {}))
	for name, f := range map[string]func(*Series){
		"marker":     func(s *Series) { s.Marker = draw.CircleGlyph{} },
		"error bars": func(s *Series) { s.YErr = []float64{0.02, 0.01, 0.02} },
		"line width": func(s *Series) { s.LineWidth = vg.Points(3) },
		"style":      func(s *Series) { s.Style = 1 },
		"no line":    func(s *Series) { s.NoLine = true },
	} {
		if bytes.Equal(ref, render(t, with(f))) {
			t.Errorf("%s: the image is the same as without it", name)
		}
	}
	if !bytes.Equal(ref, render(t, with(func(s *Series) { s.YErr = []float64{0, 0, 0} }))) {
		t.Error("zero error bars changed the image")
	}
}

// TestBadSeries: a series whose lengths disagree or that holds a
// non-finite value is an error naming the file and the series, and
// nothing is written: not the file, not a temporary beside it.
func TestBadSeries(t *testing.T) {
	for _, c := range []struct {
		name string
		s    Series
		want string
	}{
		{"x and y", Series{Name: "peak", X: []float64{1, 2}, Y: []float64{1}}, "2 x and 1 y"},
		{"error bars", Series{Name: "peak", X: []float64{1, 2}, Y: []float64{1, 2}, YErr: []float64{0.1}}, "2 points and 1 error bars"},
		{"nan", Series{Name: "peak", X: []float64{1, 2}, Y: []float64{1, math.NaN()}}, "NaN"},
		{"inf marker", Series{Name: "peak", X: []float64{1, math.Inf(1)}, Y: []float64{1, 2}, NoLine: true, Marker: draw.CircleGlyph{}}, "infinite"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "bad.png")
			err := Plot{Width: vg.Inch, Height: vg.Inch, Series: []Series{{Name: "fine", X: []float64{0, 1}, Y: []float64{0, 1}}, c.s}}.WritePNG(p)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range []string{p, `series "peak"`, c.want} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("files were written: %v", ents)
			}
		})
	}
}

// TestWriteAtomic: a failed write leaves the previous figure in place.
func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "fig.png")
	good := Plot{Width: 2 * vg.Inch, Height: 2 * vg.Inch, Series: []Series{{Name: "s", X: []float64{0, 1}, Y: []float64{0, 1}}}}
	if err := good.WritePNG(p); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(p)
	bad := good
	bad.Series = []Series{{Name: "s", X: []float64{0, 1}, Y: []float64{0}}}
	if err := bad.WritePNG(p); err == nil {
		t.Fatal("no error for mismatched lengths")
	}
	after, _ := os.ReadFile(p)
	if !bytes.Equal(before, after) {
		t.Error("the failed write changed the file")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %v, want only fig.png", ents)
	}
}
