package experiments

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryPaperValueAppearsInATable renders every declared table (full
// variant) with no finished run and checks that each value of
// paper_values.json is printed, with its paper table, on a line of its
// method in the table it belongs to.
func TestEveryPaperValueAppearsInATable(t *testing.T) {
	paper, err := PaperValues()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tables := Tables(Options{SyntheticCategories: []string{"stripes"}})
	md := map[string]string{}
	for _, tb := range tables {
		var results []*Result
		for _, run := range tb.Runs {
			results = append(results, &Result{Run: run, Status: "not-run", Reason: "MVTec AD category not found under /data"})
		}
		if err := WriteTable(dir, tb, results, paper); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, tb.Name+".md"))
		if err != nil {
			t.Fatal(err)
		}
		md[tb.PaperTable] = string(b)
	}
	for _, v := range paper {
		if v.PaperTable == "" {
			t.Errorf("%+v: no paper table cited", v)
		}
		metric, val := v.Metric, v.Value
		if metric == "memory_gb" {
			metric, val = "model_bytes", v.Value*1e9
		}
		want := fmtValue(metric, val) + " [" + v.PaperTable
		found := false
		for _, line := range strings.Split(md[v.Table], "\n") {
			if strings.Contains(line, "| "+v.Method) && strings.Contains(line, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("paper value %s %s %s %s %s = %v (%q) is in no row of table %s:\n%s", v.Table, v.Dataset, v.Category, v.Method, v.Metric, v.Value, want, v.Table, md[v.Table])
		}
	}
	// The secondary-source mark and its legend.
	if !strings.Contains(md["localization"], "†]") || !strings.Contains(md["localization"], "Paper values [III]") {
		t.Errorf("localization table marks no secondary source or cites no paper table:\n%s", md["localization"])
	}
}

func TestRowsReportSeedSpreadAndPerDefect(t *testing.T) {
	tb := Table{Name: "magnetic-tile", Metrics: []string{"image_auroc", "pixel_auroc"}}
	var results []*Result
	for i, v := range []float64{0.80, 0.90, 1.00} {
		run := Run{Row: "PaDiM-R18-Rd100", Dataset: DatasetSpec{Kind: "magnetic-tile"}, Model: padimR18(100, int64(i+1))}
		results = append(results, &Result{Run: run, Status: "ok", ImageAUROC: fptr(v), PixelAUROC: fptr(0.7),
			PerDefect: []DefectMetrics{{Defect: "MT_Uneven", Anomalous: 3, ImageAUROC: fptr(v - 0.1), PixelAUROC: fptr(0.6)}}})
	}
	rows := Rows(tb, results, nil)
	if len(rows) != 1 || rows[0].Runs != 3 {
		t.Fatalf("rows = %+v, want one row over 3 seeds", rows)
	}
	if sd := rows[0].SD["image_auroc"]; sd == nil || fmt.Sprintf("%.4f", *sd) != "0.1000" {
		t.Errorf("sd = %v, want the sample sd 0.1 of 0.8, 0.9, 1.0", sd)
	}
	dir := t.TempDir()
	if err := WriteTable(dir, tb, results, nil); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(dir, tb.Name+".md"))
	csvb, _ := os.ReadFile(filepath.Join(dir, tb.Name+".csv"))
	for _, want := range []string{"0.900 ± 0.100 (3)", "## Per defect type", "MT_Uneven", "0.800 ± 0.100 (3)"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if !strings.Contains(string(csvb), "magnetic-tile,MT_Uneven,PaDiM-R18-Rd100,0.800000,0.100000,3,") {
		t.Errorf("csv lacks the per-defect row:\n%s", csvb)
	}
}
