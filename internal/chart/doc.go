// Package chart draws the line plots of the generated reports (ROC and PRO
// curves, metric against d, memory against N) as PNG files written
// atomically, with one style: grid, legend at the bottom right, series
// told apart by colour, dash pattern and, when Markers is set, point shape.
package chart
