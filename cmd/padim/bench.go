package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/eval"
	"github.com/padim-go/padim/experiments"
	"github.com/padim-go/padim/internal/atomicfile"
	"github.com/padim-go/padim/internal/blas"
	"github.com/padim-go/padim/internal/nn"
	"github.com/padim-go/padim/internal/tensor"
	"github.com/padim-go/padim/padim"
)

// benchCmd groups the benchmarks; each benchmark adds itself as a
// subcommand (`padim bench backbones` here).
var benchCmd = &cobra.Command{
	Use:   "bench",
	Short: "Measure throughput and write reports/bench*.md",
}

// benchBackboneOptions are the flags of `padim bench backbones`.
type benchBackboneOptions struct {
	backbones []string
	batches   []int
	size      int
	minTime   time.Duration
	minRuns   int
	rounds    int
	python    string
	script    string
	noTorch   bool
	noConvs   bool
	out       string
}

func init() {
	var o benchBackboneOptions
	cmd := &cobra.Command{
		Use:   "backbones [--out reports/bench-backbones.md]",
		Short: "Images/s and GFLOP/s of each backbone up to its PaDiM layers, against PyTorch",
		Long: `backbones times each backbone (zero weights: speed does not depend on them)
from the input to the deepest layer PaDiM uses (layer3 for the ResNets, block25
= the paper's layer 26 for EfficientNet-B5) at batch 1 and 8, and reports
images/s and achieved GFLOP/s, counting convolution FLOPs analytically (two per
multiply-add). When python3 with torch is present it runs
scripts/bench_torch_backbones.py on the same networks, layers, sizes and
thread count and reports the Go/PyTorch speed ratio. Go and PyTorch run in
alternating rounds (--rounds) and each keeps its fastest, because the speed of
a shared host drifts over minutes. A second table times each
ungrouped ResNet convolution against one cblas_sgemm of the same matrix sizes
(the GEMM the convolution amounts to) and names the kernel that ran. The
tables go to stdout and, atomically, to --out.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			nn.SetThreads(threads)
			return runBenchBackbones(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.backbones, "backbones", backbones.Names(), "backbones to time")
	f.IntSliceVar(&o.batches, "batches", []int{1, 8}, "batch sizes")
	f.IntVar(&o.size, "size", 224, "square input side")
	f.DurationVar(&o.minTime, "min-time", 3*time.Second, "timed runs per case last at least this long")
	f.IntVar(&o.minRuns, "min-runs", 2, "at least this many timed runs per case")
	f.IntVar(&o.rounds, "rounds", 3, "alternating Go and PyTorch rounds; each side keeps its fastest")
	f.StringVar(&o.python, "python", "/usr/bin/python3", "python with torch and torchvision for the comparison")
	f.StringVar(&o.script, "torch-script", "scripts/bench_torch_backbones.py", "the PyTorch side of the benchmark")
	f.BoolVar(&o.noTorch, "no-torch", false, "skip the PyTorch comparison")
	f.BoolVar(&o.noConvs, "no-convs", false, "skip the per-convolution comparison with the bare sgemm")
	f.StringVar(&o.out, "out", "reports/bench-backbones.md", "markdown report (written atomically); empty = stdout only")
	benchCmd.AddCommand(cmd)
	rootCmd.AddCommand(benchCmd)
}

// benchRow is one (backbone, batch) measurement.
type benchRow struct {
	backbone   string
	upTo       string
	batch      int
	flopsImage float64       // conv FLOPs per image
	goTime     time.Duration // median per batch
	goRuns     int
	torchTime  time.Duration // median per batch; 0 when not measured
}

func (r benchRow) goImagesPerSec() float64 {
	return float64(r.batch) / r.goTime.Seconds()
}

func (r benchRow) goGFLOPs() float64 {
	return r.flopsImage * float64(r.batch) / r.goTime.Seconds() / 1e9
}

func runBenchBackbones(ctx context.Context, stdout, stderr io.Writer, o benchBackboneOptions) error {
	if o.size < 32 || len(o.batches) == 0 || slices.ContainsFunc(o.batches, func(b int) bool { return b < 1 }) {
		return fmt.Errorf("bench backbones: need --size >= 32 and positive --batches")
	}
	if o.rounds < 1 {
		return fmt.Errorf("bench backbones: need --rounds >= 1")
	}
	nets := make([]benchNet, len(o.backbones))
	for i, name := range o.backbones {
		spec, err := backbones.Lookup(name)
		if err != nil {
			return err
		}
		b, err := backbones.New(name)
		if err != nil {
			return err
		}
		deepest := spec.PaDiMLayers[len(spec.PaDiMLayers)-1]
		flops, err := backbones.ConvFLOPs(b, o.size, o.size, []string{deepest})
		if err != nil {
			return err
		}
		nets[i] = benchNet{name: name, net: b, deepest: deepest, flops: flops}
	}
	// The host's speed drifts by tens of percent over minutes, so Go and
	// PyTorch are timed in alternating rounds and each side keeps its
	// fastest round: drift only ever slows a round down.
	var rows []benchRow
	var convRows []convBenchRow
	torchVersion := ""
	torchOK := !o.noTorch
	for round := 1; round <= o.rounds; round++ {
		fmt.Fprintf(stderr, "round %d of %d\n", round, o.rounds)
		goRows, err := benchGoBackbones(ctx, stderr, o, nets)
		if err != nil {
			return err
		}
		rows = keepFastestRows(rows, goRows)
		if !o.noConvs {
			cr, err := benchConvShapes(ctx, stderr, o)
			if err != nil {
				return err
			}
			convRows = keepFastestConvs(convRows, cr)
		}
		if torchOK {
			v, err := benchTorch(ctx, stderr, o, rows)
			if err != nil {
				fmt.Fprintf(stderr, "bench backbones: PyTorch comparison skipped: %v\n", err)
				torchOK = false
			}
			torchVersion = v
		}
	}
	report := backboneBenchTable(rows, benchMeta{
		threads: nn.Threads(), gomaxprocs: runtime.GOMAXPROCS(0), blas: blas.Backend,
		goVersion: runtime.Version(), cpu: cpuModel(), torch: torchVersion, size: o.size, rounds: o.rounds,
		date: time.Now().UTC().Format("2006-01-02 15:04 UTC"),
	})
	report += convBenchTable(convRows, nn.Threads(), o.rounds)
	fmt.Fprint(stdout, report)
	if o.out == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteBytes(o.out, []byte(report))
}

// benchNet is one backbone under test, built once for all rounds.
type benchNet struct {
	name, deepest string
	net           backbones.Backbone
	flops         float64 // conv FLOPs per image up to deepest
}

// benchGoBackbones times every backbone at every batch size once.
func benchGoBackbones(ctx context.Context, stderr io.Writer, o benchBackboneOptions, nets []benchNet) ([]benchRow, error) {
	var rows []benchRow
	for _, n := range nets {
		for _, batch := range o.batches {
			x := tensor.New(batch, 3, o.size, o.size)
			for i := range x.Data {
				x.Data[i] = float32(i%251)/125 - 1
			}
			d, runs, err := timeRuns(ctx, o.minTime, o.minRuns, func() error {
				_, err := n.net.Forward(x, []string{n.deepest})
				return err
			})
			if err != nil {
				return nil, err
			}
			r := benchRow{backbone: n.name, upTo: n.deepest, batch: batch, flopsImage: n.flops, goTime: d, goRuns: runs}
			fmt.Fprintf(stderr, "go    %-16s batch %d: %8.2f img/s %7.1f GFLOP/s (%d runs)\n", n.name, batch, r.goImagesPerSec(), r.goGFLOPs(), runs)
			rows = append(rows, r)
		}
	}
	return rows, nil
}

// keepFastestRows merges a new round's Go times into best, keeping each
// case's faster time (and the PyTorch times best already holds).
func keepFastestRows(best, round []benchRow) []benchRow {
	if best == nil {
		return round
	}
	for i := range best {
		if round[i].goTime < best[i].goTime {
			best[i].goTime, best[i].goRuns = round[i].goTime, round[i].goRuns
		}
	}
	return best
}

// keepFastestConvs merges a new round of the convolution table into best,
// keeping the faster convolution and the faster sgemm of each shape.
func keepFastestConvs(best, round []convBenchRow) []convBenchRow {
	if best == nil {
		return round
	}
	for i := range best {
		best[i].convTime = min(best[i].convTime, round[i].convTime)
		best[i].sgemmT = min(best[i].sgemmT, round[i].sgemmT)
	}
	return best
}

// convShape is one ungrouped convolution of the ResNets at a 224x224
// input, batch 1.
type convShape struct {
	name                       string
	inC, outC, size, k, stride int
}

// resnetConvShapes are the distinct ungrouped convolutions of ResNet-18
// and Wide-ResNet-50-2 up to layer3.
var resnetConvShapes = []convShape{
	{"r18 conv1 7x7/2", 3, 64, 224, 7, 2},
	{"r18 layer1 3x3", 64, 64, 56, 3, 1},
	{"r18 layer2 3x3/2", 64, 128, 56, 3, 2},
	{"r18 layer2 3x3", 128, 128, 28, 3, 1},
	{"r18 layer2 down 1x1/2", 64, 128, 56, 1, 2},
	{"r18 layer3 3x3/2", 128, 256, 28, 3, 2},
	{"r18 layer3 3x3", 256, 256, 14, 3, 1},
	{"wr50 layer1 1x1 in", 64, 128, 56, 1, 1},
	{"wr50 layer1 3x3", 128, 128, 56, 3, 1},
	{"wr50 layer1 1x1 out", 128, 256, 56, 1, 1},
	{"wr50 layer2 1x1 in", 256, 256, 56, 1, 1},
	{"wr50 layer2 3x3/2", 256, 256, 56, 3, 2},
	{"wr50 layer2 1x1 out", 256, 512, 28, 1, 1},
	{"wr50 layer3 3x3", 512, 512, 14, 3, 1},
	{"wr50 layer3 1x1 in", 1024, 512, 14, 1, 1},
	{"wr50 layer3 1x1 out", 512, 1024, 14, 1, 1},
}

// convBenchRow compares one convolution with the bare GEMM it amounts to.
type convBenchRow struct {
	shape            convShape
	kernel           string
	flops            float64
	convTime, sgemmT time.Duration
}

// benchConvShapes times each ResNet convolution (Conv2D.ForwardAct with
// ReLU, the kernel the backbones use) against one cblas_sgemm call of the
// same M x K x N (OutC x InC*k*k x output pixels) with the BLAS library's
// own threads: the "convolution GEMMs within 1.5x of raw sgemm".
func benchConvShapes(ctx context.Context, stderr io.Writer, o benchBackboneOptions) ([]convBenchRow, error) {
	minTime := max(o.minTime/10, 200*time.Millisecond)
	var rows []convBenchRow
	for _, s := range resnetConvShapes {
		c := nn.NewConv2D(s.inC, s.outC, s.k, s.stride, s.k/2, 1)
		for i := range c.Weight {
			c.Weight[i] = float32(i%97)/970 - 0.05
		}
		x := tensor.New(1, s.inC, s.size, s.size)
		for i := range x.Data {
			x.Data[i] = float32(i%89)/89 - 0.5
		}
		oh, ow := c.OutSize(s.size, s.size)
		m, k, n := s.outC, s.inC*s.k*s.k, oh*ow
		conv, _, err := timeRuns(ctx, minTime, 5, func() error {
			tensor.Release(c.ForwardAct(x, nn.ActReLU))
			return nil
		})
		if err != nil {
			return nil, err
		}
		a, bm, cm := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
		for i := range a {
			a[i] = float32(i%13) / 13
		}
		for i := range bm {
			bm[i] = float32(i%7) / 7
		}
		blas.SetThreads(nn.Threads())
		sg, _, err := timeRuns(ctx, minTime, 5, func() error {
			blas.Sgemm(false, false, m, n, k, 1, a, k, bm, n, 0, cm, n)
			return nil
		})
		blas.SetThreads(1) // back to single-threaded BLAS under the kernels (see nn.SetThreads)
		if err != nil {
			return nil, err
		}
		r := convBenchRow{shape: s, kernel: c.KernelName(s.size, s.size), flops: 2 * float64(m*k*n), convTime: conv, sgemmT: sg}
		fmt.Fprintf(stderr, "conv  %-22s %-8s %6.1f GFLOP/s, sgemm %6.1f GFLOP/s\n", s.name, r.kernel, r.flops/conv.Seconds()/1e9, r.flops/sg.Seconds()/1e9)
		rows = append(rows, r)
	}
	return rows, nil
}

// convBenchTable renders benchConvShapes' rows.
func convBenchTable(rows []convBenchRow, threads, rounds int) string {
	if len(rows) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n## Convolutions against the bare GEMM\n\n")
	fmt.Fprintf(&b, "Each ungrouped ResNet convolution (batch 1, bias + ReLU fused, %d threads) against one `cblas_sgemm` of the same OutC x InC*k*k x pixels with %d BLAS threads. ", threads, threads)
	fmt.Fprintf(&b, "FLOPs are the direct convolution's for both, so Winograd rows can exceed the GEMM. Times are medians, the faster of %d rounds for each side.\n\n", rounds)
	fmt.Fprintf(&b, "| convolution | kernel | GFLOP | conv GFLOP/s | sgemm GFLOP/s | sgemm / conv time |\n")
	fmt.Fprintf(&b, "|---|---|---:|---:|---:|---:|\n")
	for _, r := range rows {
		cv, sg := r.flops/r.convTime.Seconds()/1e9, r.flops/r.sgemmT.Seconds()/1e9
		fmt.Fprintf(&b, "| %s | %s | %.3f | %.1f | %.1f | %.2fx |\n", r.shape.name, r.kernel, r.flops/1e9, cv, sg, r.convTime.Seconds()/r.sgemmT.Seconds())
	}
	return b.String()
}

// timeRuns calls run once to warm up, then until both minTime has passed
// and minRuns runs were made, and returns the median run time.
func timeRuns(ctx context.Context, minTime time.Duration, minRuns int, run func() error) (time.Duration, int, error) {
	if err := run(); err != nil {
		return 0, 0, err
	}
	var times []time.Duration
	start := time.Now()
	for len(times) < max(minRuns, 1) || time.Since(start) < minTime {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		t0 := time.Now()
		if err := run(); err != nil {
			return 0, 0, err
		}
		times = append(times, time.Since(t0))
	}
	return median(times), len(times), nil
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// torchResult is one line of bench_torch_backbones.py's output.
type torchResult struct {
	Backbone string  `json:"backbone"`
	Batch    int     `json:"batch"`
	Seconds  float64 `json:"seconds"`
	Runs     int     `json:"runs"`
	Torch    string  `json:"torch"`
}

// benchTorch runs the PyTorch script once for the same cases and sets
// rows[i].torchTime to its time when that is faster than the one held. It
// returns the torch version.
func benchTorch(ctx context.Context, stderr io.Writer, o benchBackboneOptions, rows []benchRow) (string, error) {
	if _, err := os.Stat(o.python); err != nil {
		return "", fmt.Errorf("no python at %s", o.python)
	}
	if _, err := os.Stat(o.script); err != nil {
		return "", fmt.Errorf("%s: %w (run from the repository root or set --torch-script)", o.script, err)
	}
	batches := make([]string, len(o.batches))
	for i, b := range o.batches {
		batches[i] = strconv.Itoa(b)
	}
	cmd := exec.CommandContext(ctx, o.python, o.script,
		"--threads", strconv.Itoa(nn.Threads()), "--size", strconv.Itoa(o.size),
		"--batches", strings.Join(batches, ","), "--min-time", strconv.FormatFloat(o.minTime.Seconds(), 'f', -1, 64),
		"--min-runs", strconv.Itoa(o.minRuns), "--backbones", strings.Join(o.backbones, ","))
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	version := ""
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var r torchResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			continue // torch may print warnings on stdout
		}
		version = r.Torch
		for i := range rows {
			if rows[i].backbone == r.Backbone && rows[i].batch == r.Batch {
				if t := time.Duration(r.Seconds * float64(time.Second)); rows[i].torchTime == 0 || t < rows[i].torchTime {
					rows[i].torchTime = t
				}
				fmt.Fprintf(stderr, "torch %-16s batch %d: %8.2f img/s (%d runs)\n", r.Backbone, r.Batch, float64(r.Batch)/r.Seconds, r.Runs)
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		return version, fmt.Errorf("%s %s: %w: %s", o.python, o.script, err, strings.TrimSpace(lastLines(errBuf.String(), 3)))
	}
	return version, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// benchMeta describes the machine and build a table was measured on.
type benchMeta struct {
	threads, gomaxprocs int
	blas, goVersion     string
	cpu, torch, date    string
	size, rounds        int
}

// backboneBenchTable renders the markdown report.
func backboneBenchTable(rows []benchRow, m benchMeta) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Backbone throughput\n\n")
	fmt.Fprintf(&b, "Generated by `padim bench backbones` on %s.\n\n", m.date)
	fmt.Fprintf(&b, "- input %dx%d, forward from the image to the deepest PaDiM layer (no head)\n", m.size, m.size)
	fmt.Fprintf(&b, "- Go %s, %d kernel threads, GOMAXPROCS %d, BLAS backend %s\n", m.goVersion, m.threads, m.gomaxprocs, m.blas)
	if m.cpu != "" {
		fmt.Fprintf(&b, "- CPU: %s\n", m.cpu)
	}
	if m.torch != "" {
		fmt.Fprintf(&b, "- PyTorch %s, torch.set_num_threads(%d), eval mode, torch.no_grad()\n", m.torch, m.threads)
	} else {
		fmt.Fprintf(&b, "- PyTorch comparison not run\n")
	}
	fmt.Fprintf(&b, "- GFLOP counts convolutions only, two FLOPs per multiply-add\n")
	fmt.Fprintf(&b, "- times: the median of each case's timed runs, in %d rounds run alternately (Go, then PyTorch); each side's fastest round is shown, since the host's drift only slows a round down\n\n", m.rounds)
	fmt.Fprintf(&b, "| backbone | up to | batch | conv GFLOP/img | Go img/s | Go GFLOP/s | PyTorch img/s | Go / PyTorch |\n")
	fmt.Fprintf(&b, "|---|---|---:|---:|---:|---:|---:|---:|\n")
	sorted := slices.Clone(rows)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].backbone < sorted[j].backbone })
	for _, r := range sorted {
		torchIPS, ratio := "-", "-"
		if r.torchTime > 0 {
			t := float64(r.batch) / r.torchTime.Seconds()
			torchIPS = fmt.Sprintf("%.2f", t)
			ratio = fmt.Sprintf("%.2fx", r.goImagesPerSec()/t)
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %.2f | %.2f | %.1f | %s | %s |\n",
			r.backbone, r.upTo, r.batch, r.flopsImage/1e9, r.goImagesPerSec(), r.goGFLOPs(), torchIPS, ratio)
	}
	return b.String()
}

// cpuModel is the first "model name" of /proc/cpuinfo, or "" off Linux.
func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// ---------------------------------------------------------------------------
// padim bench end-to-end

// e2eOptions are the flags of `padim bench end-to-end`.
type e2eOptions struct {
	configs    []string // backbone:d
	data       string
	category   string
	train      int
	test       int
	size       int
	batch      int
	seed       uint64
	python     string
	script     string
	noTorch    bool
	out        string
	workDir    string
	child      string // run this one configuration in-process, print JSON
	useTrain   int    // with child: use only the first useTrain training images
	crop       int    // with child: centre crop side (default 224)
	fitOnly    bool
	cpuprofile string
}

func init() {
	var o e2eOptions
	cmd := &cobra.Command{
		Use:   "end-to-end [--out reports/bench.md]",
		Short: "Time decode, features, fit, scoring and metrics of PaDiM against the same pipeline in PyTorch",
		Long: `end-to-end generates (once) a synthetic MVTec-style category, then for each
configuration (default ResNet-18 d=100 and Wide-ResNet-50-2 d=550, the paper's)
runs the whole PaDiM pipeline on it in a fresh child process and times each
stage: decoding and preprocessing, backbone features, the Gaussian fit
(accumulation and 3136 Cholesky factorisations), saving and memory-mapping the
model, scoring (Mahalanobis distances, upsampling, blur) and metrics (image
and pixel AUROC; PRO timed apart, PyTorch implementations do not compute it).
The backbones have deterministic random weights (backbones.NewRandom): speed
and memory do not depend on weight values. Each child reports its peak
resident memory (VmHWM).

scripts/bench_torch_e2e.py runs the same pipeline, on the same files, the
way a competent PyTorch user writes it (batched backbone under no_grad, the
whole training embedding held in memory, per-position covariances by batched
matrix products, batched Cholesky inverses, batched Mahalanobis,
F.interpolate, scipy gaussian_filter, sklearn AUROC), one process per
configuration, with the same thread count. The ratio and memory tables go to
stdout and, atomically, to --out.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			nn.SetThreads(threads)
			if o.child != "" {
				return runE2EChild(cmd.Context(), cmd.OutOrStdout(), o)
			}
			return runBenchE2E(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.configs, "configs", []string{"resnet18:100", "wide_resnet50_2:550"}, "backbone:d pairs to run")
	f.StringVar(&o.data, "data", "", "synthetic dataset root (default $PADIM_CACHE/bench-synthetic); generated when missing")
	f.StringVar(&o.category, "category", "bottle", "synthetic category")
	f.IntVar(&o.train, "train", 200, "training images")
	f.IntVar(&o.test, "test", 100, "test images (a quarter normal, the rest split over the three defect types)")
	f.IntVar(&o.size, "size", 256, "side of the generated images (preprocessing: resize 256, centre crop 224)")
	f.IntVar(&o.batch, "batch", 8, "images per backbone call")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the random backbone weights and of the channel draw")
	f.StringVar(&o.python, "python", "/usr/bin/python3", "python with torch, torchvision, scipy and sklearn for the comparison")
	f.StringVar(&o.script, "torch-script", "scripts/bench_torch_e2e.py", "the PyTorch side of the benchmark")
	f.BoolVar(&o.noTorch, "no-torch", false, "skip the PyTorch comparison")
	f.StringVar(&o.out, "out", "reports/bench.md", "markdown report (written atomically); empty = stdout only")
	f.StringVar(&o.workDir, "work", "", "directory for the temporary model file (default: the system temp dir)")
	f.StringVar(&o.child, "child", "", "internal: run one backbone:d configuration in this process and print its JSON result")
	f.BoolVar(&o.fitOnly, "fit-only", false, "internal: stop after the fit (with --child; used by bench memory)")
	f.StringVar(&o.cpuprofile, "cpuprofile", "", "with --child: write a CPU profile of the run to this file")
	f.IntVar(&o.useTrain, "use-train", 0, "internal: with --child, fit on only the first N training images")
	f.IntVar(&o.crop, "crop", 0, "internal: with --child, centre crop side instead of 224")
	_ = f.MarkHidden("use-train")
	_ = f.MarkHidden("crop")
	_ = f.MarkHidden("child")
	_ = f.MarkHidden("fit-only")
	benchCmd.AddCommand(cmd)
}

// e2eResult is one pipeline run, Go or PyTorch; scripts/bench_torch_e2e.py
// prints the same JSON fields.
type e2eResult struct {
	Impl     string `json:"impl"` // "go" or "torch"
	Backbone string `json:"backbone"`
	D        int    `json:"d"`
	Train    int    `json:"train"`
	Test     int    `json:"test"`
	Threads  int    `json:"threads"`
	// Seconds per stage. Shared keys: decode, features_train, fit,
	// features_test, score, metrics, total. Go adds finalize (the part of
	// fit after the last batch: last fold and the factorisations), model_io
	// (write and memory-map the model) and pro; PyTorch adds finalize
	// (covariances and inversions).
	Seconds map[string]float64 `json:"seconds"`
	// CPUSeconds are the same stages in process CPU time (user + system,
	// all threads).
	CPUSeconds   map[string]float64 `json:"cpu_seconds"`
	PeakRSSBytes int64              `json:"peak_rss_bytes"`
	ImageAUROC   float64            `json:"image_auroc"`
	PixelAUROC   float64            `json:"pixel_auroc"`
	Version      string             `json:"version"` // torch version or Go version
	BLASCore     string             `json:"blas_core,omitempty"`
}

// inferPerImage is the paper's inference time per test image: features,
// distances, upsampling and blur (decoding excluded).
func (r e2eResult) inferPerImage() float64 {
	return (r.Seconds["features_test"] + r.Seconds["score"]) / float64(max(r.Test, 1))
}

// parseConfig splits "backbone:d".
func parseConfig(s string) (string, int, error) {
	name, ds, ok := strings.Cut(s, ":")
	d, err := strconv.Atoi(ds)
	if !ok || err != nil || d <= 0 {
		return "", 0, fmt.Errorf("bench end-to-end: configuration %q is not backbone:d with d > 0", s)
	}
	if _, err := backbones.Lookup(name); err != nil {
		return "", 0, err
	}
	return name, d, nil
}

// benchDataset generates the synthetic category when its directory is
// missing and loads the split, trimmed to train and test images (the test
// images keep a quarter normal).
func benchDataset(o e2eOptions) (*datasets.Split, error) {
	if o.train < 2 || o.test < 4 {
		return nil, fmt.Errorf("bench: need --train >= 2 and --test >= 4")
	}
	root := o.data
	if root == "" {
		root = filepath.Join(cacheDir(), "bench-synthetic")
	}
	perDefect := (o.test - o.test/4 + 2) / 3
	good := o.test - 3*perDefect
	root = filepath.Join(root, fmt.Sprintf("s%d-train%d-test%d", o.size, o.train, o.test))
	if _, err := os.Stat(filepath.Join(root, o.category)); err != nil {
		if err := datasets.GenerateSynthetic(root, datasets.SyntheticOptions{Categories: []string{o.category}, Size: o.size,
			Train: o.train, TestGood: good, TestPerDefect: perDefect, Seed: 1}); err != nil {
			return nil, err
		}
	}
	split, err := datasets.LoadMVTec(root, o.category)
	if err != nil {
		return nil, err
	}
	if len(split.Train) < o.train || len(split.Test) < o.test {
		return nil, fmt.Errorf("bench: %s has %d train and %d test images, need %d and %d (delete it to regenerate)",
			filepath.Join(root, o.category), len(split.Train), len(split.Test), o.train, o.test)
	}
	return split, nil
}

// timedLoader and timedBackbone tell the stages of padim.Fit and
// Model.Score apart without changing them, through one phaseClock:
// padim.Fit decodes the next batch on other goroutines while the backbone
// runs, so the two overlap.
type timedLoader struct {
	datasets.Preprocess
	clock *phaseClock
}

func (l *timedLoader) Image(path string) (*tensor.Tensor, error) {
	l.clock.transition(func() { l.clock.loaders++ })
	defer l.clock.transition(func() { l.clock.loaders-- })
	return l.Preprocess.Image(path)
}

type timedBackbone struct {
	backbones.Backbone
	clock *phaseClock
}

func (b *timedBackbone) Forward(x *tensor.Tensor, layers []string) (backbones.Features, error) {
	b.clock.transition(func() { b.clock.backbone = true })
	defer b.clock.transition(func() { b.clock.backbone = false })
	return b.Backbone.Forward(x, layers)
}

// phaseClock splits wall and CPU time between the backbone and decoding:
// at every start or end of a backbone call or an image load, the time
// since the previous one goes to the backbone if it was running, else to
// decoding if a load was, else to neither (the rest of the fit). Decoding
// that overlaps the backbone, and its CPU time, therefore count as
// backbone time: "decode" is the decoding the pipeline waited for.
type phaseClock struct {
	mu                 sync.Mutex
	loaders            int
	backbone           bool
	lastWall           time.Time
	lastCPU            time.Duration
	features, decoding stopwatch
}

func (c *phaseClock) transition(change func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now, cpu := time.Now(), cpuTime()
	if !c.lastWall.IsZero() {
		dw, dc := now.Sub(c.lastWall), cpu-c.lastCPU
		switch {
		case c.backbone:
			c.features.wall += dw
			c.features.cpu += dc
		case c.loaders > 0:
			c.decoding.wall += dw
			c.decoding.cpu += dc
		}
	}
	c.lastWall, c.lastCPU = now, cpu
	change()
}

// reset starts a new accounting period; nothing may be running.
func (c *phaseClock) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.features, c.decoding, c.lastWall = stopwatch{}, stopwatch{}, time.Time{}
}

// stopwatch adds up wall time and process CPU time (user + system, all
// threads) over the intervals it is started for. On a shared machine the
// CPU time is the steadier measure of work: wall time also counts the time
// other processes held the cores.
type stopwatch struct {
	wall, cpu time.Duration
}

func (s *stopwatch) start() (stop func()) {
	w0, c0 := time.Now(), cpuTime()
	return func() {
		s.wall += time.Since(w0)
		s.cpu += cpuTime() - c0
	}
}

// cpuTime is the user + system CPU time of the whole process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runE2EChild runs one configuration in this process and prints its
// e2eResult as one JSON line.
func runE2EChild(ctx context.Context, stdout io.Writer, o e2eOptions) error {
	name, d, err := parseConfig(o.child)
	if err != nil {
		return err
	}
	split, err := benchDataset(o)
	if err != nil {
		return err
	}
	split.Train = split.Train[:o.train]
	if o.useTrain > 0 {
		split.Train = split.Train[:min(o.useTrain, o.train)]
	}
	split.Test = split.Test[:o.test]
	if o.cpuprofile != "" {
		stop, err := startCPUProfile(o.cpuprofile)
		if err != nil {
			return err
		}
		defer stop()
	}
	r, err := runE2E(ctx, name, d, split, o)
	if err != nil {
		return err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", b)
	return err
}

// runE2E is the timed pipeline.
func runE2E(ctx context.Context, name string, d int, split *datasets.Split, o e2eOptions) (e2eResult, error) {
	r := e2eResult{Impl: "go", Backbone: name, D: d, Train: len(split.Train), Test: len(split.Test), Threads: nn.Threads(),
		Seconds: map[string]float64{}, CPUSeconds: map[string]float64{}, Version: runtime.Version(), BLASCore: blas.Backend + "/" + blas.CoreName()}
	put := func(key string, s stopwatch) {
		r.Seconds[key] += s.wall.Seconds()
		r.CPUSeconds[key] += s.cpu.Seconds()
	}
	spec, err := backbones.Lookup(name)
	if err != nil {
		return r, err
	}
	net, err := backbones.NewRandom(name, o.seed)
	if err != nil {
		return r, err
	}
	clock := &phaseClock{}
	bb := &timedBackbone{Backbone: net, clock: clock}
	pre := datasets.PaperPreprocess()
	if o.crop > 0 {
		pre.Crop = o.crop
	}
	loader := &timedLoader{Preprocess: pre, clock: clock}
	var fit, finalize stopwatch
	stopFit := fit.start()
	var stopFinalize func()
	m, err := padim.Fit(ctx, padim.FitConfig{Layers: spec.PaDiMLayers, D: d, Seed: o.seed, BatchSize: o.batch,
		Preprocess: experiments.Policy(pre)}, bb, split.Train, loader, func(done, total int) {
		if done == total { // the last batch is in: what follows is the final fold and the factorisations
			stopFinalize = finalize.start()
		}
	})
	if err != nil {
		return r, err
	}
	stopFit()
	if stopFinalize != nil {
		stopFinalize()
	}
	put("decode", clock.decoding)
	put("features_train", clock.features)
	put("finalize", finalize)
	r.Seconds["fit"] = (fit.wall - clock.decoding.wall - clock.features.wall).Seconds()
	r.CPUSeconds["fit"] = (fit.cpu - clock.decoding.cpu - clock.features.cpu).Seconds()
	if o.fitOnly {
		r.Seconds["total"], r.CPUSeconds["total"] = fit.wall.Seconds(), fit.cpu.Seconds()
		r.PeakRSSBytes = peakRSS()
		return r, nil
	}

	// The CLI writes the model and padim test memory-maps it: do the same.
	var modelIO stopwatch
	stopIO := modelIO.start()
	dir, err := os.MkdirTemp(o.workDir, "padim-bench-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.padim")
	if err := m.WriteFile(path); err != nil {
		return r, err
	}
	m = nil
	debug.FreeOSMemory() // the fit's accumulators are garbage now
	if m, err = padim.ReadModel(path); err != nil {
		return r, err
	}
	defer m.Close()
	stopIO()
	put("model_io", modelIO)

	// Scoring is experiments.ScoreSplit, as `padim test` runs it: groups of
	// experiments.ScoreGroup images per call (the backbone inside still
	// runs at most padim.ScoreBackboneBatch at a time), the next group
	// decoded while this one is scored.
	clock.reset()
	var score stopwatch
	scorer := experiments.PaDiMScorer{Model: m, Backbone: bb}
	stopScore := score.start()
	scored, err := experiments.ScoreSplit(ctx, scorer, split, loader, experiments.ScoreGroup, nil)
	if err != nil {
		return r, err
	}
	stopScore()
	put("decode", clock.decoding)
	put("features_test", clock.features)
	r.Seconds["score"] = (score.wall - clock.features.wall - clock.decoding.wall).Seconds()
	r.CPUSeconds["score"] = (score.cpu - clock.features.cpu - clock.decoding.cpu).Seconds()

	var metrics, pro stopwatch
	stopMetrics := metrics.start()
	if r.ImageAUROC, err = eval.AUROC(scored.Scores, scored.Labels); err != nil {
		return r, err
	}
	if r.PixelAUROC, err = eval.PixelAUROC(scored.Maps, scored.Masks); err != nil {
		return r, err
	}
	stopMetrics()
	put("metrics", metrics)
	stopPRO := pro.start()
	if _, err := eval.PRO(scored.Maps, scored.Masks, scored.W, eval.PaperPROLimit); err != nil {
		return r, err
	}
	stopPRO()
	put("pro", pro)
	for _, k := range []string{"decode", "features_train", "fit", "features_test", "score", "metrics"} {
		r.Seconds["total"] += r.Seconds[k]
		r.CPUSeconds["total"] += r.CPUSeconds[k]
	}
	r.PeakRSSBytes = peakRSS()
	return r, nil
}

// peakRSS is this process's peak resident set size (VmHWM), 0 when
// /proc/self/status cannot be read.
func peakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// startCPUProfile writes a pprof CPU profile to path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// runBenchE2E runs every configuration in a child process (so each peak
// RSS is its own), then the PyTorch script, and writes the report.
func runBenchE2E(ctx context.Context, stdout, stderr io.Writer, o e2eOptions) error {
	split, err := benchDataset(o)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var goRes, torchRes []e2eResult
	for _, c := range o.configs {
		name, d, err := parseConfig(c)
		if err != nil {
			return err
		}
		args := []string{"bench", "end-to-end", "--child", c, "--threads", strconv.Itoa(nn.Threads()),
			"--train", strconv.Itoa(o.train), "--test", strconv.Itoa(o.test), "--size", strconv.Itoa(o.size),
			"--batch", strconv.Itoa(o.batch), "--seed", strconv.FormatUint(o.seed, 10), "--category", o.category}
		if o.data != "" {
			args = append(args, "--data", o.data)
		}
		if o.workDir != "" {
			args = append(args, "--work", o.workDir)
		}
		var r e2eResult
		if err := runJSONChild(ctx, stderr, &r, self, args...); err != nil {
			return fmt.Errorf("bench end-to-end: go %s: %w", c, err)
		}
		fmt.Fprintf(stderr, "go    %-16s d=%-4d total %6.1fs, inference %.3f s/image, peak RSS %.2f GiB\n",
			name, d, r.Seconds["total"], r.inferPerImage(), float64(r.PeakRSSBytes)/(1<<30))
		goRes = append(goRes, r)
		if o.noTorch {
			continue
		}
		list, err := writeFileList(split, o)
		if err != nil {
			return err
		}
		var t e2eResult
		err = runJSONChild(ctx, stderr, &t, o.python, o.script, "--threads", strconv.Itoa(nn.Threads()), "--backbone", name,
			"--d", strconv.Itoa(d), "--batch", strconv.Itoa(o.batch), "--seed", strconv.FormatUint(o.seed, 10), "--files", list)
		os.Remove(list)
		if err != nil {
			fmt.Fprintf(stderr, "bench end-to-end: PyTorch comparison for %s skipped: %v\n", c, err)
			continue
		}
		fmt.Fprintf(stderr, "torch %-16s d=%-4d total %6.1fs, inference %.3f s/image, peak RSS %.2f GiB\n",
			name, d, t.Seconds["total"], t.inferPerImage(), float64(t.PeakRSSBytes)/(1<<30))
		torchRes = append(torchRes, t)
	}
	report := e2eReport(goRes, torchRes, e2eMeta{
		benchMeta: benchMeta{threads: nn.Threads(), gomaxprocs: runtime.GOMAXPROCS(0), blas: blas.Backend + " (core " + blas.CoreName() + ")",
			goVersion: runtime.Version(), cpu: cpuModel(), date: time.Now().UTC().Format("2006-01-02 15:04 UTC")},
		category: o.category, size: o.size, load: loadAverage(), coreType: os.Getenv("OPENBLAS_CORETYPE"),
	})
	fmt.Fprint(stdout, report)
	if o.out == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteBytes(o.out, []byte(report))
}

// runJSONChild runs a command, passing its stderr through, and decodes the
// last JSON object line of its stdout into v.
func runJSONChild(ctx context.Context, stderr io.Writer, v any, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	var errBuf bytes.Buffer
	cmd.Stderr = io.MultiWriter(stderr, &errBuf)
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, lastLines(errBuf.String(), 3))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "{") {
			return json.Unmarshal([]byte(lines[i]), v)
		}
	}
	return fmt.Errorf("%s %s printed no JSON result", name, strings.Join(args, " "))
}

// benchFileList is what the PyTorch script reads: the exact files, in
// order, that the Go side used.
type benchFileList struct {
	Train []string     `json:"train"`
	Test  []benchImage `json:"test"`
}

type benchImage struct {
	Path  string `json:"path"`
	Mask  string `json:"mask,omitempty"`
	Label int    `json:"label"`
}

func writeFileList(split *datasets.Split, o e2eOptions) (string, error) {
	var l benchFileList
	for _, s := range split.Train[:o.train] {
		l.Train = append(l.Train, s.Path)
	}
	for _, s := range split.Test[:o.test] {
		l.Test = append(l.Test, benchImage{Path: s.Path, Mask: s.MaskPath, Label: s.Label})
	}
	b, err := json.Marshal(l)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(o.workDir, "padim-bench-files-*.json")
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		return "", fmt.Errorf("%s: %w", f.Name(), err)
	}
	return f.Name(), f.Close()
}

// loadAverage is /proc/loadavg's first three fields, "" off Linux.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

type e2eMeta struct {
	benchMeta
	category, load, coreType string
	size                     int
}

// e2eStages are the rows of the time table, in pipeline order.
var e2eStages = []struct{ key, label string }{
	{"decode", "decode + preprocess (train and test)"},
	{"features_train", "backbone, training images"},
	{"fit", "Gaussian fit (embedding, covariances; Go: Cholesky factors, PyTorch: inverses)"},
	{"finalize", "  of which after the last batch (factorisations / inversions)"},
	{"features_test", "backbone, test images"},
	{"score", "Mahalanobis + upsample + blur"},
	{"metrics", "image and pixel AUROC"},
	{"total", "**end to end** (sum of the above)"},
	{"model_io", "not in total: write + memory-map the model (Go)"},
	{"pro", "not in total: PRO up to FPR 0.3 (Go)"},
}

// e2eReport renders reports/bench.md.
func e2eReport(goRes, torchRes []e2eResult, m e2eMeta) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# PaDiM end to end: Go vs PyTorch\n\n")
	fmt.Fprintf(&b, "Generated by `padim bench end-to-end` on %s.\n\n", m.date)
	if len(goRes) > 0 {
		fmt.Fprintf(&b, "- data: synthetic category %q (`datasets.GenerateSynthetic`, %dx%d PNG), %d training and %d test images, resize 256 + centre crop 224 (Lanczos)\n",
			m.category, m.size, m.size, goRes[0].Train, goRes[0].Test)
	}
	fmt.Fprintf(&b, "- backbones with deterministic random weights (`backbones.NewRandom` / torchvision's default init): speed and memory do not depend on the values\n")
	fmt.Fprintf(&b, "- Go %s, %d threads, GOMAXPROCS %d, BLAS %s, OPENBLAS_CORETYPE=%q\n", m.goVersion, m.threads, m.gomaxprocs, m.blas, m.coreType)
	if len(torchRes) > 0 {
		fmt.Fprintf(&b, "- PyTorch %s (`scripts/bench_torch_e2e.py`), torch.set_num_threads(%d), same files, same OpenBLAS environment\n", torchRes[0].Version, torchRes[0].Threads)
	} else {
		fmt.Fprintf(&b, "- PyTorch comparison not run\n")
	}
	if m.cpu != "" {
		fmt.Fprintf(&b, "- CPU: %s; load average at the end of the run: %s (the machine is shared)\n", m.cpu, m.load)
	}
	fmt.Fprintf(&b, "- each configuration runs in its own process; peak RSS is that process's VmHWM (Go) or ru_maxrss (PyTorch)\n\n")

	torchFor := func(r e2eResult) *e2eResult {
		for i := range torchRes {
			if torchRes[i].Backbone == r.Backbone && torchRes[i].D == r.D {
				return &torchRes[i]
			}
		}
		return nil
	}
	fmt.Fprintf(&b, "## Summary\n\n")
	fmt.Fprintf(&b, "| configuration | Go end to end | PyTorch end to end | Go / PyTorch time | Go / PyTorch CPU time | Go inference s/image | PyTorch inference s/image | Go peak RSS | PyTorch peak RSS | Go image / pixel AUROC |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range goRes {
		tt, ratio, cpuRatio, ti, tm := "-", "-", "-", "-", "-"
		if t := torchFor(r); t != nil {
			tt = fmt.Sprintf("%.1f s", t.Seconds["total"])
			ratio = fmt.Sprintf("%.2fx", r.Seconds["total"]/t.Seconds["total"])
			if t.CPUSeconds["total"] > 0 {
				cpuRatio = fmt.Sprintf("%.2fx", r.CPUSeconds["total"]/t.CPUSeconds["total"])
			}
			ti = fmt.Sprintf("%.3f", t.inferPerImage())
			tm = gib(t.PeakRSSBytes)
		}
		fmt.Fprintf(&b, "| %s d=%d | %.1f s | %s | %s | %s | %.3f | %s | %s | %s | %.3f / %.3f |\n",
			r.Backbone, r.D, r.Seconds["total"], tt, ratio, cpuRatio, r.inferPerImage(), ti, gib(r.PeakRSSBytes), tm, r.ImageAUROC, r.PixelAUROC)
	}
	fmt.Fprintf(&b, "\nInference per image is backbone + Mahalanobis + upsample + blur over the test set divided by the number of test images "+
		"(the paper: 0.95 s for Wide-ResNet-50-2 d=550 on a 4-core i7). CPU time is user + system time of all threads of the process: "+
		"on a shared machine it is the steadier measure of work, while wall time also counts the time other processes held the cores. "+
		"AUROCs are of random-weight features and only show that the pipeline ran.\n")
	for _, r := range goRes {
		fmt.Fprintf(&b, "\n## %s d=%d: seconds per stage\n\n", r.Backbone, r.D)
		fmt.Fprintf(&b, "| stage | Go | PyTorch | Go / PyTorch | Go CPU | PyTorch CPU | Go / PyTorch CPU |\n|---|---:|---:|---:|---:|---:|---:|\n")
		t := torchFor(r)
		cell := func(m map[string]float64, key string) (float64, string, bool) {
			v, ok := m[key]
			if !ok {
				return 0, "-", false
			}
			return v, fmt.Sprintf("%.2f", v), true
		}
		ratio := func(a, b float64, ok bool) string {
			if !ok || b <= 0 {
				return "-"
			}
			return fmt.Sprintf("%.2fx", a/b)
		}
		for _, s := range e2eStages {
			var tw, tc map[string]float64
			if t != nil {
				tw, tc = t.Seconds, t.CPUSeconds
			}
			gw, gws, gok := cell(r.Seconds, s.key)
			tv, tws, tok := cell(tw, s.key)
			gc, gcs, gcok := cell(r.CPUSeconds, s.key)
			tcv, tcs, tcok := cell(tc, s.key)
			if !gok && !tok {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", s.label, gws, tws, ratio(gw, tv, gok && tok), gcs, tcs, ratio(gc, tcv, gcok && tcok))
		}
	}
	return b.String()
}

func gib(bytes int64) string {
	if bytes <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f GiB", float64(bytes)/(1<<30))
}

// ---------------------------------------------------------------------------
// padim bench memory

// memoryOptions are the flags of `padim bench memory`.
type memoryOptions struct {
	e2eOptions
	backbone  string
	d         int
	ns, ds    []int
	crops     []int
	curveN    int
	outPrefix string
}

func init() {
	var o memoryOptions
	cmd := &cobra.Command{
		Use:   "memory [--out reports/memory]",
		Short: "Peak RSS of padim fit against the number of training images, d and grid positions",
		Long: `memory fits PaDiM (Wide-ResNet-50-2 with random weights, synthetic images) in
a fresh child process per point and records the child's peak resident memory
(VmHWM): over the number of training images at the paper's d=550, over d,
and over the number of grid positions (crop sizes). It writes OUT.md with the
table and the memory the accumulators and factors need by formula, and
OUT.png (against N), OUT-d.png and OUT-positions.png, all atomically.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			nn.SetThreads(threads)
			return runBenchMemory(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.backbone, "backbone", "wide_resnet50_2", "backbone")
	f.IntVar(&o.d, "d", 550, "embedding dimension of the N curve")
	f.IntSliceVar(&o.ns, "n", []int{50, 100, 200, 400}, "training set sizes")
	f.IntSliceVar(&o.ds, "dims", []int{100, 250, 400, 550}, "dimensions of the d curve")
	f.IntSliceVar(&o.crops, "crops", []int{128, 160, 192, 224}, "crop sides of the positions curve ((side/4)^2 positions)")
	f.IntVar(&o.curveN, "curve-n", 50, "training images for the d and positions curves")
	f.StringVar(&o.data, "data", "", "synthetic dataset root (default $PADIM_CACHE/bench-synthetic); generated when missing")
	f.StringVar(&o.category, "category", "bottle", "synthetic category")
	f.IntVar(&o.batch, "batch", 8, "images per backbone call")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the random weights and channels")
	f.StringVar(&o.outPrefix, "out", "reports/memory", "report prefix: writes PREFIX.md, PREFIX.png, PREFIX-d.png and PREFIX-positions.png")
	benchCmd.AddCommand(cmd)
}

// memoryPoint is one child fit.
type memoryPoint struct {
	n, d, crop int
	positions  int
	peak       int64
	formula    int64
	seconds    float64
}

// fitFormulaBytes is what padim.Fit holds by construction at its peak for
// P positions, dimension d and an accumulation buffer of acc images
// (padim.FitHeldBytes).
func fitFormulaBytes(p, d, acc int) int64 { return padim.FitHeldBytes(p, d, acc) }

func runBenchMemory(ctx context.Context, stdout, stderr io.Writer, o memoryOptions) error {
	maxN := slices.Max(append(slices.Clone(o.ns), o.curveN))
	o.train, o.test, o.size = maxN, 4, 256
	if _, err := benchDataset(o.e2eOptions); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	measure := func(n, d, crop int) (memoryPoint, error) {
		args := []string{"bench", "end-to-end", "--child", fmt.Sprintf("%s:%d", o.backbone, d), "--fit-only",
			"--threads", strconv.Itoa(nn.Threads()), "--train", strconv.Itoa(maxN), "--use-train", strconv.Itoa(n),
			"--test", "4", "--size", "256", "--crop", strconv.Itoa(crop), "--batch", strconv.Itoa(o.batch),
			"--seed", strconv.FormatUint(o.seed, 10), "--category", o.category}
		if o.data != "" {
			args = append(args, "--data", o.data)
		}
		var r e2eResult
		if err := runJSONChild(ctx, stderr, &r, self, args...); err != nil {
			return memoryPoint{}, err
		}
		pos := (crop / 4) * (crop / 4)
		p := memoryPoint{n: n, d: d, crop: crop, positions: pos, peak: r.PeakRSSBytes,
			formula: fitFormulaBytes(pos, d, 64), seconds: r.Seconds["total"]}
		fmt.Fprintf(stderr, "memory %s N=%d d=%d %dx%d positions: peak RSS %.2f GiB (accumulators + factors %.2f GiB) in %.0fs\n",
			o.backbone, n, d, crop/4, crop/4, float64(p.peak)/(1<<30), float64(p.formula)/(1<<30), p.seconds)
		return p, nil
	}
	cache := map[[3]int]memoryPoint{}
	get := func(n, d, crop int) (memoryPoint, error) {
		k := [3]int{n, d, crop}
		if p, ok := cache[k]; ok {
			return p, nil
		}
		p, err := measure(n, d, crop)
		cache[k] = p
		return p, err
	}
	var byN, byD, byP []memoryPoint
	for _, n := range o.ns {
		p, err := get(n, o.d, 224)
		if err != nil {
			return err
		}
		byN = append(byN, p)
	}
	for _, d := range o.ds {
		p, err := get(o.curveN, d, 224)
		if err != nil {
			return err
		}
		byD = append(byD, p)
	}
	for _, c := range o.crops {
		p, err := get(o.curveN, o.d, c)
		if err != nil {
			return err
		}
		byP = append(byP, p)
	}
	report := memoryReport(o, byN, byD, byP)
	fmt.Fprint(stdout, report)
	if err := os.MkdirAll(filepath.Dir(o.outPrefix), 0o755); err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(o.outPrefix+".md", []byte(report)); err != nil {
		return err
	}
	gb := func(ps []memoryPoint, x func(memoryPoint) int, y func(memoryPoint) int64) ([]float64, []float64) {
		var xs, ys []float64
		for _, p := range ps {
			xs = append(xs, float64(x(p)))
			ys = append(ys, float64(y(p))/(1<<30))
		}
		return xs, ys
	}
	peak := func(p memoryPoint) int64 { return p.peak }
	formula := func(p memoryPoint) int64 { return p.formula }
	nx, ny := gb(byN, func(p memoryPoint) int { return p.n }, peak)
	_, nf := gb(byN, func(p memoryPoint) int { return p.n }, formula)
	if err := plotMemory(o.outPrefix+".png", fmt.Sprintf("padim fit, %s d=%d, 56x56 positions", o.backbone, o.d), "training images N",
		[]memSeries{{"peak RSS", nx, ny}, {"accumulators + factors (formula)", nx, nf}}); err != nil {
		return err
	}
	dx, dy := gb(byD, func(p memoryPoint) int { return p.d }, peak)
	_, df := gb(byD, func(p memoryPoint) int { return p.d }, formula)
	if err := plotMemory(o.outPrefix+"-d.png", fmt.Sprintf("padim fit, %s, N=%d, 56x56 positions", o.backbone, o.curveN), "embedding dimension d",
		[]memSeries{{"peak RSS", dx, dy}, {"accumulators + factors (formula)", dx, df}}); err != nil {
		return err
	}
	px, py := gb(byP, func(p memoryPoint) int { return p.positions }, peak)
	_, pf := gb(byP, func(p memoryPoint) int { return p.positions }, formula)
	return plotMemory(o.outPrefix+"-positions.png", fmt.Sprintf("padim fit, %s, N=%d, d=%d", o.backbone, o.curveN, o.d), "grid positions",
		[]memSeries{{"peak RSS", px, py}, {"accumulators + factors (formula)", px, pf}})
}

// memSeries is one line of a memory plot, y in GiB.
type memSeries struct {
	name string
	x, y []float64
}

// plotMemory draws GiB against x, with points, to a PNG written atomically.
func plotMemory(path, title, xLabel string, series []memSeries) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = "GiB"
	p.Add(plotter.NewGrid())
	p.Y.Min = 0
	for i, s := range series {
		pts := make(plotter.XYs, len(s.x))
		for j := range s.x {
			pts[j].X, pts[j].Y = s.x[j], s.y[j]
			p.Y.Max = max(p.Y.Max, s.y[j]*1.15)
		}
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", path, s.name, err)
		}
		l.Color, sc.Color = plotutil.Color(i), plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i)
		sc.Shape = plotutil.Shape(i)
		p.Add(l, sc)
		p.Legend.Add(s.name, l, sc)
	}
	p.Legend.Top = false
	p.Legend.Left = false
	wt, err := p.WriterTo(6*vg.Inch, 4*vg.Inch, "png")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := wt.WriteTo(w)
		return err
	})
}

func memoryReport(o memoryOptions, byN, byD, byP []memoryPoint) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Peak memory of padim fit\n\n")
	fmt.Fprintf(&b, "Generated by `padim bench memory` on %s (CPU: %s, BLAS %s core %s, %d threads, load average %s).\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), cpuModel(), blas.Backend, blas.CoreName(), nn.Threads(), loadAverage())
	fmt.Fprintf(&b, "Each point is one `padim.Fit` of %s (random weights) on synthetic 256x256 images (resize 256, centre crop), in a fresh process; "+
		"peak RSS is the process's VmHWM after the fit. *Formula* is what the fit holds by construction at its peak (`padim.FitHeldBytes`): float64 shift, sum and "+
		"upper triangle of the sum of outer products (in 32-row panels) per position, plus the float32 buffer of 64 images' embeddings; "+
		"the float32 means and packed Cholesky factors of the covariances are written over the consumed sums and add nothing. "+
		"The rest is the Go runtime, the backbone and its activations for one batch of %d, and per-worker scratch.\n\n", o.backbone, o.batch)
	table := func(title string, ps []memoryPoint) {
		fmt.Fprintf(&b, "## %s\n\n| N | d | positions | peak RSS | formula | fit wall seconds (shared machine) |\n|---:|---:|---:|---:|---:|---:|\n", title)
		for _, p := range ps {
			fmt.Fprintf(&b, "| %d | %d | %d | %s | %s | %.0f |\n", p.n, p.d, p.positions, gib(p.peak), gib(p.formula), p.seconds)
		}
		fmt.Fprintln(&b)
	}
	table("Against the number of training images", byN)
	fmt.Fprintf(&b, "![peak RSS against N](%s.png)\n\n", filepath.Base(o.outPrefix))
	table("Against d", byD)
	table("Against grid positions", byP)
	fmt.Fprintf(&b, "![peak RSS against d](%[1]s-d.png) ![peak RSS against positions](%[1]s-positions.png)\n", filepath.Base(o.outPrefix))
	return b.String()
}
