// Package chart draws the figures of the generated reports as PNG files,
// each written atomically (a reader sees the previous file or the new one,
// never a partial one), so that the experiment reports and the benchmark
// reports share one way of drawing.
//
// Plot is a line and marker plot on a grid with the legend at the bottom
// right: ROC and PRO curves, a metric against d with error bars, memory
// against N. Series are told apart by colour and dash pattern (Style) and,
// where they are measured points, by marker shape; only named series get a
// legend entry, so that the curves of several seeds share one. Axis ranges
// are fixed or fitted to the data. An x axis fitted to the data labels its
// first and last values besides the regular round-number ticks (or, with
// XTicksAtData, every measured x).
//
// HeatmapGrid draws anomaly maps over their images, a row per image, on a
// shared colour scale with a colour bar.
//
// Which series a report draws, their labels and the reports' sizes and
// line widths belong to the callers (packages experiments and benchmark).
package chart
