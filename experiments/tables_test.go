package experiments

import (
	"strings"
	"testing"
)

// TestRowDimsMatchModels: a row named after the paper's d ("-Rd100",
// "-Rd550") runs a model with that d, outside quick mode.
func TestRowDimsMatchModels(t *testing.T) {
	n := 0
	for _, tb := range Tables(Options{}) {
		for _, r := range tb.Runs {
			for suffix, d := range map[string]int{"-Rd100": 100, "-Rd550": 550} {
				if strings.Contains(r.Row, suffix) {
					n++
					if r.Model.Dims != d {
						t.Errorf("%s %s: d = %d", tb.Name, r.Row, r.Model.Dims)
					}
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no Rd100/Rd550 rows declared")
	}
}
