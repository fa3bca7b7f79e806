package experiments

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/internal/atomicfile"
	"github.com/padim-go/padim/internal/table"
)

// Row is one line of a rendered table: a method on a dataset (a category,
// or a mean over categories), its measured metrics (mean over seeds, with
// their standard deviation when there are several), and the paper's values
// where the paper has them.
type Row struct {
	Dataset  string
	Method   string
	Measured map[string]*float64
	// SD is the sample standard deviation over the seeds behind Measured
	// (channel draws, or Rd-MVTec AD versions); nil with one seed.
	SD map[string]*float64
	// Paper values, and the published value each comes from.
	Paper    map[string]*float64
	PaperRef map[string]PaperValue
	Runs     int // finished runs behind the row (seeds, or classes for a mean)
	Missing  int // declared runs that could not run
	Partial  bool
	// Declared is, for a mean row, how many classes the paper averages.
	Declared int
	// Empty says why a measured cell without a value is empty when the
	// whole row did not run ("not run: missing weights", "not run: missing data").
	Empty string
	// PaperOnly marks a row holding paper values no declared run matches.
	PaperOnly bool
}

// groupKey identifies the runs that are averaged into one row.
func groupKey(r Run) string {
	d := r.Dataset
	d.Seed = 0
	return r.Row + "\x00" + d.String()
}

func datasetLabel(d DatasetSpec) string {
	d.Seed = 0
	s := string(d.Kind)
	if d.Category != "" {
		s = d.Category
		if d.Kind != KindMVTec {
			s = string(d.Kind) + "/" + d.Category
		}
	}
	if d.Limit > 0 {
		s += fmt.Sprintf(" (first %d)", d.Limit)
	}
	return s
}

// timingSuffix marks cost rows measured with untrained weights; the paper's
// value of the method it times sits beside it.
const timingSuffix = " (untrained weights: timing only)"

// paperLookup finds the paper value for a cell of table t.
func paperLookup(idx map[paperKey]PaperValue, t Table, dataset, category, method, metric string) (PaperValue, bool) {
	if t.PaperTable == "" {
		return PaperValue{}, false
	}
	method = strings.TrimSuffix(method, timingSuffix)
	if t.Name == "cost" {
		// The paper's costs are per MVTec AD image and per model, whatever class timed them.
		category, dataset = "per-image", "mvtec"
		if metric == "model_bytes" {
			category, metric = "model", "memory_gb"
		}
	}
	v, ok := idx[paperKey{t.PaperTable, dataset, category, method, metric}]
	return v, ok
}

func (r *Row) setPaper(m string, v PaperValue) {
	val := v.Value
	if m == "model_bytes" {
		val *= 1e9 // the paper gives GB
	}
	r.Paper[m] = &val
	r.PaperRef[m] = v
}

func newRow(dataset, method string) Row {
	return Row{Dataset: dataset, Method: method, Measured: map[string]*float64{}, SD: map[string]*float64{},
		Paper: map[string]*float64{}, PaperRef: map[string]PaperValue{}}
}

// shortReason turns a not-run reason into the few words a table cell holds.
func shortReason(reason string) string {
	switch {
	case strings.Contains(reason, "weights") || strings.Contains(reason, "lacks a layer"):
		return "not run: missing weights"
	case strings.Contains(reason, "not found"):
		return "not run: missing data"
	}
	return "not run"
}

// Rows aggregates a table's results into rows, in declaration order, with
// per-method means over MVTec AD classes (or STC scenes) appended when the
// table has them, and a row for every paper value of the table that no
// declared run matches.
func Rows(t Table, results []*Result, paper []PaperValue) []Row {
	idx := paperIndex(paper)
	var groups seedGroups[Row]
	for _, res := range results {
		g := groups.get(groupKey(res.Run), func() Row {
			r := newRow(datasetLabel(res.Run.Dataset), res.Run.Row)
			if res.Run.Dataset.Limit == 0 {
				for _, m := range t.Metrics {
					if v, ok := paperLookup(idx, t, string(res.Run.Dataset.Kind), res.Run.Dataset.Category, res.Run.Row, m); ok {
						r.setPaper(m, v)
					}
				}
			}
			return r
		})
		if res.Status != "ok" {
			g.row.Missing++
			if g.row.Empty == "" {
				g.row.Empty = shortReason(res.Reason)
			}
			continue
		}
		g.row.Runs++
		g.vals.add(t.Metrics, res.Metric)
	}
	var rows []Row
	for _, g := range groups.order {
		if g.row.Missing == 0 { // a partial row shows no numbers
			g.vals.fill(t.Metrics, g.row.Measured, g.row.SD)
		}
		if g.row.Missing > 0 && g.row.Runs > 0 {
			g.row.Empty = fmt.Sprintf("partial: %d of %d runs", g.row.Runs, g.row.Runs+g.row.Missing)
		}
		rows = append(rows, g.row)
	}
	rows = append(rows, groupMeans(t, rows, idx)...)
	return append(rows, paperOnlyRows(t, rows, paper)...)
}

// seedGroups gathers the runs averaged into each row of type R (Row,
// DefectRow), by the row's key, in order of first appearance.
type seedGroups[R any] struct {
	order []*seedGroup[R]
	byKey map[string]*seedGroup[R]
}

// seedGroup is one row being built and its runs' metric values.
type seedGroup[R any] struct {
	row  R
	vals seedValues
}

// get returns the group of key k, started with newRow() the first time.
func (gs *seedGroups[R]) get(k string, newRow func() R) *seedGroup[R] {
	if g, ok := gs.byKey[k]; ok {
		return g
	}
	if gs.byKey == nil {
		gs.byKey = map[string]*seedGroup[R]{}
	}
	g := &seedGroup[R]{row: newRow(), vals: seedValues{}}
	gs.byKey[k] = g
	gs.order = append(gs.order, g)
	return g
}

// seedValues holds, per metric, the values of the runs averaged into one
// row (its seeds).
type seedValues map[string][]float64

// add appends the metrics that metric reports for one run; nil (undefined)
// values are left out.
func (s seedValues) add(metrics []string, metric func(string) *float64) {
	for _, m := range metrics {
		if v := metric(m); v != nil {
			s[m] = append(s[m], *v)
		}
	}
}

// fill sets measured to each metric's mean over its values and sd to their
// sample standard deviation where there are several; a metric without
// values is left unset in both.
func (s seedValues) fill(metrics []string, measured, sd map[string]*float64) {
	for _, m := range metrics {
		if len(s[m]) == 0 {
			continue
		}
		mean, dev := meanSD(s[m])
		measured[m] = &mean
		if len(s[m]) > 1 {
			sd[m] = &dev
		}
	}
}

// meanSD returns the mean and the sample standard deviation (n-1).
func meanSD(v []float64) (float64, float64) {
	var s float64
	for _, x := range v {
		s += x
	}
	mean := s / float64(len(v))
	if len(v) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(v)-1))
}

// meanGroup is one mean the paper reports: its name in paper_values.json and
// the classes it averages.
type meanGroup struct {
	name    string
	members []string
}

// meanGroups returns the dataset the table's means are keyed under in
// paper_values.json, the label prefix of its class rows, and its groups.
func meanGroups(t Table) (dataset, prefix string, groups []meanGroup) {
	switch t.Name {
	case "cost":
		return "", "", nil
	case "stc":
		return "stc", "stc/", []meanGroup{{"all", STCScenes}}
	}
	var tex, obj []string
	for _, c := range datasets.MVTecCategories {
		if datasets.IsMVTecTexture(c) {
			tex = append(tex, c)
		} else {
			obj = append(obj, c)
		}
	}
	dataset = "mvtec"
	if t.Name == "rd-mvtec" {
		dataset, prefix = "rd-mvtec", "rd-mvtec/"
	}
	return dataset, prefix, []meanGroup{{"mean-textures", tex}, {"mean-objects", obj}, {"mean", datasets.MVTecCategories}}
}

// groupMeans appends, for each method, the means over texture classes,
// object classes and all classes that ran, as the paper reports them (for
// STC, the mean over scenes).
func groupMeans(t Table, rows []Row, idx map[paperKey]PaperValue) []Row {
	dataset, prefix, groups := meanGroups(t)
	if len(groups) == 0 {
		return nil
	}
	isMember := map[string]bool{}
	for _, c := range groups[len(groups)-1].members {
		isMember[prefix+c] = true
	}
	var methods []string
	seen := map[string]bool{}
	for _, r := range rows {
		if isMember[r.Dataset] && !seen[r.Method] {
			seen[r.Method] = true
			methods = append(methods, r.Method)
		}
	}
	var out []Row
	for _, method := range methods {
		for _, grp := range groups {
			in := map[string]bool{}
			for _, c := range grp.members {
				in[prefix+c] = true
			}
			mean := newRow("", method)
			n := 0
			for _, m := range t.Metrics {
				var vals []float64
				for _, r := range rows {
					if r.Method != method || !in[r.Dataset] {
						continue
					}
					if v := r.Measured[m]; v != nil {
						vals = append(vals, *v)
					}
				}
				if len(vals) > 0 {
					v, _ := meanSD(vals)
					mean.Measured[m] = &v
				}
				n = max(n, len(vals))
				if v, ok := paperLookup(idx, t, dataset, grp.name, method, m); ok {
					mean.setPaper(m, v)
				}
			}
			mean.Runs, mean.Declared = n, len(grp.members)
			mean.Partial = n < mean.Declared
			unit := "classes"
			if t.Name == "stc" {
				unit = "scenes"
			}
			mean.Dataset = fmt.Sprintf("%s (%d/%d %s)", grp.name, n, mean.Declared, unit)
			if n == 0 {
				if len(mean.Paper) == 0 {
					continue
				}
				mean.Empty = fmt.Sprintf("not run: 0/%d %s", mean.Declared, unit)
			}
			out = append(out, mean)
		}
	}
	return out
}

// paperOnlyRows holds the paper values of t that no row shows, so every
// published number of the table is printed.
func paperOnlyRows(t Table, rows []Row, paper []PaperValue) []Row {
	if t.PaperTable == "" {
		return nil
	}
	shown := map[PaperValue]bool{}
	for _, r := range rows {
		for _, v := range r.PaperRef {
			shown[v] = true
		}
	}
	var out []Row
	where := map[string]int{}
	for _, v := range paper {
		if v.Table != t.PaperTable || shown[v] {
			continue
		}
		m := v.Metric
		if m == "memory_gb" {
			m = "model_bytes"
		}
		k := v.Dataset + "\x00" + v.Category + "\x00" + v.Method
		i, ok := where[k]
		if !ok {
			r := newRow(paperDatasetLabel(v), v.Method)
			r.PaperOnly, r.Empty = true, "not declared here"
			out = append(out, r)
			i = len(out) - 1
			where[k] = i
		}
		out[i].setPaper(m, v)
	}
	return out
}

var paperDatasetNames = map[string]string{"mvtec": "MVTec AD", "rd-mvtec": "Rd-MVTec AD", "stc": "STC"}

func paperDatasetLabel(v PaperValue) string {
	name := paperDatasetNames[v.Dataset]
	if name == "" {
		name = v.Dataset
	}
	switch v.Category {
	case "per-image", "model", "all", "":
		return name + " (paper)"
	}
	return name + " " + v.Category + " (paper)"
}

func fmtValue(metric string, v float64) string {
	switch metric {
	case "inference_seconds":
		return fmt.Sprintf("%.3f s", v)
	case "model_bytes":
		return fmt.Sprintf("%.2f GB", v/1e9)
	}
	return fmt.Sprintf("%.3f", v)
}

// measuredCell is the measured value, "± sd (n)" over seeds, or why it is empty.
func measuredCell(t Table, r Row, m string) string {
	v := r.Measured[m]
	if v == nil {
		switch {
		case r.Empty != "":
			return r.Empty
		case r.Runs == 0:
			return "not run"
		case m == "pixel_auroc" || m == "pro":
			return "no masks"
		}
		return "undefined"
	}
	s := fmtValue(m, *v)
	if sd := r.SD[m]; sd != nil {
		if m == "inference_seconds" || m == "model_bytes" {
			s += " ± " + strings.TrimSuffix(strings.TrimSuffix(fmtValue(m, *sd), " s"), " GB")
		} else {
			s += fmt.Sprintf(" ± %.3f", *sd)
		}
		s += fmt.Sprintf(" (%d)", r.Runs)
	}
	return s
}

// paperCell is the paper's value with the paper table it comes from, and †
// when it was read from one secondary source.
func paperCell(r Row, m string) string {
	v := r.Paper[m]
	if v == nil {
		return "–"
	}
	ref := r.PaperRef[m]
	mark := ref.PaperTable
	if ref.Secondary {
		mark += "†"
	}
	if ref.Note != "" {
		mark += "*"
	}
	return fmtValue(m, *v) + " [" + mark + "]"
}

func diffCell(m string, r Row) string {
	measured, paper := r.Measured[m], r.Paper[m]
	switch {
	case measured == nil || paper == nil:
		return "–"
	case r.Partial:
		return fmt.Sprintf("partial: %d/%d", r.Runs, r.Declared)
	}
	d := *measured - *paper
	switch m {
	case "model_bytes":
		return fmt.Sprintf("%+.2f GB", d/1e9)
	case "inference_seconds":
		return fmt.Sprintf("%+.3f s", d)
	}
	if math.Abs(d) < 0.0005 {
		return "0.000"
	}
	return fmt.Sprintf("%+.3f", d)
}

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
		c = append(c, measuredCell(t, r, m), paperCell(r, m), diffCell(m, r))
	}
	return c
}

// csvHeader has, per metric, the mean, its standard deviation over seeds, the
// number of runs, the paper value, its source table and the difference; and
// a defect column: "all" for a row, the defect type for its per-defect rows.
func csvHeader(t Table) []string {
	h := []string{"dataset", "defect", "method"}
	for _, m := range t.Metrics {
		h = append(h, m, m+"_sd", m+"_n", "paper", "paper_table", "Δ")
	}
	return append(h, "note")
}

func num(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', 6, 64)
}

func csvRow(t Table, r Row) []string {
	c := []string{r.Dataset, "all", r.Method}
	for _, m := range t.Metrics {
		n := ""
		if r.Measured[m] != nil {
			n = strconv.Itoa(r.Runs)
		}
		diff := ""
		if r.Measured[m] != nil && r.Paper[m] != nil && !r.Partial {
			d := *r.Measured[m] - *r.Paper[m]
			diff = num(&d)
		}
		ref := ""
		if _, ok := r.PaperRef[m]; ok {
			ref = r.PaperRef[m].PaperTable
			if r.PaperRef[m].Secondary {
				ref += " (secondary)"
			}
		}
		c = append(c, num(r.Measured[m]), num(r.SD[m]), n, num(r.Paper[m]), ref, diff)
	}
	note := r.Empty
	if r.Partial && r.Runs > 0 {
		note = fmt.Sprintf("mean over %d of the paper's %d", r.Runs, r.Declared)
	}
	return append(c, note)
}

// WriteTable renders t's rows as Markdown (NAME.md) and CSV (NAME.csv) in dir.
func WriteTable(dir string, t Table, results []*Result, paper []PaperValue) error {
	rows := Rows(t, results, paper)
	defects := DefectRows(t, results)
	var md bytes.Buffer
	fmt.Fprintf(&md, "# %s\n\n", t.Title)
	fmt.Fprintf(&md, "Generated by `padim reproduce`; measured values beside the paper's (Δ = measured − paper). "+
		"A measured cell with several seeds reads mean ± standard deviation (number of seeds). "+
		"A paper cell reads value [paper table], † when the value was read from one secondary source (not from the paper itself), * when a note below applies; – means the paper gives no value. "+
		"Δ is – when either side is missing and \"partial\" when the measured mean covers fewer classes than the paper's. "+
		"Empty measured cells say why: not run (missing weights or data), no masks, or not declared here.\n\n")
	if err := renderMarkdown(&md, header(t), rowsCells(t, rows)); err != nil {
		return err
	}
	writeNotes(&md, t, rows)
	if err := writeDefectTables(&md, t, defects); err != nil {
		return err
	}
	if t.Name == "cost" {
		writeMachines(&md, results)
	}
	writeNotRun(&md, results)
	if err := atomicfile.WriteBytes(filepath.Join(dir, t.Name+".md"), md.Bytes()); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, t.Name+".csv"), func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write(csvHeader(t))
		for _, r := range rows {
			cw.Write(csvRow(t, r))
		}
		for _, d := range defects {
			c := []string{d.Dataset, d.Defect, d.Method}
			for _, m := range t.Metrics {
				n := ""
				if d.Measured[m] != nil {
					n = strconv.Itoa(d.Runs)
				}
				c = append(c, num(d.Measured[m]), num(d.SD[m]), n, "", "", "")
			}
			cw.Write(append(c, fmt.Sprintf("%d anomalous images of this type vs all normal test images", d.Anomalous)))
		}
		cw.Flush()
		return cw.Error()
	})
}

func rowsCells(t Table, rows []Row) [][]string {
	var out [][]string
	for _, r := range rows {
		out = append(out, cells(t, r))
	}
	return out
}

func renderMarkdown(w io.Writer, head []string, body [][]string) error {
	return table.Table{Header: head, Rows: body}.Markdown(w)
}

// writeNotes lists the table's notes, then where its paper values come from
// and the notes attached to them.
func writeNotes(w io.Writer, t Table, rows []Row) {
	md := &strings.Builder{}
	for _, n := range t.Notes {
		fmt.Fprintf(md, "- %s\n", n)
	}
	type src struct{ table, source string }
	var srcs []src
	seenSrc := map[src]bool{}
	var notes []string
	noteRows := map[string][]string{}
	for _, r := range rows {
		for _, m := range t.Metrics {
			ref, ok := r.PaperRef[m]
			if !ok {
				continue
			}
			s := src{ref.PaperTable, ref.Source}
			if !seenSrc[s] {
				seenSrc[s] = true
				srcs = append(srcs, s)
			}
			if ref.Note != "" {
				if _, ok := noteRows[ref.Note]; !ok {
					notes = append(notes, ref.Note)
				}
				noteRows[ref.Note] = append(noteRows[ref.Note], fmt.Sprintf("%s %s", r.Method, m))
			}
		}
	}
	for _, s := range srcs {
		fmt.Fprintf(md, "- Paper values [%s]: %s.\n", s.table, strings.TrimSuffix(s.source, "."))
	}
	for _, n := range notes {
		fmt.Fprintf(md, "- * %s (%s).\n", strings.TrimSuffix(n, "."), strings.Join(dedup(noteRows[n]), "; "))
	}
	if md.Len() > 0 {
		fmt.Fprintf(w, "\n%s", md.String())
	}
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

// writeMachines states, for a timing table, the machine, versions, load and
// date of every timed run.
func writeMachines(w io.Writer, results []*Result) {
	var body [][]string
	for _, r := range results {
		if r.Status != "ok" || r.Machine == nil {
			continue
		}
		m := r.Machine
		body = append(body, []string{r.Run.Row, m.Date, m.CPU, fmt.Sprintf("%d / %d", m.Cores, m.Threads), m.Go, m.BLAS, m.LoadStart, m.LoadEnd})
	}
	if len(body) == 0 {
		return
	}
	fmt.Fprintf(w, "\n## Where and when each row was timed\n\n")
	renderMarkdown(w, []string{"row", "date", "CPU", "cores / threads", "Go", "BLAS", "load before (1, 5, 15 min)", "load after"}, body)
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
