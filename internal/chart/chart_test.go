package chart

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"
)

func memoryLines(markers bool) Lines {
	return Lines{Title: "peak memory", XLabel: "training images N", YLabel: "GiB", HeadroomY: 1.15, Markers: markers,
		Width: 6 * vg.Inch, Height: 4 * vg.Inch,
		Series: []Series{{"peak RSS", []float64{50, 100, 200}, []float64{4.9, 5.0, 5.0}}, {"formula", []float64{50, 100, 200}, []float64{4.2, 4.2, 4.2}}}}
}

// TestWritePNG checks that the file is a PNG of the requested size
// (gonum/plot renders at 96 dpi) and that markers are drawn.
func TestWritePNG(t *testing.T) {
	dir := t.TempDir()
	plain, marked := filepath.Join(dir, "plain.png"), filepath.Join(dir, "marked.png")
	if err := memoryLines(false).WritePNG(plain); err != nil {
		t.Fatal(err)
	}
	if err := memoryLines(true).WritePNG(marked); err != nil {
		t.Fatal(err)
	}
	a, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(marked)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if s := img.Bounds().Size(); s.X != 6*96 || s.Y != 4*96 {
		t.Errorf("image is %v, want 576x384", s)
	}
	if bytes.Equal(a, b) {
		t.Error("the plot with markers is the same image as the one without")
	}
}

// TestYAxis: the automatic axis runs from YMin to HeadroomY times the
// largest y, so it draws the same image as that range fixed; a fixed range
// other than that draws a different one.
func TestYAxis(t *testing.T) {
	dir := t.TempDir()
	draw := func(name string, ymax float64) []byte {
		l := Lines{Width: 3 * vg.Inch, Height: 2 * vg.Inch, HeadroomY: 1.5, YMax: ymax,
			Series: []Series{{"s", []float64{0, 1}, []float64{0.5, 2}}}}
		p := filepath.Join(dir, name)
		if err := l.WritePNG(p); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	auto := draw("auto", 0)
	if !bytes.Equal(auto, draw("fixed3", 3)) {
		t.Error("automatic axis differs from the fixed axis 0..1.5*2")
	}
	if bytes.Equal(auto, draw("fixed4", 4)) {
		t.Error("fixed axis 0..4 draws the same image as 0..3")
	}
}

// TestBadSeries: mismatched lengths and non-finite values are errors
// naming the file and the series, and nothing is written.
func TestBadSeries(t *testing.T) {
	dir := t.TempDir()
	nan := 0.0
	nan /= nan
	for name, s := range map[string]Series{
		"lengths": {Name: "peak", X: []float64{1, 2}, Y: []float64{1}},
		"nan":     {Name: "peak", X: []float64{1, 2}, Y: []float64{1, nan}},
	} {
		p := filepath.Join(dir, name+".png")
		err := Lines{Width: vg.Inch, Height: vg.Inch, Series: []Series{s}}.WritePNG(p)
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "peak") {
			t.Errorf("%s: error %v, want one naming %s and the series", name, err, p)
		}
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s: %s was written", name, p)
		}
	}
}
