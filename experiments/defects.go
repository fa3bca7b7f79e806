package experiments

import (
	"fmt"
	"io"
	"regexp"
)

// DefectRow is one method's metrics on one defect type of a dataset, mean
// and standard deviation over the seeds of its row.
type DefectRow struct {
	Dataset, Method, Defect string
	Anomalous               int
	Measured, SD            map[string]*float64
	Runs                    int
}

// DefectRows aggregates the per-defect metrics of t's finished runs, in
// declaration order of rows and test order of defect types.
func DefectRows(t Table, results []*Result) []DefectRow {
	var groups seedGroups[DefectRow]
	for _, res := range results {
		if res.Status != "ok" {
			continue
		}
		for _, d := range res.PerDefect {
			g := groups.get(groupKey(res.Run)+"\x00"+d.Defect, func() DefectRow {
				return DefectRow{Dataset: datasetLabel(res.Run.Dataset), Method: res.Run.Row, Defect: d.Defect, Anomalous: d.Anomalous,
					Measured: map[string]*float64{}, SD: map[string]*float64{}}
			})
			g.row.Runs++
			g.vals.add(t.Metrics, d.Metric)
		}
	}
	var out []DefectRow
	for _, g := range groups.order {
		g.vals.fill(t.Metrics, g.row.Measured, g.row.SD)
		out = append(out, g.row)
	}
	return out
}

// defectTableRow keeps the per-defect Markdown of the dimension table to the
// paper's d = 100 and to all channels (the CSV has every row).
var defectTableRow = regexp.MustCompile(`d=100$|all 448$`)

// writeDefectTables writes one small table per dataset: each method's
// metrics per defect type.
func writeDefectTables(w io.Writer, t Table, rows []DefectRow) error {
	var metrics []string
	for _, m := range t.Metrics {
		if m == "image_auroc" || m == "pixel_auroc" || m == "pro" {
			metrics = append(metrics, m)
		}
	}
	if len(rows) == 0 || len(metrics) == 0 {
		return nil
	}
	var dsOrder []string
	byDS := map[string][]DefectRow{}
	for _, r := range rows {
		if t.Name == "dims" && !defectTableRow.MatchString(r.Method) {
			continue
		}
		if _, ok := byDS[r.Dataset]; !ok {
			dsOrder = append(dsOrder, r.Dataset)
		}
		byDS[r.Dataset] = append(byDS[r.Dataset], r)
	}
	fmt.Fprintf(w, "\n## Per defect type\n\nEach defect type's anomalous test images scored against all normal test images of the dataset (mean ± sd over seeds where a row has several).")
	if t.Name == "dims" {
		fmt.Fprintf(w, " Here only d = 100 and all 448 channels; %s.csv has every row.", t.Name)
	}
	fmt.Fprintf(w, "\n")
	for _, ds := range dsOrder {
		fmt.Fprintf(w, "\n### %s\n\n", ds)
		head := []string{"method", "defect type", "images"}
		head = append(head, metrics...)
		var body [][]string
		for _, r := range byDS[ds] {
			c := []string{r.Method, r.Defect, fmt.Sprint(r.Anomalous)}
			for _, m := range metrics {
				c = append(c, measuredCell(t, Row{Measured: r.Measured, SD: r.SD, Runs: r.Runs}, m))
			}
			body = append(body, c)
		}
		if err := renderMarkdown(w, head, body); err != nil {
			return err
		}
	}
	return nil
}
