package table

import (
	"bytes"
	"strings"
	"testing"
)

// TestMarkdownAlignment checks the rendered text: columns padded to their
// widest cell, ":---" for left and "---:" for right alignment, cells
// trimmed.
func TestMarkdownAlignment(t *testing.T) {
	tb := Table{Header: []string{"stage", "Go"}, Align: []Align{Left, Right}}
	tb.Append("  decode", "0.13")
	tb.Append("**total**", "12.00")
	var b bytes.Buffer
	if err := tb.Markdown(&b); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"| stage     |    Go |\n" +
		"|:----------|------:|\n" +
		"| decode    |  0.13 |\n" +
		"| **total** | 12.00 |\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// TestMarkdownDefault is the reproduction tables' form: no alignment
// given, every column left-aligned.
func TestMarkdownDefault(t *testing.T) {
	tb := Table{Header: []string{"dataset", "image_auroc"}, Rows: [][]string{{"bottle", "0.998"}}}
	var b bytes.Buffer
	if err := tb.Markdown(&b); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"| dataset | image_auroc |\n" +
		"|:--------|:------------|\n" +
		"| bottle  | 0.998       |\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestCSVQuotes(t *testing.T) {
	tb := Table{Header: []string{"method", "note"}, Rows: [][]string{{"PaDiM", `d=100, "paper"`}}}
	var b bytes.Buffer
	if err := tb.CSV(&b); err != nil {
		t.Fatal(err)
	}
	if want := "method,note\nPaDiM,\"d=100, \"\"paper\"\"\"\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

// TestShapeErrors: a row or alignment list of the wrong length is an
// error naming the row, not a silently padded table.
func TestShapeErrors(t *testing.T) {
	for name, tb := range map[string]Table{
		"short row":  {Header: []string{"a", "b"}, Rows: [][]string{{"1", "2"}, {"3"}}},
		"long row":   {Header: []string{"a"}, Rows: [][]string{{"1", "2"}}},
		"alignments": {Header: []string{"a", "b"}, Align: []Align{Right}},
		"no header":  {},
	} {
		var b bytes.Buffer
		if err := tb.Markdown(&b); err == nil || !strings.HasPrefix(err.Error(), "table: ") {
			t.Errorf("%s: Markdown error %v", name, err)
		}
		if err := tb.CSV(&b); err == nil {
			t.Errorf("%s: CSV accepted it", name)
		}
		if b.Len() != 0 {
			t.Errorf("%s: wrote %q before failing", name, b.String())
		}
	}
	if err := (Table{Header: []string{"a", "b"}, Rows: [][]string{{"1", "2"}, {"3"}}}).Markdown(&bytes.Buffer{}); !strings.Contains(err.Error(), "row 1") {
		t.Errorf("error %v does not name row 1", err)
	}
}
