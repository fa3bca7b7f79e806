package table

import (
	"encoding/csv"
	"fmt"
	"io"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// Align is the alignment of one column.
type Align int

const (
	Left  Align = iota // text
	Right              // numbers, so that digits line up
)

// Table is a header and rows of cells. Every row has one cell per header
// column.
type Table struct {
	Header []string
	// Align holds one entry per column; nil leaves every column to the
	// Markdown renderer's default (left).
	Align []Align
	Rows  [][]string
}

// Append adds one row.
func (t *Table) Append(cells ...string) { t.Rows = append(t.Rows, cells) }

// check reports a row or alignment list whose length is not the header's:
// tablewriter would pad or drop cells silently.
func (t Table) check() error {
	if len(t.Header) == 0 {
		return fmt.Errorf("table: no header")
	}
	if t.Align != nil && len(t.Align) != len(t.Header) {
		return fmt.Errorf("table: %d alignments for %d columns", len(t.Align), len(t.Header))
	}
	for i, r := range t.Rows {
		if len(r) != len(t.Header) {
			return fmt.Errorf("table: row %d has %d cells for %d columns (%q)", i, len(r), len(t.Header), r)
		}
	}
	return nil
}

// Markdown writes t as a GitHub-flavoured Markdown table. Cells are
// trimmed of surrounding space (Markdown ignores it anyway).
func (t Table) Markdown(w io.Writer) error {
	if err := t.check(); err != nil {
		return err
	}
	opts := []tablewriter.Option{
		tablewriter.WithRenderer(renderer.NewMarkdown()),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
	}
	if t.Align != nil {
		a := make(tw.Alignment, len(t.Align))
		for i, v := range t.Align {
			a[i] = tw.AlignLeft
			if v == Right {
				a[i] = tw.AlignRight
			}
		}
		opts = append(opts, tablewriter.WithAlignment(a))
	}
	tbl := tablewriter.NewTable(w, opts...)
	tbl.Header(t.Header)
	for _, r := range t.Rows {
		if err := tbl.Append(r); err != nil {
			return err
		}
	}
	return tbl.Render()
}

// CSV writes t as CSV, header first.
func (t Table) CSV(w io.Writer) error {
	if err := t.check(); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Write(t.Header)
	for _, r := range t.Rows {
		cw.Write(r)
	}
	cw.Flush()
	return cw.Error()
}
