package experiments

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/padim-go/padim/internal/atomicfile"
	"github.com/padim-go/padim/internal/chart"
)

// heatmapTables are the tables whose runs contribute heatmap grids to the report.
var heatmapTables = map[string]bool{"localization": true, "magnetic-tile": true, "synthetic": true, "rd-mvtec": true, "stc": true}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func fileName(s string) string {
	return strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

// The paper figures' size, in the reports' style (chart.LineWidth and
// the rest). A seed among several is drawn thinner, so that a method's
// seed curves read as separate lines, not one thick band.
var (
	figureWidth, figureHeight = 7 * vg.Inch, 5 * vg.Inch
	seedLineWidth             = vg.Points(0.8)
)

// axes are a figure's x and y ranges.
type axes struct{ x, y chart.Range }

// figure is a report figure of the given series.
func figure(title, xLabel, yLabel string, series []chart.Series, ax axes) chart.Plot {
	return chart.Plot{Title: title, XLabel: xLabel, YLabel: yLabel, Series: series, X: ax.x, Y: ax.y,
		LegendFontSize: chart.LegendFontSize, Width: figureWidth, Height: figureHeight}
}

// methodCurves are one method's curves on one dataset: one per seed.
type methodCurves struct {
	method                  string
	roc, pixelROC, pro      []chart.Series
	image, pixel, proValues []float64
}

// WriteFigures draws, for table t, per dataset: the image ROC curves when
// the table is about detection, the pixel ROC and PRO curves when it has
// pixel metrics (every seed of a method drawn, its legend giving the mean ±
// sd of the metric), the dimension ablation plot, and copies heatmap grids
// (first seed). It returns the files written, relative to dir.
func WriteFigures(dir, cacheDir string, t Table, results []*Result) ([]string, error) {
	figDir := filepath.Join(dir, t.Name)
	var written []string
	byDataset := map[string][]*methodCurves{}
	var order []string
	heatmapDone := map[string]bool{}
	for _, r := range results {
		if r.Status != "ok" {
			continue
		}
		ds := datasetLabel(r.Run.Dataset)
		c, err := readCurves(filepath.Join(cacheDir, r.Key, "curves.json"))
		if err != nil {
			return nil, err
		}
		if _, ok := byDataset[ds]; !ok {
			order = append(order, ds)
		}
		var mc *methodCurves
		for _, m := range byDataset[ds] {
			if m.method == r.Run.Row {
				mc = m
			}
		}
		if mc == nil {
			mc = &methodCurves{method: r.Run.Row}
			byDataset[ds] = append(byDataset[ds], mc)
		}
		if len(c.ROCFPR) > 0 {
			mc.roc = append(mc.roc, chart.Series{X: c.ROCFPR, Y: c.ROCTPR})
		}
		if len(c.PixelROCFPR) > 0 {
			mc.pixelROC = append(mc.pixelROC, chart.Series{X: c.PixelROCFPR, Y: c.PixelROCTPR})
		}
		if len(c.PROFPR) > 0 {
			mc.pro = append(mc.pro, chart.Series{X: c.PROFPR, Y: c.PRO})
		}
		for _, v := range []struct {
			dst *[]float64
			m   *float64
		}{{&mc.image, r.ImageAUROC}, {&mc.pixel, r.PixelAUROC}, {&mc.proValues, r.PRO}} {
			if v.m != nil {
				*v.dst = append(*v.dst, *v.m)
			}
		}
		hk := ds + "\x00" + r.Run.Row
		if heatmapTables[t.Name] && slices.Contains(r.Artifacts, "heatmaps.png") && !heatmapDone[hk] {
			heatmapDone[hk] = true
			name := fmt.Sprintf("heatmaps-%s-%s.png", fileName(ds), fileName(r.Run.Row))
			b, err := os.ReadFile(filepath.Join(cacheDir, r.Key, "heatmaps.png"))
			if err != nil {
				return nil, err
			}
			if err := atomicfile.WriteBytes(filepath.Join(figDir, name), b); err != nil {
				return nil, err
			}
			written = append(written, filepath.Join(t.Name, name))
		}
	}
	if t.Name == "cost" {
		return written, nil
	}
	if t.Name == "dims" {
		w, err := dimsPlots(figDir, t, results)
		if err != nil {
			return nil, err
		}
		for _, f := range w {
			written = append(written, filepath.Join(t.Name, f))
		}
		return written, nil
	}
	imageTable := len(t.Metrics) > 0 && t.Metrics[0] == "image_auroc"
	pixelTable := slices.Contains(t.Metrics, "pixel_auroc")
	proTable := slices.Contains(t.Metrics, "pro")
	for _, ds := range order {
		ms := byDataset[ds]
		plots := []struct {
			kind, title, x, y, metric string
			curves                    func(*methodCurves) ([]chart.Series, []float64)
			ax                        axes
			want                      bool
		}{
			{"roc", "Image ROC", "false positive rate (fraction of normal images)", "true positive rate (fraction of anomalous images)", "image AUROC",
				func(m *methodCurves) ([]chart.Series, []float64) { return m.roc, m.image }, axes{chart.Range{Min: 0, Max: 1}, chart.Range{Min: 0, Max: 1.02}}, imageTable},
			{"pixel-roc", "Pixel ROC", "false positive rate (fraction of normal pixels)", "true positive rate (fraction of anomalous pixels)", "pixel AUROC",
				func(m *methodCurves) ([]chart.Series, []float64) { return m.pixelROC, m.pixel }, axes{chart.Range{Min: 0, Max: 1}, chart.Range{Min: 0, Max: 1.02}}, pixelTable},
			{"pro", "PRO curve", fmt.Sprintf("false positive rate (fraction of normal pixels), to %.1f", PROPlotLimit), "per-region overlap (mean fraction of each defect region)", "AU-PRO",
				func(m *methodCurves) ([]chart.Series, []float64) { return m.pro, m.proValues }, axes{chart.Range{Min: 0, Max: PROPlotLimit}, chart.Range{Min: 0, Max: 1.02}}, proTable},
		}
		for _, pl := range plots {
			if !pl.want {
				continue
			}
			var series []chart.Series
			for i, m := range ms {
				cs, vals := pl.curves(m)
				for j, c := range cs {
					c.Style, c.LineWidth = i, chart.LineWidth
					if len(cs) > 1 {
						c.LineWidth = seedLineWidth
					}
					if j == 0 {
						c.Name = legendName(m.method, pl.metric, vals)
					}
					series = append(series, c)
				}
			}
			if len(series) == 0 {
				continue
			}
			name := pl.kind + "-" + fileName(ds) + ".png"
			title := pl.title + ", " + ds
			ax := pl.ax
			if pl.kind != "pro" {
				if z, ok := rocZoom(ms, pl.curves); ok {
					ax = z
					title = fmt.Sprintf("%s (zoomed: FPR ≤ %.2g, TPR ≥ %.2g)", title, z.x.Max, z.y.Min)
				}
			}
			if t.Name == "rd-mvtec" {
				title += " (one curve per dataset version)"
			} else if hasSeeds(ms, pl.curves) {
				title += " (one curve per channel draw)"
			}
			if err := figure(title, pl.x, pl.y, series, ax).WritePNG(filepath.Join(figDir, name)); err != nil {
				return nil, err
			}
			written = append(written, filepath.Join(t.Name, name))
		}
	}
	return written, nil
}

// rocZoom returns axes that show the top-left corner of ROC curves whose
// areas are all high, where a full 0-1 plot shows only the axes.
func rocZoom(ms []*methodCurves, curves func(*methodCurves) ([]chart.Series, []float64)) (axes, bool) {
	lowest := 1.0
	n := 0
	for _, m := range ms {
		_, vals := curves(m)
		for _, v := range vals {
			lowest = math.Min(lowest, v)
			n++
		}
	}
	var z axes
	switch {
	case n == 0 || lowest < 0.9:
		return axes{}, false
	case lowest >= 0.99:
		z = axes{chart.Range{Min: 0, Max: 0.05}, chart.Range{Min: 0.8, Max: 1.005}}
	case lowest >= 0.97:
		z = axes{chart.Range{Min: 0, Max: 0.2}, chart.Range{Min: 0.7, Max: 1.005}}
	default:
		z = axes{chart.Range{Min: 0, Max: 0.4}, chart.Range{Min: 0.5, Max: 1.005}}
	}
	// With few normal images one false positive is a large FPR step (0.05
	// for bottle's 20). A zoom that ends at or just past the first step
	// draws the curves' rise on the frame, where it reads as a box: keep
	// two steps in view.
	if step := smallestStep(ms, curves); z.x.Max < 2*step {
		z.x.Max = math.Min(1, 2*step)
	}
	return z, true
}

// smallestStep is the smallest positive false positive rate any curve
// reaches: one normal image's share of the normal images.
func smallestStep(ms []*methodCurves, curves func(*methodCurves) ([]chart.Series, []float64)) float64 {
	step := 1.0
	for _, m := range ms {
		cs, _ := curves(m)
		for _, c := range cs {
			for _, x := range c.X {
				if x > 0 {
					step = math.Min(step, x)
				}
			}
		}
	}
	return step
}

func hasSeeds(ms []*methodCurves, curves func(*methodCurves) ([]chart.Series, []float64)) bool {
	for _, m := range ms {
		if cs, _ := curves(m); len(cs) > 1 {
			return true
		}
	}
	return false
}

// legendName is "method: METRIC 0.981" or, over several seeds, "method:
// METRIC 0.981 ± 0.004 (5 seeds)".
func legendName(method, metric string, vals []float64) string {
	if len(vals) == 0 {
		return method
	}
	mean, sd := meanSD(vals)
	if len(vals) == 1 {
		return fmt.Sprintf("%s: %s %.3f", method, metric, mean)
	}
	return fmt.Sprintf("%s: %s %.3f ± %.3f (%d)", method, metric, mean, sd, len(vals))
}

func readCurves(path string) (Curves, error) {
	var c Curves
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

var dimRow = regexp.MustCompile(`^PaDiM-R18 (random|PCA) d=(\d+)$`)

// allChannelsRow is the dimension table's row without reduction.
const allChannelsRow = "PaDiM-R18 all 448"

// dimsPlots draws, per dataset (and per mean over MVTec AD classes), pixel
// AUROC and PRO against d for the random subset (mean ± sd over seeds) and
// PCA, the all-448-channels point, and the paper's points where it has them.
// Datasets without masks get image AUROC instead.
func dimsPlots(figDir string, t Table, results []*Result) ([]string, error) {
	paper, err := PaperValues()
	if err != nil {
		return nil, err
	}
	rows := Rows(t, results, paper)
	type curve struct{ x, y, e []float64 }
	type dsPlot struct {
		curves    map[string]*curve // "random|pixel_auroc" ...
		all       map[string]float64
		paper     map[string]*curve
		imageOnly bool
	}
	plots := map[string]*dsPlot{}
	var order []string
	get := func(ds string) *dsPlot {
		p, ok := plots[ds]
		if !ok {
			p = &dsPlot{curves: map[string]*curve{}, all: map[string]float64{}, paper: map[string]*curve{}}
			plots[ds] = p
			order = append(order, ds)
		}
		return p
	}
	add := func(m map[string]*curve, k string, x, y, e float64) {
		if m[k] == nil {
			m[k] = &curve{}
		}
		m[k].x, m[k].y, m[k].e = append(m[k].x, x), append(m[k].y, y), append(m[k].e, e)
	}
	for _, r := range rows {
		// The texture and object means repeat the overall mean's classes here.
		if r.PaperOnly || strings.HasPrefix(r.Dataset, "mean-") {
			continue
		}
		ds := r.Dataset
		metrics := []string{"pixel_auroc", "pro"}
		if r.Runs > 0 && r.Measured["pixel_auroc"] == nil && r.Measured["image_auroc"] != nil {
			metrics = []string{"image_auroc"}
			get(ds).imageOnly = true
		}
		if r.Method == allChannelsRow {
			for _, m := range metrics {
				if v := r.Measured[m]; v != nil {
					get(ds).all[m] = *v
				}
			}
			continue
		}
		sm := dimRow.FindStringSubmatch(r.Method)
		if sm == nil {
			continue
		}
		d, _ := strconv.Atoi(sm[2])
		for _, m := range metrics {
			if v := r.Measured[m]; v != nil {
				e := 0.0
				if sd := r.SD[m]; sd != nil {
					e = *sd
				}
				add(get(ds).curves, sm[1]+"|"+m, float64(d), *v, e)
			}
			if v := r.Paper[m]; v != nil {
				add(get(ds).paper, sm[1]+"|"+m, float64(d), *v, 0)
			}
		}
	}
	metricName := map[string]string{"pixel_auroc": "pixel AUROC", "pro": "PRO", "image_auroc": "image AUROC"}
	var written []string
	for _, ds := range order {
		p := plots[ds]
		if len(p.curves) == 0 {
			continue
		}
		metrics := []string{"pixel_auroc", "pro"}
		if p.imageOnly {
			metrics = []string{"image_auroc"}
		}
		for _, m := range metrics {
			var sets []chart.Series
			lo, hi := math.Inf(1), math.Inf(-1)
			span := func(y, e float64) {
				lo, hi = math.Min(lo, y-e), math.Max(hi, y+e)
			}
			for ki, kind := range []string{"random", "PCA"} {
				c := p.curves[kind+"|"+m]
				if c == nil {
					continue
				}
				sortCurve(c.x, c.y, c.e)
				name, shape := "PCA", draw.GlyphDrawer(draw.BoxGlyph{})
				if kind == "random" {
					name, shape = randomSubsetLegend(c.e), draw.CircleGlyph{}
				}
				sets = append(sets, chart.Series{Name: name, X: c.x, Y: c.y, YErr: c.e, Style: ki, LineWidth: chart.LineWidth, Marker: shape, MarkerRadius: chart.MarkerRadius})
				for i := range c.y {
					span(c.y[i], c.e[i])
				}
			}
			if v, ok := p.all[m]; ok {
				sets = append(sets, chart.Series{Name: "all 448 channels", X: []float64{448}, Y: []float64{v}, Style: 2, NoLine: true, Marker: draw.PyramidGlyph{}, MarkerRadius: chart.MarkerRadius})
				span(v, 0)
			}
			for ki, kind := range []string{"random", "PCA"} {
				if c := p.paper[kind+"|"+m]; c != nil {
					name := "paper, random subset (MVTec AD, 15 classes)"
					if kind == "PCA" {
						name = "paper, PCA (MVTec AD, 15 classes)"
					}
					sets = append(sets, chart.Series{Name: name, X: c.x, Y: c.y, Style: ki, NoLine: true, Marker: draw.CrossGlyph{}, MarkerRadius: chart.MarkerRadius})
					for _, y := range c.y {
						span(y, 0)
					}
				}
			}
			if len(sets) == 0 {
				continue
			}
			// Room under the data for the legend.
			ax := axes{chart.Range{Min: 0, Max: 470}, chart.Range{Min: math.Max(0, lo-math.Max(0.01, (hi-lo)*0.6)), Max: math.Min(1.005, hi+math.Max(0.005, (hi-lo)*0.08))}}
			ylabel := map[string]string{"pixel_auroc": "pixel AUROC (1 = perfect)", "pro": "PRO: AU-PRO to FPR 0.3, normalised (1 = perfect)", "image_auroc": "image AUROC (1 = perfect)"}[m]
			name := "dims-" + fileName(ds) + ".png"
			if m != "pixel_auroc" {
				name = "dims-" + strings.ReplaceAll(m, "_", "-") + "-" + fileName(ds) + ".png"
			}
			title := fmt.Sprintf("%s vs kept channels, ResNet-18 layers 1-3, %s", metricName[m], ds)
			f := figure(title, "kept channels d (of 448; ticks at the measured d)", ylabel, sets, ax)
			f.XTicksAtData = true
			if err := f.WritePNG(filepath.Join(figDir, name)); err != nil {
				return nil, err
			}
			written = append(written, name)
		}
	}
	return written, nil
}

// randomSubsetLegend names the random-subset curve of a dimension plot
// after what it draws: the mean over seeds, with error bars of one sd only
// where a point has them. Means over MVTec AD classes carry no sd, and a
// legend promising one beside bars that are not there misleads.
func randomSubsetLegend(sd []float64) string {
	for _, e := range sd {
		if e > 0 {
			return "random subset (mean ± sd over seeds)"
		}
	}
	return "random subset (mean over seeds)"
}

func sortCurve(x, y, e []float64) {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return x[idx[a]] < x[idx[b]] })
	x2, y2, e2 := make([]float64, len(x)), make([]float64, len(x)), make([]float64, len(x))
	for i, j := range idx {
		x2[i], y2[i], e2[i] = x[j], y[j], e[j]
	}
	copy(x, x2)
	copy(y, y2)
	copy(e, e2)
}
