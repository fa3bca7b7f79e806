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
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/internal/atomicfile"
	"github.com/padim-go/padim/internal/blas"
	"github.com/padim-go/padim/internal/nn"
	"github.com/padim-go/padim/internal/tensor"
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
	python    string
	script    string
	noTorch   bool
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
thread count and reports the Go/PyTorch speed ratio. The table goes to stdout
and, atomically, to --out.`,
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
	f.StringVar(&o.python, "python", "/usr/bin/python3", "python with torch and torchvision for the comparison")
	f.StringVar(&o.script, "torch-script", "scripts/bench_torch_backbones.py", "the PyTorch side of the benchmark")
	f.BoolVar(&o.noTorch, "no-torch", false, "skip the PyTorch comparison")
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
	var rows []benchRow
	for _, name := range o.backbones {
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
		for _, batch := range o.batches {
			x := tensor.New(batch, 3, o.size, o.size)
			for i := range x.Data {
				x.Data[i] = float32(i%251)/125 - 1
			}
			d, runs, err := timeRuns(ctx, o.minTime, o.minRuns, func() error {
				_, err := b.Forward(x, []string{deepest})
				return err
			})
			if err != nil {
				return err
			}
			r := benchRow{backbone: name, upTo: deepest, batch: batch, flopsImage: flops, goTime: d, goRuns: runs}
			fmt.Fprintf(stderr, "go    %-16s batch %d: %8.2f img/s %7.1f GFLOP/s (%d runs)\n", name, batch, r.goImagesPerSec(), r.goGFLOPs(), runs)
			rows = append(rows, r)
		}
	}
	torchVersion := ""
	if !o.noTorch {
		v, err := benchTorch(ctx, stderr, o, rows)
		if err != nil {
			fmt.Fprintf(stderr, "bench backbones: PyTorch comparison skipped: %v\n", err)
		}
		torchVersion = v
	}
	report := backboneBenchTable(rows, benchMeta{
		threads: nn.Threads(), gomaxprocs: runtime.GOMAXPROCS(0), blas: blas.Backend,
		goVersion: runtime.Version(), cpu: cpuModel(), torch: torchVersion, size: o.size,
		date: time.Now().UTC().Format("2006-01-02 15:04 UTC"),
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

// benchTorch runs the PyTorch script for the same cases and fills
// rows[i].torchTime. It returns the torch version.
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
				rows[i].torchTime = time.Duration(r.Seconds * float64(time.Second))
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
	size                int
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
	fmt.Fprintf(&b, "- GFLOP counts convolutions only, two FLOPs per multiply-add; times are medians over the timed runs\n\n")
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
