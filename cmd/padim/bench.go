package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/benchmark"
	"github.com/padim-go/padim/internal/atomicfile"
	"github.com/padim-go/padim/internal/nn"
)

// benchCmd groups the benchmarks of package benchmark; each adds itself
// as a subcommand.
var benchCmd = &cobra.Command{
	Use:   "bench",
	Short: "Measure throughput and write reports/bench*.md",
}

func init() {
	var o benchmark.BackboneOptions
	cmd := &cobra.Command{
		Use:   "backbones [--out reports/bench-backbones.md]",
		Short: "Images/s and GFLOP/s of each backbone up to its PaDiM layers, against ONNX Runtime and PyTorch",
		Long: `backbones times each backbone (zero weights: speed does not depend on them)
from the input to the deepest layer PaDiM uses (layer3 for the ResNets, block25
= the paper's layer 26 for EfficientNet-B5) at batch 1 and 8, and reports
images/s and achieved GFLOP/s, counting convolution FLOPs analytically (two per
multiply-add), with their share of the machine's sgemm roof (one large sgemm
timed in the same run). Two optional anchors run on the same networks, layers,
sizes and thread count, and the report gives Go's speed ratio to each:
ONNX Runtime, when node, the npm package onnxruntime-node (--ort-dir) and the
models exported by scripts/export_onnx.py (--onnx-dir) are present (see
scripts/README.md), through scripts/bench_ort_backbones.mjs; and PyTorch, when
python3 with torch is present, through scripts/bench_torch_backbones.py. The
report says which anchor is missing and why. Go and the anchors run in
alternating rounds (--rounds) and each keeps its fastest, because the speed of
a shared host drifts over minutes. A second table times each
ungrouped ResNet convolution against one cblas_sgemm of the same matrix sizes
(the GEMM the convolution amounts to) and names the kernel that ran. The
tables go to stdout and, atomically, to --out.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			nn.SetThreads(threads)
			if err := checkBenchOutputs("bench backbones", o.Out); err != nil {
				return err
			}
			return benchmark.RunBackbones(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.Backbones, "backbones", backbones.Names(), "backbones to time")
	f.IntSliceVar(&o.Batches, "batches", []int{1, 8}, "batch sizes")
	f.IntVar(&o.Size, "size", 224, "square input side")
	f.DurationVar(&o.MinTime, "min-time", 3*time.Second, "timed runs per case last at least this long")
	f.IntVar(&o.MinRuns, "min-runs", 2, "at least this many timed runs per case")
	f.IntVar(&o.Rounds, "rounds", 3, "alternating rounds of Go and the anchors; each side keeps its fastest")
	f.StringVar(&o.Python, "python", "/usr/bin/python3", "python with torch and torchvision for the comparison")
	f.StringVar(&o.Script, "torch-script", "scripts/bench_torch_backbones.py", "the PyTorch side of the benchmark")
	f.BoolVar(&o.NoTorch, "no-torch", false, "skip the PyTorch comparison")
	f.StringVar(&o.Node, "node", "node", "node for the ONNX Runtime comparison")
	f.StringVar(&o.ORTScript, "ort-script", "scripts/bench_ort_backbones.mjs", "the ONNX Runtime side of the benchmark")
	f.StringVar(&o.ORTDir, "ort-dir", filepath.Join(cacheDir(), "ort"), "folder where onnxruntime-node is installed (node_modules/onnxruntime-node)")
	f.StringVar(&o.ONNXDir, "onnx-dir", filepath.Join(cacheDir(), "onnx"), "models exported by scripts/export_onnx.py (<backbone>.onnx)")
	f.BoolVar(&o.NoORT, "no-ort", false, "skip the ONNX Runtime comparison")
	f.BoolVar(&o.NoConvs, "no-convs", false, "skip the per-convolution comparison with the bare sgemm")
	f.StringVar(&o.Out, "out", "reports/bench-backbones.md", "markdown report (written atomically); empty = stdout only")
	benchCmd.AddCommand(cmd)
	rootCmd.AddCommand(benchCmd)
}

// benchSelf is the command line that runs `padim bench end-to-end` in a
// child process.
func benchSelf() ([]string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return []string{self, "bench", "end-to-end"}, nil
}

// defaultBenchData is where the benchmarks generate their synthetic data
// unless --data says otherwise.
func defaultBenchData(data string) string {
	if data != "" {
		return data
	}
	return filepath.Join(cacheDir(), "bench-synthetic")
}

func init() {
	var o benchmark.E2EOptions
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
			o.Data = defaultBenchData(o.Data)
			if o.Child != "" {
				return benchmark.RunE2EChild(cmd.Context(), cmd.OutOrStdout(), o)
			}
			if err := checkBenchOutputs("bench end-to-end", o.Out); err != nil {
				return err
			}
			self, err := benchSelf()
			if err != nil {
				return err
			}
			o.Self = self
			return benchmark.RunE2E(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.Configs, "configs", []string{paperConfig("resnet18"), paperConfig("wide_resnet50_2")}, "backbone:d pairs to run")
	benchDataFlags(cmd, &o)
	f.IntVar(&o.Train, "train", 200, "training images")
	f.IntVar(&o.Test, "test", 100, "test images (a quarter normal, the rest split over the three defect types)")
	f.IntVar(&o.Size, "size", 256, "side of the generated images (preprocessing: resize 256, centre crop 224)")
	f.StringVar(&o.Python, "python", "/usr/bin/python3", "python with torch, torchvision, scipy and sklearn for the comparison")
	f.StringVar(&o.Script, "torch-script", "scripts/bench_torch_e2e.py", "the PyTorch side of the benchmark")
	f.BoolVar(&o.NoTorch, "no-torch", false, "skip the PyTorch comparison")
	f.StringVar(&o.Out, "out", "reports/bench.md", "markdown report (written atomically); empty = stdout only")
	f.StringVar(&o.WorkDir, "work", "", "directory for the temporary model file (default: the system temp dir)")
	f.StringVar(&o.Child, "child", "", "internal: run one backbone:d configuration in this process and print its JSON result")
	f.BoolVar(&o.FitOnly, "fit-only", false, "internal: stop after the fit (with --child; used by bench memory)")
	f.StringVar(&o.CPUProfile, "cpuprofile", "", "with --child: write a CPU profile of the run to this file")
	f.IntVar(&o.UseTrain, "use-train", 0, "internal: with --child, fit on only the first N training images")
	f.IntVar(&o.Crop, "crop", 0, "internal: with --child, centre crop side instead of 224")
	_ = f.MarkHidden("use-train")
	_ = f.MarkHidden("crop")
	_ = f.MarkHidden("child")
	_ = f.MarkHidden("fit-only")
	benchCmd.AddCommand(cmd)
}

// paperDims is the paper's d for a registered backbone.
func paperDims(backbone string) int {
	s, err := backbones.Lookup(backbone)
	if err != nil {
		panic(err) // called with registered names only
	}
	return s.PaDiMDims
}

// paperConfig is "backbone:d" with the paper's d.
func paperConfig(backbone string) string {
	return backbone + ":" + strconv.Itoa(paperDims(backbone))
}

// benchDataFlags are the flags end-to-end and memory share: the synthetic
// data and the fit's batch and seed.
func benchDataFlags(cmd *cobra.Command, o *benchmark.E2EOptions) {
	f := cmd.Flags()
	f.StringVar(&o.Data, "data", "", "synthetic dataset root (default $PADIM_CACHE/bench-synthetic); generated when missing")
	f.StringVar(&o.Category, "category", "bottle", "synthetic category")
	f.IntVar(&o.Batch, "batch", 8, "images per backbone call")
	f.Uint64Var(&o.Seed, "seed", 1, "seed of the random backbone weights and of the channel draw")
}

func init() {
	var o benchmark.MemoryOptions
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
			o.Data = defaultBenchData(o.Data)
			if o.OutPrefix == "" {
				return fmt.Errorf("bench memory: --out is empty; give a report prefix such as reports/memory")
			}
			if err := checkBenchOutputs("bench memory", o.OutPrefix+".md", o.OutPrefix+".png", o.OutPrefix+"-d.png", o.OutPrefix+"-positions.png"); err != nil {
				return err
			}
			self, err := benchSelf()
			if err != nil {
				return err
			}
			o.Self = self
			return benchmark.RunMemory(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Backbone, "backbone", "wide_resnet50_2", "backbone")
	f.IntVar(&o.D, "d", paperDims("wide_resnet50_2"), "embedding dimension of the N and positions curves")
	f.IntSliceVar(&o.Ns, "n", []int{50, 100, 200, 400}, "training set sizes")
	f.IntSliceVar(&o.Ds, "dims", []int{100, 250, 400, 550}, "dimensions of the d curve")
	f.IntSliceVar(&o.Crops, "crops", []int{128, 160, 192, 224}, "crop sides of the positions curve ((side/4)^2 positions)")
	f.IntVar(&o.CurveN, "curve-n", 50, "training images for the d and positions curves")
	benchDataFlags(cmd, &o.E2EOptions)
	f.StringVar(&o.OutPrefix, "out", "reports/memory", "report prefix: writes PREFIX.md, PREFIX.png, PREFIX-d.png and PREFIX-positions.png")
	benchCmd.AddCommand(cmd)
}

// checkBenchOutputs refuses report paths that cannot be written before a
// benchmark runs for minutes; "" (stdout only) passes.
func checkBenchOutputs(command string, paths ...string) error {
	for _, p := range paths {
		if p == "" {
			continue
		}
		if err := atomicfile.CheckTarget(p); err != nil {
			return fmt.Errorf("%s: --out %w", command, err)
		}
	}
	return nil
}
