package experiments

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// reportNumber is a value as the reports print metrics, timings and sizes:
// at least two decimals. Matches are leftmost and greedy, so each is a
// whole number (0.985, never its 0.98), and nothing around a number is
// consumed, so "0.880-0.908" yields both.
var reportNumber = regexp.MustCompile(`\d+\.\d{2,}`)

// TestReadmeQuotesReports: the README's summary of the committed reports
// (the table under "What ran here" and the paragraph on the untrained-weight
// timing rows) quotes numbers that stand in reports/ or, for the paper's
// values, in paper_values.json. Reports regenerated on another day or
// machine change; a README left behind then says what no report says, as
// it once did for every timing of the cost table. A number passes when it
// stands anywhere in the reports: the check catches a README left behind
// by regenerated reports, not a value copied from the wrong row.
func TestReadmeQuotesReports(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, pattern := range []string{"../reports/*.md", "../reports/*/*.md", "paper_values.json"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range reportNumber.FindAllString(string(b), -1) {
				known[v] = true
			}
		}
	}
	quoted := readmeReportQuotes(string(readme))
	if len(quoted) < 10 {
		t.Fatalf("found only %d lines quoting the reports in README.md; has the section \"What ran here\" moved?", len(quoted))
	}
	n := 0
	for _, line := range quoted {
		for _, v := range reportNumber.FindAllString(line, -1) {
			n++
			if !known[v] {
				t.Errorf("README.md quotes %s, which no report in reports/ and no paper value has:\n%s", v, line)
			}
		}
	}
	if n < 50 {
		t.Errorf("checked only %d numbers", n)
	}
}

// readmeReportQuotes returns the README's lines that quote the committed
// reports: the rows of the first table after "What ran here" and the
// paragraph that starts "Untrained-weight timing rows".
func readmeReportQuotes(readme string) []string {
	lines := strings.Split(readme, "\n")
	var out []string
	for i := 0; i < len(lines); i++ {
		switch {
		case strings.HasPrefix(lines[i], "What ran here"):
			for i++; i < len(lines) && !strings.HasPrefix(lines[i], "|"); i++ {
			}
			for ; i < len(lines) && strings.HasPrefix(lines[i], "|"); i++ {
				out = append(out, lines[i])
			}
			i--
		case strings.HasPrefix(lines[i], "Untrained-weight timing rows"):
			for ; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
				out = append(out, lines[i])
			}
		}
	}
	return out
}
