package experiments

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/padim-go/padim/internal/atomicfile"
)

// heatmapTables are the tables whose runs contribute heatmap grids to the report.
var heatmapTables = map[string]bool{"localization": true, "magnetic-tile": true, "synthetic": true, "rd-mvtec": true, "stc": true}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func fileName(s string) string {
	return strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

// WriteFigures draws, for table t, ROC and PRO curves per dataset (one curve
// per method, first seed), the dimension ablation plot, and copies heatmap
// grids. It returns the files written, relative to dir.
func WriteFigures(dir, cacheDir string, t Table, results []*Result) ([]string, error) {
	figDir := filepath.Join(dir, t.Name)
	var written []string
	type curveSet struct{ roc, pro []Series }
	byDataset := map[string]*curveSet{}
	var order []string
	seen := map[string]bool{}
	for _, r := range results {
		if r.Status != "ok" {
			continue
		}
		ds := datasetLabel(r.Run.Dataset)
		k := ds + "\x00" + r.Run.Row
		if seen[k] { // first seed only
			continue
		}
		seen[k] = true
		c, err := readCurves(filepath.Join(cacheDir, r.Key, "curves.json"))
		if err != nil {
			return nil, err
		}
		cs, ok := byDataset[ds]
		if !ok {
			cs = &curveSet{}
			byDataset[ds] = cs
			order = append(order, ds)
		}
		if len(c.ROCFPR) > 0 {
			cs.roc = append(cs.roc, Series{Name: r.Run.Row, X: c.ROCFPR, Y: c.ROCTPR})
		}
		if len(c.PROFPR) > 0 {
			cs.pro = append(cs.pro, Series{Name: r.Run.Row, X: c.PROFPR, Y: c.PRO})
		}
		if heatmapTables[t.Name] && slices.Contains(r.Artifacts, "heatmaps.png") {
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
	for _, ds := range order {
		cs := byDataset[ds]
		if len(cs.roc) > 0 && !strings.HasPrefix(t.Name, "dims") {
			name := "roc-" + fileName(ds) + ".png"
			if err := PlotLines(filepath.Join(figDir, name), "Image ROC, "+ds, "false positive rate", "true positive rate", cs.roc, 1); err != nil {
				return nil, err
			}
			written = append(written, filepath.Join(t.Name, name))
		}
		if len(cs.pro) > 0 && !strings.HasPrefix(t.Name, "dims") {
			name := "pro-" + fileName(ds) + ".png"
			if err := PlotLines(filepath.Join(figDir, name), "PRO curve, "+ds, "false positive rate", "per-region overlap", cs.pro, PROPlotLimit); err != nil {
				return nil, err
			}
			written = append(written, filepath.Join(t.Name, name))
		}
	}
	if t.Name == "dims" {
		w, err := dimsPlots(figDir, t, results)
		if err != nil {
			return nil, err
		}
		for _, f := range w {
			written = append(written, filepath.Join(t.Name, f))
		}
	}
	return written, nil
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

// dimsPlots draws metric against d for the random subset and PCA, per dataset.
func dimsPlots(figDir string, t Table, results []*Result) ([]string, error) {
	rows := Rows(t, results, nil)
	type pt struct{ d, v float64 }
	curves := map[string]map[string][]pt{} // dataset -> method -> points
	var dsOrder []string
	for _, r := range rows {
		m := dimRow.FindStringSubmatch(r.Method)
		if m == nil {
			continue
		}
		metric := "pixel_auroc"
		if r.Measured[metric] == nil {
			metric = "image_auroc"
		}
		v := r.Measured[metric]
		if v == nil {
			continue
		}
		d, _ := strconv.Atoi(m[2])
		key := r.Dataset + "|" + metric
		if curves[key] == nil {
			curves[key] = map[string][]pt{}
			dsOrder = append(dsOrder, key)
		}
		curves[key][m[1]] = append(curves[key][m[1]], pt{float64(d), *v})
	}
	var written []string
	for _, key := range dsOrder {
		ds, metric, _ := strings.Cut(key, "|")
		var series []Series
		for _, method := range []string{"random", "PCA"} {
			p := curves[key][method]
			sort.Slice(p, func(i, j int) bool { return p[i].d < p[j].d })
			s := Series{Name: method}
			for _, q := range p {
				s.X, s.Y = append(s.X, q.d), append(s.Y, q.v)
			}
			if len(p) > 0 {
				series = append(series, s)
			}
		}
		name := "dims-" + fileName(ds) + ".png"
		if err := PlotLines(filepath.Join(figDir, name), metric+" vs d, "+ds, "kept dimensions d", metric, series, 0); err != nil {
			return nil, err
		}
		written = append(written, name)
	}
	return written, nil
}
