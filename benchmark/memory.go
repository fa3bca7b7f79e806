package benchmark

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/padim-go/padim/internal/atomicfile"
	"github.com/padim-go/padim/internal/chart"
	"github.com/padim-go/padim/internal/table"
	"github.com/padim-go/padim/padim"
)

// MemoryOptions configure RunMemory. Of E2EOptions it uses Data,
// Category, Batch, Seed and Self.
type MemoryOptions struct {
	E2EOptions
	Backbone  string
	D         int   // embedding dimension of the N and positions curves
	Ns        []int // training set sizes
	Ds        []int // dimensions of the d curve
	Crops     []int // crop sides of the positions curve ((side/4)^2 positions)
	CurveN    int   // training images for the d and positions curves
	OutPrefix string
}

// memoryPoint is one child fit.
type memoryPoint struct {
	n, d, crop int
	positions  int
	peak       int64
	formula    int64 // padim.FitHeldBytes
	seconds    float64
}

// accumulationImages is the embedding buffer padim.Fit holds, in images,
// for padim.FitHeldBytes.
const accumulationImages = 64

// RunMemory fits PaDiM in a fresh child process per point and records the
// child's peak resident memory: over the number of training images at
// o.D, over d, and over the number of grid positions. It writes
// OutPrefix.md and the plots OutPrefix.png, OutPrefix-d.png and
// OutPrefix-positions.png, all atomically.
func RunMemory(ctx context.Context, stdout, stderr io.Writer, o MemoryOptions) error {
	if len(o.Ns) == 0 || len(o.Ds) == 0 || len(o.Crops) == 0 {
		return fmt.Errorf("bench memory: need at least one --n, --dims and --crops")
	}
	maxN := slices.Max(append(slices.Clone(o.Ns), o.CurveN))
	o.Train, o.Test, o.Size = maxN, 4, 256
	if _, err := syntheticSplit(o.E2EOptions); err != nil {
		return err
	}
	cache := map[[3]int]memoryPoint{}
	get := func(n, d, crop int) (memoryPoint, error) {
		k := [3]int{n, d, crop}
		if p, ok := cache[k]; ok {
			return p, nil
		}
		p, err := o.measure(ctx, stderr, n, d, crop)
		cache[k] = p
		return p, err
	}
	curve := func(xs []int, point func(x int) (n, d, crop int)) ([]memoryPoint, error) {
		var ps []memoryPoint
		for _, x := range xs {
			p, err := get(point(x))
			if err != nil {
				return nil, err
			}
			ps = append(ps, p)
		}
		return ps, nil
	}
	byN, err := curve(o.Ns, func(n int) (int, int, int) { return n, o.D, 224 })
	if err != nil {
		return err
	}
	byD, err := curve(o.Ds, func(d int) (int, int, int) { return o.CurveN, d, 224 })
	if err != nil {
		return err
	}
	byP, err := curve(o.Crops, func(c int) (int, int, int) { return o.CurveN, o.D, c })
	if err != nil {
		return err
	}
	report, err := memoryReport(probeMachine(), o, byN, byD, byP)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, report)
	if err := writeFileAtomic(o.OutPrefix+".md", []byte(report)); err != nil {
		return err
	}
	return memoryPlots(o, byN, byD, byP)
}

// measure runs one fit-only child.
func (o MemoryOptions) measure(ctx context.Context, stderr io.Writer, n, d, crop int) (memoryPoint, error) {
	c := o.E2EOptions
	c.FitOnly, c.UseTrain, c.Crop = true, n, crop
	r, err := c.runChild(ctx, stderr, o.Backbone+":"+strconv.Itoa(d))
	if err != nil {
		return memoryPoint{}, err
	}
	pos := (crop / 4) * (crop / 4)
	p := memoryPoint{n: n, d: d, crop: crop, positions: pos, peak: r.PeakRSSBytes,
		formula: padim.FitHeldBytes(pos, d, accumulationImages), seconds: r.Seconds["total"]}
	fmt.Fprintf(stderr, "memory %s N=%d d=%d %dx%d positions: peak RSS %.2f GiB (accumulators + factors %.2f GiB) in %.0fs\n",
		o.Backbone, n, d, crop/4, crop/4, float64(p.peak)/(1<<30), float64(p.formula)/(1<<30), p.seconds)
	return p, nil
}

// memoryPlots draws peak RSS and the formula against N, d and positions.
func memoryPlots(o MemoryOptions, byN, byD, byP []memoryPoint) error {
	plot := func(path, title, xLabel string, ps []memoryPoint, x func(memoryPoint) int) error {
		var xs, peak, formula []float64
		for _, p := range ps {
			xs = append(xs, float64(x(p)))
			peak = append(peak, float64(p.peak)/(1<<30))
			formula = append(formula, float64(p.formula)/(1<<30))
		}
		// The ticks name the measured settings.
		return chart.Plot{Title: title, XLabel: xLabel, YLabel: "GiB", YHeadroom: 1.15,
			XTicksAtData: true, LegendFontSize: chart.LegendFontSize,
			Width: 6 * vg.Inch, Height: 4 * vg.Inch,
			Series: []chart.Series{
				{Name: "peak RSS (measured)", X: xs, Y: peak, Style: 0, LineWidth: chart.LineWidth,
					Marker: draw.CircleGlyph{}, MarkerRadius: chart.MarkerRadius},
				{Name: "accumulators + factors (formula)", X: xs, Y: formula, Style: 1, LineWidth: chart.LineWidth,
					Marker: draw.BoxGlyph{}, MarkerRadius: chart.MarkerRadius},
			},
		}.WritePNG(path)
	}
	if err := plot(o.OutPrefix+".png", fmt.Sprintf("padim fit, %s, d=%d, 56x56 positions", o.Backbone, o.D), "training images N",
		byN, func(p memoryPoint) int { return p.n }); err != nil {
		return err
	}
	if err := plot(o.OutPrefix+"-d.png", fmt.Sprintf("padim fit, %s, N=%d, 56x56 positions", o.Backbone, o.CurveN), "embedding dimension d",
		byD, func(p memoryPoint) int { return p.d }); err != nil {
		return err
	}
	return plot(o.OutPrefix+"-positions.png", fmt.Sprintf("padim fit, %s, N=%d, d=%d", o.Backbone, o.CurveN, o.D), fmt.Sprintf("layer1 grid positions (centre crops of %d to %d pixels)", slices.Min(o.Crops), slices.Max(o.Crops)),
		byP, func(p memoryPoint) int { return p.positions })
}

// memoryReport renders OutPrefix.md.
func memoryReport(m Machine, o MemoryOptions, byN, byD, byP []memoryPoint) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "# Peak memory of padim fit\n\n")
	fmt.Fprintf(&b, "Generated by `padim bench memory` on %s.\n\n", m.Date)
	b.WriteString(m.bullets())
	fmt.Fprintf(&b, "\nEach point is one `padim.Fit` of %s (random weights) on synthetic 256x256 images (resize 256, centre crop), in a fresh process; "+
		"peak RSS is the process's VmHWM after the fit. *Formula* is what the fit holds by construction at its peak (`padim.FitHeldBytes`): float64 shift, sum and "+
		"upper triangle of the sum of outer products (in 32-row panels) per position, plus the float32 buffer of %d images' embeddings; "+
		"the float32 means and packed Cholesky factors of the covariances are written over the consumed sums and add nothing. "+
		"The rest is the Go runtime, the backbone and its activations for one batch of %d, and per-worker scratch.\n\n", o.Backbone, accumulationImages, o.Batch)
	section := func(title string, ps []memoryPoint) error {
		fmt.Fprintf(&b, "## %s\n\n", title)
		t := table.Table{
			Header: []string{"N", "d", "positions", "peak RSS", "formula", "fit wall seconds (shared machine)"},
			Align:  []table.Align{table.Right, table.Right, table.Right, table.Right, table.Right, table.Right},
		}
		for _, p := range ps {
			t.Append(strconv.Itoa(p.n), strconv.Itoa(p.d), strconv.Itoa(p.positions), gib(p.peak), gib(p.formula), fmt.Sprintf("%.0f", p.seconds))
		}
		if err := t.Markdown(&b); err != nil {
			return err
		}
		fmt.Fprintln(&b)
		return nil
	}
	if err := section("Against the number of training images", byN); err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "![peak RSS against N](%s.png)\n\n", filepath.Base(o.OutPrefix))
	if err := section("Against d", byD); err != nil {
		return "", err
	}
	if err := section("Against grid positions", byP); err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "![peak RSS against d](%[1]s-d.png) ![peak RSS against positions](%[1]s-positions.png)\n", filepath.Base(o.OutPrefix))
	return b.String(), nil
}

// writeFileAtomic creates path's directory and writes data to path
// atomically.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, data)
}
