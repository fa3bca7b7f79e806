// Package benchmark measures this implementation against PyTorch and
// ONNX Runtime and writes the timing reports of reports/: `padim bench
// backbones` (throughput of each backbone against both and against the
// machine's sgemm roof, and of each convolution against the bare sgemm,
// bench-backbones.md), `padim bench end-to-end` (the whole PaDiM
// pipeline stage by stage, bench.md) and `padim bench memory` (peak
// resident memory of the fit, memory.md and its plots). The command only
// wires flags to RunBackbones, RunE2E, RunE2EChild and RunMemory.
//
// Pieces:
//   - timing.go: timeRuns (warm-up, then the median of timed runs) and the
//     merging of alternating rounds of Go and the anchors, each side keeping
//     its fastest;
//   - probe.go: what the process and machine report (peak RSS from VmHWM,
//     process CPU time, CPU model, load average) and Machine, the block of
//     machine, versions, load and date every report starts with;
//   - child.go: the child-process protocol. Each end-to-end or memory point
//     runs in a fresh process, so that its peak RSS is its own; the child
//     prints its E2EResult as one JSON line, the last one starting with "{"
//     on its stdout (PyTorch may print warnings before it), and
//     scripts/bench_torch_e2e.py prints the same fields;
//   - phase.go: the wall and CPU clocks that split padim.Fit and scoring
//     into decoding, backbone and the rest without changing them;
//   - anchors.go: the runtimes the backbones are compared with, each timed
//     by an optional child process that prints one JSON line per case
//     (scripts/bench_ort_backbones.mjs with node and the npm package
//     onnxruntime-node on the models of scripts/export_onnx.py;
//     scripts/bench_torch_backbones.py with Python and torch); what is
//     missing is checked up front and named in the report, never needed;
//   - roof.go: one large sgemm, the rate achieved GFLOP/s are read against;
//   - backbones.go (with convs.go, the convolutions against the bare
//     sgemm), e2e.go, memory.go: the three benchmarks and their reports,
//     rendered through internal/table and internal/chart like the
//     reproduction reports.
//
// Timings are only meaningful on an otherwise idle machine; every report
// records the load average at the end of its run so that a reader can tell.
package benchmark
