// Package cpuinfo describes the processor a timing ran on, from Linux's
// /proc/cpuinfo, for the machine lines of the benchmark and reproduce
// reports.
//
// The model name alone does not say enough: virtual machines often show a
// generic one ("AMD EPYC", "Intel(R) Xeon(R) Processor"), and two machines
// of the same kind can differ in what decides the speed of the kernels, the
// processor generation and its vector extensions. A Zen 4 core executes a
// 16-lane FMA on both of its 256-bit units and a recent Xeon core does two
// per cycle, so the same code ranks differently against other engines on
// the two (docs/performance.md). The description therefore adds the family
// and model numbers and the extensions the kernels choose by.
package cpuinfo
