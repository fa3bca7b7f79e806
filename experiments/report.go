package experiments

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strings"

	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/internal/atomicfile"
	"github.com/padim-go/padim/internal/table"
)

// Row is one line of a rendered table: a method on a dataset (a category,
// or a mean over categories), its measured metrics averaged over seeds, and
// the paper's values where the paper has them.
type Row struct {
	Dataset  string
	Method   string
	Measured map[string]*float64
	Paper    map[string]*float64
	Runs     int // finished runs behind the row
	Missing  int // declared runs that could not run
	Partial  bool
}

// groupKey identifies the runs that are averaged into one row.
func groupKey(r Run) string {
	d := r.Dataset
	d.Seed = 0
	return r.Row + "\x00" + d.String()
}

func datasetLabel(d DatasetSpec) string {
	d.Seed = 0
	s := d.Kind
	if d.Category != "" {
		s = d.Category
		if d.Kind != "mvtec" {
			s = d.Kind + "/" + d.Category
		}
	}
	if d.Limit > 0 {
		s += fmt.Sprintf(" (first %d)", d.Limit)
	}
	return s
}

// Rows aggregates a table's results into rows, in declaration order, with
// per-method means over MVTec AD classes appended when the table has them.
func Rows(t Table, results []*Result, paper []PaperValue) []Row {
	idx := paperIndex(paper)
	type acc struct {
		row  Row
		sums map[string]float64
		cnt  map[string]int
	}
	var order []string
	groups := map[string]*acc{}
	for _, res := range results {
		k := groupKey(res.Run)
		g, ok := groups[k]
		if !ok {
			g = &acc{row: Row{Dataset: datasetLabel(res.Run.Dataset), Method: res.Run.Row, Measured: map[string]*float64{}, Paper: map[string]*float64{}},
				sums: map[string]float64{}, cnt: map[string]int{}}
			groups[k] = g
			order = append(order, k)
			pd := res.Run.Dataset.Kind
			for _, m := range t.Metrics {
				if v, ok := idx[paperKey{t.PaperTable, pd, res.Run.Dataset.Category, res.Run.Row, m}]; ok && t.PaperTable != "" && res.Run.Dataset.Limit == 0 {
					val := v.Value
					g.row.Paper[m] = &val
				}
			}
		}
		if res.Status != "ok" {
			g.row.Missing++
			continue
		}
		g.row.Runs++
		for _, m := range t.Metrics {
			if v := res.Metric(m); v != nil {
				g.sums[m] += *v
				g.cnt[m]++
			}
		}
	}
	var rows []Row
	for _, k := range order {
		g := groups[k]
		for _, m := range t.Metrics {
			if g.cnt[m] > 0 && g.row.Missing == 0 {
				v := g.sums[m] / float64(g.cnt[m])
				g.row.Measured[m] = &v
			}
		}
		rows = append(rows, g.row)
	}
	return append(rows, mvtecMeans(t, rows, idx)...)
}

// mvtecMeans appends, for each method, the mean over texture classes,
// object classes and all classes that ran, as the paper reports them.
func mvtecMeans(t Table, rows []Row, idx map[paperKey]PaperValue) []Row {
	var methods []string
	seen := map[string]bool{}
	isCat := map[string]bool{}
	for _, c := range datasets.MVTecCategories {
		isCat[c] = true
		isCat["rd-mvtec/"+c] = true
	}
	for _, r := range rows {
		if isCat[r.Dataset] && !seen[r.Method] {
			seen[r.Method] = true
			methods = append(methods, r.Method)
		}
	}
	dataset := "mvtec"
	if t.Name == "rd-mvtec" {
		dataset = "rd-mvtec"
	}
	var out []Row
	for _, method := range methods {
		for _, grp := range []struct {
			name string
			keep func(string) bool
		}{
			{"mean-textures", datasets.IsMVTecTexture},
			{"mean-objects", func(c string) bool { return !datasets.IsMVTecTexture(c) }},
			{"mean", func(string) bool { return true }},
		} {
			mean := Row{Method: method, Measured: map[string]*float64{}, Paper: map[string]*float64{}}
			n, declared := 0, 0
			for _, m := range t.Metrics {
				var s float64
				k := 0
				for _, r := range rows {
					cat := strings.TrimPrefix(r.Dataset, "rd-mvtec/")
					if r.Method != method || !isCat[r.Dataset] || !grp.keep(cat) {
						continue
					}
					if v := r.Measured[m]; v != nil {
						s += *v
						k++
					}
				}
				if k > 0 {
					v := s / float64(k)
					mean.Measured[m] = &v
				}
				if k > n {
					n = k
				}
				if v, ok := idx[paperKey{t.PaperTable, dataset, grp.name, method, m}]; ok && t.PaperTable != "" {
					val := v.Value
					mean.Paper[m] = &val
				}
			}
			for _, c := range datasets.MVTecCategories {
				if grp.keep(c) {
					declared++
				}
			}
			mean.Runs = n
			mean.Partial = n < declared
			mean.Dataset = fmt.Sprintf("%s (%d/%d classes)", grp.name, n, declared)
			if n == 0 && len(mean.Paper) == 0 {
				continue
			}
			out = append(out, mean)
		}
	}
	return out
}

func fmtMetric(metric string, v *float64) string {
	if v == nil {
		return "–"
	}
	switch metric {
	case "inference_seconds":
		return fmt.Sprintf("%.3f s", *v)
	case "model_bytes":
		return fmt.Sprintf("%.2f GB", *v/1e9)
	}
	return fmt.Sprintf("%.3f", *v)
}

func fmtDiff(metric string, measured, paper *float64, partial bool) string {
	if measured == nil || paper == nil || partial {
		return "–"
	}
	d := *measured - *paper
	if metric == "model_bytes" {
		d = *measured/1e9 - *paper
		return fmt.Sprintf("%+.2f GB", d)
	}
	if math.Abs(d) < 0.0005 {
		return "0.000"
	}
	return fmt.Sprintf("%+.3f", d)
}

// paperMetricValue converts a paper value to the unit the table shows.
func header(t Table) []string {
	h := []string{"dataset", "method"}
	for _, m := range t.Metrics {
		h = append(h, m, "paper", "Δ")
	}
	return h
}

func cells(t Table, r Row) []string {
	c := []string{r.Dataset, r.Method}
	for _, m := range t.Metrics {
		paper := r.Paper[m]
		if paper != nil && m == "model_bytes" {
			v := *paper * 1e9 // the paper gives GB
			paper = &v
		}
		c = append(c, fmtMetric(m, r.Measured[m]), fmtMetric(m, paper), fmtDiff(m, r.Measured[m], r.Paper[m], r.Partial))
	}
	if r.Missing > 0 && r.Runs == 0 {
		c[2] = "not run"
	}
	return c
}

// WriteTable renders t's rows as Markdown (NAME.md) and CSV (NAME.csv) in dir.
func WriteTable(dir string, t Table, results []*Result, paper []PaperValue) error {
	rows := Rows(t, results, paper)
	var md bytes.Buffer
	fmt.Fprintf(&md, "# %s\n\n", t.Title)
	fmt.Fprintf(&md, "Generated by `padim reproduce`; measured values beside the paper's (Δ = measured − paper; – where undefined, not run, or averaged over fewer classes than the paper).\n\n")
	tbl := table.Table{Header: header(t)}
	for _, r := range rows {
		tbl.Append(cells(t, r)...)
	}
	if err := tbl.Markdown(&md); err != nil {
		return err
	}
	if len(t.Notes) > 0 {
		md.WriteString("\n")
		for _, n := range t.Notes {
			fmt.Fprintf(&md, "- %s\n", n)
		}
	}
	writeNotRun(&md, results)
	if err := atomicfile.WriteBytes(filepath.Join(dir, t.Name+".md"), md.Bytes()); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, t.Name+".csv"), tbl.CSV)
}

// writeNotRun lists the runs that could not run, why, and what fetches the missing inputs.
func writeNotRun(w io.Writer, results []*Result) {
	type miss struct{ reason, fetch string }
	byReason := map[miss][]string{}
	var keys []miss
	for _, r := range results {
		if r.Status == "ok" {
			continue
		}
		m := miss{r.Reason, r.Fetch}
		if _, ok := byReason[m]; !ok {
			keys = append(keys, m)
		}
		byReason[m] = append(byReason[m], r.Run.Row)
	}
	if len(keys) == 0 {
		return
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].reason < keys[j].reason })
	fmt.Fprintf(w, "\n## Not run here\n\n")
	for _, k := range keys {
		rows := dedup(byReason[k])
		fetch := ""
		if k.fetch != "" {
			fetch = fmt.Sprintf(" To get it: `%s`.", k.fetch)
			if strings.HasPrefix(k.fetch, "see ") {
				fetch = fmt.Sprintf(" To get it: %s.", k.fetch)
			}
		}
		fmt.Fprintf(w, "- %s (%d runs: %s).%s\n", k.reason, len(byReason[k]), strings.Join(rows, ", "), fetch)
	}
}

func dedup(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
