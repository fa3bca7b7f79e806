package experiments

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fptr(v float64) *float64 { return &v }

func TestWriteTableShowsPaperMeasuredAndDiff(t *testing.T) {
	tb := Table{Name: "localization", Title: "Loc", PaperTable: "localization", Metrics: []string{"pixel_auroc", "pro"}}
	var results []*Result
	for _, c := range []string{"bottle", "carpet"} {
		run := Run{Row: "PaDiM-WR50-Rd550", Dataset: DatasetSpec{Kind: "mvtec", Category: c}, Model: padimWR50(550, 1)}
		tb.Runs = append(tb.Runs, run)
		results = append(results, &Result{Run: run, Status: "ok", PixelAUROC: fptr(0.9), PRO: nil})
	}
	missing := Run{Row: "SPADE", Dataset: DatasetSpec{Kind: "mvtec", Category: "bottle"}, Model: spadeWR50()}
	results = append(results, &Result{Run: missing, Status: "not-run", Reason: "weights for wide_resnet50_2 not found", Fetch: "padim fetch weights wide_resnet50_2"})
	paper := []PaperValue{
		{Table: "localization", Dataset: "mvtec", Category: "bottle", Method: "PaDiM-WR50-Rd550", Metric: "pixel_auroc", Value: 0.983},
		{Table: "localization", Dataset: "mvtec", Category: "mean", Method: "PaDiM-WR50-Rd550", Metric: "pixel_auroc", Value: 0.975},
	}
	dir := t.TempDir()
	if err := WriteTable(dir, tb, results, paper); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "localization.md"))
	csvb, _ := os.ReadFile(filepath.Join(dir, "localization.csv"))
	s := string(md)
	for _, want := range []string{
		"| bottle", "0.900", "0.983", "-0.083", // measured, paper, difference on a class
		"mean (2/15 classes)", "0.975", // partial mean keeps the paper value but no difference
		"not run: missing weights", "weights for wide_resnet50_2 not found", "padim fetch weights wide_resnet50_2",
		"partial: 2/15", // why the partial mean has no difference
		"no masks",      // PRO is undefined: the cell says why
	} {
		if !strings.Contains(s, want) {
			t.Errorf("markdown lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "-0.075") {
		t.Errorf("a partial mean shows a difference to the paper's 15-class mean:\n%s", s)
	}
	// PRO was undefined: shown as –, never as 0.
	if strings.Contains(s, "| 0.000 ") {
		t.Errorf("undefined metric rendered as a number:\n%s", s)
	}
	if !strings.HasPrefix(string(csvb), "dataset,defect,method,pixel_auroc,pixel_auroc_sd,pixel_auroc_n,paper,paper_table,Δ,pro,") {
		t.Errorf("csv header: %q", strings.SplitN(string(csvb), "\n", 2)[0])
	}
}

func TestRowsAverageSeeds(t *testing.T) {
	tb := Table{Name: "rd-mvtec", PaperTable: "rd-mvtec", Metrics: []string{"image_auroc"}, AverageSeeds: true}
	var results []*Result
	for s, v := range []float64{0.8, 0.9, 1.0} {
		run := Run{Row: "PaDiM-R18-Rd100", Dataset: DatasetSpec{Kind: "rd-mvtec", Category: "bottle", Seed: int64(s + 1)}, Model: padimR18(100, 1)}
		results = append(results, &Result{Run: run, Status: "ok", ImageAUROC: fptr(v)})
	}
	rows := Rows(tb, results, nil)
	if len(rows) == 0 || rows[0].Runs != 3 || rows[0].Measured["image_auroc"] == nil || *rows[0].Measured["image_auroc"] < 0.8999 || *rows[0].Measured["image_auroc"] > 0.9001 {
		t.Fatalf("rows = %+v, want one row averaging 3 seeds to 0.9", rows)
	}
}
