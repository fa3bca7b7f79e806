package chart_test

import (
	"fmt"
	"image/png"
	"os"
	"path/filepath"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/padim-go/padim/internal/chart"
)

// A measured curve with error bars beside a reference curve, x ticks at
// the measured settings.
func ExamplePlot_WritePNG() {
	dir, err := os.MkdirTemp("", "chart")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "auroc.png")
	p := chart.Plot{
		Title: "pixel AUROC vs kept channels", XLabel: "d", YLabel: "pixel AUROC",
		X: chart.Range{Min: 0, Max: 470}, Y: chart.Range{Min: 0.9, Max: 1}, XTicksAtData: true,
		Width: 6 * vg.Inch, Height: 4 * vg.Inch,
		Series: []chart.Series{
			{Name: "measured (mean ± sd)", X: []float64{50, 100, 200}, Y: []float64{0.95, 0.96, 0.97}, YErr: []float64{0.004, 0.003, 0.002}, Marker: draw.CircleGlyph{}},
			{Name: "reference", X: []float64{50, 100, 200}, Y: []float64{0.94, 0.96, 0.965}, Style: 1, NoLine: true, Marker: draw.CrossGlyph{}},
		},
	}
	if err := p.WritePNG(path); err != nil {
		fmt.Println(err)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	fmt.Println(cfg.Width, cfg.Height, err)
	// Output: 576 384 <nil>
}
