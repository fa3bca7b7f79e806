// Package table renders a header and rows of string cells as a Markdown
// table or as CSV, the two forms every generated report in reports/ takes.
// The Markdown goes through tablewriter's Markdown renderer with the
// settings the reproduction tables have always used (no header
// reformatting, no wrapping), so the experiment reports and the benchmark
// reports share one look; Align adds right-aligned numeric columns.
package table
