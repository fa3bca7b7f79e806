package benchmark

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/eval"
	"github.com/padim-go/padim/experiments"
	"github.com/padim-go/padim/internal/blas"
	"github.com/padim-go/padim/internal/nn"
	"github.com/padim-go/padim/internal/table"
	"github.com/padim-go/padim/padim"
)

// E2EOptions configure RunE2E and RunE2EChild.
type E2EOptions struct {
	Configs  []string // backbone:d pairs
	Data     string   // root of the generated synthetic datasets
	Category string
	Train    int // training images
	Test     int // test images (a quarter normal, the rest over three defect types)
	Size     int // side of the generated images
	Batch    int // images per backbone call
	Seed     uint64
	Python   string // python with torch, torchvision, scipy and sklearn
	Script   string // scripts/bench_torch_e2e.py
	NoTorch  bool
	Out      string // Markdown report, written atomically; "" = stdout only
	WorkDir  string // directory for the temporary model and file list; "" = the system's

	// Self is the command that runs one configuration in a child process:
	// the padim executable and "bench", "end-to-end". The child flags
	// appended to it are --child, --fit-only, --use-train, --crop and the
	// flags of the fields above.
	Self []string

	// Child-side settings (RunE2EChild).
	Child      string // the backbone:d to run
	UseTrain   int    // fit on only the first UseTrain training images; 0 = all
	Crop       int    // centre crop side; 0 = the paper's 224
	FitOnly    bool   // stop after the fit (bench memory)
	CPUProfile string // write a CPU profile of the run here
}

// E2EResult is one pipeline run, Go or PyTorch; scripts/bench_torch_e2e.py
// prints the same JSON fields.
type E2EResult struct {
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
func (r E2EResult) inferPerImage() float64 {
	return (r.Seconds["features_test"] + r.Seconds["score"]) / float64(max(r.Test, 1))
}

// put adds a stopwatch's wall and CPU time to a stage.
func (r *E2EResult) put(key string, s stopwatch) {
	r.Seconds[key] += s.wall.Seconds()
	r.CPUSeconds[key] += s.cpu.Seconds()
}

// ParseConfig splits "backbone:d".
func ParseConfig(s string) (string, int, error) {
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

// syntheticSplit generates the synthetic category when its directory is
// missing and loads the split, checking it has at least o.Train training
// and o.Test test images (the test images keep a quarter normal).
func syntheticSplit(o E2EOptions) (*datasets.Split, error) {
	if o.Train < 2 || o.Test < 4 {
		return nil, fmt.Errorf("bench: need --train >= 2 and --test >= 4")
	}
	if o.Data == "" {
		return nil, fmt.Errorf("bench: no synthetic dataset root (--data)")
	}
	perDefect := (o.Test - o.Test/4 + 2) / 3
	good := o.Test - 3*perDefect
	root := filepath.Join(o.Data, fmt.Sprintf("s%d-train%d-test%d", o.Size, o.Train, o.Test))
	if _, err := os.Stat(filepath.Join(root, o.Category)); err != nil {
		if err := datasets.GenerateSynthetic(root, datasets.SyntheticOptions{Categories: []string{o.Category}, Size: o.Size,
			Train: o.Train, TestGood: good, TestPerDefect: perDefect, Seed: 1}); err != nil {
			return nil, err
		}
	}
	split, err := datasets.LoadMVTec(root, o.Category)
	if err != nil {
		return nil, err
	}
	if len(split.Train) < o.Train || len(split.Test) < o.Test {
		return nil, fmt.Errorf("bench: %s has %d train and %d test images, need %d and %d (delete it to regenerate)",
			filepath.Join(root, o.Category), len(split.Train), len(split.Test), o.Train, o.Test)
	}
	return split, nil
}

// RunE2EChild runs the configuration o.Child in this process and prints
// its E2EResult as one JSON line to stdout.
func RunE2EChild(ctx context.Context, stdout io.Writer, o E2EOptions) error {
	name, d, err := ParseConfig(o.Child)
	if err != nil {
		return err
	}
	split, err := syntheticSplit(o)
	if err != nil {
		return err
	}
	split.Train = split.Train[:o.Train]
	if o.UseTrain > 0 {
		split.Train = split.Train[:min(o.UseTrain, o.Train)]
	}
	split.Test = split.Test[:o.Test]
	if o.CPUProfile != "" {
		stop, err := startCPUProfile(o.CPUProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	r, err := runPipeline(ctx, name, d, split, o)
	if err != nil {
		return err
	}
	return writeJSONLine(stdout, r)
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

// runPipeline is the timed pipeline: fit, then (unless o.FitOnly) write
// and memory-map the model, score the test set and compute the metrics.
func runPipeline(ctx context.Context, name string, d int, split *datasets.Split, o E2EOptions) (E2EResult, error) {
	r := E2EResult{Impl: "go", Backbone: name, D: d, Train: len(split.Train), Test: len(split.Test), Threads: nn.Threads(),
		Seconds: map[string]float64{}, CPUSeconds: map[string]float64{}, Version: runtime.Version(), BLASCore: blas.Backend + "/" + blas.CoreName()}
	net, err := backbones.NewRandom(name, o.Seed)
	if err != nil {
		return r, err
	}
	clock := &phaseClock{}
	bb := &timedBackbone{Backbone: net, clock: clock}
	pre := datasets.PaperPreprocess()
	if o.Crop > 0 {
		pre.Crop = o.Crop
	}
	loader := &timedLoader{Preprocess: pre, clock: clock}
	m, fit, err := timeFit(ctx, &r, bb, loader, split.Train, o)
	if err != nil {
		return r, err
	}
	if o.FitOnly {
		r.Seconds["total"], r.CPUSeconds["total"] = fit.wall.Seconds(), fit.cpu.Seconds()
		r.PeakRSSBytes = peakRSS()
		return r, nil
	}
	if m, err = timeModelIO(&r, m, o.WorkDir); err != nil {
		return r, err
	}
	defer m.Close()
	scored, err := timeScore(ctx, &r, m, bb, loader, split)
	if err != nil {
		return r, err
	}
	if err := timeMetrics(&r, scored); err != nil {
		return r, err
	}
	for _, k := range []string{"decode", "features_train", "fit", "features_test", "score", "metrics"} {
		r.Seconds["total"] += r.Seconds[k]
		r.CPUSeconds["total"] += r.CPUSeconds[k]
	}
	r.PeakRSSBytes = peakRSS()
	return r, nil
}

// timeFit runs padim.Fit, putting decode, features_train, fit and finalize
// into r, and returns the model and the fit's whole time.
func timeFit(ctx context.Context, r *E2EResult, bb *timedBackbone, loader *timedLoader, train []datasets.Sample, o E2EOptions) (*padim.Model, stopwatch, error) {
	spec, err := backbones.Lookup(r.Backbone)
	if err != nil {
		return nil, stopwatch{}, err
	}
	var fit, finalize stopwatch
	stopFit := fit.start()
	var stopFinalize func()
	m, err := padim.Fit(ctx, padim.FitConfig{Layers: spec.PaDiMLayers, D: r.D, Seed: o.Seed, BatchSize: o.Batch,
		Preprocess: experiments.Policy(loader.Preprocess)}, bb, train, loader, func(done, total int) {
		if done == total { // the last batch is in: what follows is the final fold and the factorisations
			stopFinalize = finalize.start()
		}
	})
	if err != nil {
		return nil, fit, err
	}
	stopFit()
	if stopFinalize != nil {
		stopFinalize()
	}
	clock := bb.clock
	r.put("decode", clock.decoding)
	r.put("features_train", clock.features)
	r.put("finalize", finalize)
	r.Seconds["fit"] = (fit.wall - clock.decoding.wall - clock.features.wall).Seconds()
	r.CPUSeconds["fit"] = (fit.cpu - clock.decoding.cpu - clock.features.cpu).Seconds()
	return m, fit, nil
}

// timeModelIO writes the model and memory-maps it back, as `padim fit`
// and `padim test` do, and returns the mapped model.
func timeModelIO(r *E2EResult, m *padim.Model, workDir string) (*padim.Model, error) {
	var modelIO stopwatch
	stopIO := modelIO.start()
	dir, err := os.MkdirTemp(workDir, "padim-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir) // the mapping stays valid after the file is removed
	path := filepath.Join(dir, "model.padim")
	if err := m.WriteFile(path); err != nil {
		return nil, err
	}
	m = nil
	debug.FreeOSMemory() // the fit's accumulators are garbage now
	mapped, err := padim.ReadModel(path)
	if err != nil {
		return nil, err
	}
	stopIO()
	r.put("model_io", modelIO)
	return mapped, nil
}

// timeScore scores the test set with experiments.ScoreSplit, as `padim
// test` runs it: groups of experiments.ScoreGroup images per call (the
// backbone inside still runs at most padim.ScoreBackboneBatch at a time),
// the next group decoded while this one is scored.
func timeScore(ctx context.Context, r *E2EResult, m *padim.Model, bb *timedBackbone, loader *timedLoader, split *datasets.Split) (*experiments.Scored, error) {
	clock := bb.clock
	clock.reset()
	var score stopwatch
	stopScore := score.start()
	scored, err := experiments.ScoreSplit(ctx, experiments.PaDiMScorer{Model: m, Backbone: bb}, split, loader, experiments.ScoreGroup, nil)
	if err != nil {
		return nil, err
	}
	stopScore()
	r.put("decode", clock.decoding)
	r.put("features_test", clock.features)
	r.Seconds["score"] = (score.wall - clock.features.wall - clock.decoding.wall).Seconds()
	r.CPUSeconds["score"] = (score.cpu - clock.features.cpu - clock.decoding.cpu).Seconds()
	return scored, nil
}

// timeMetrics computes image and pixel AUROC (the metrics stage) and PRO
// (timed apart: the PyTorch side does not compute it).
func timeMetrics(r *E2EResult, scored *experiments.Scored) error {
	var metrics, pro stopwatch
	stopMetrics := metrics.start()
	var err error
	if r.ImageAUROC, err = eval.AUROC(scored.Scores, scored.Labels); err != nil {
		return err
	}
	if r.PixelAUROC, err = eval.PixelAUROC(scored.Maps, scored.Masks); err != nil {
		return err
	}
	stopMetrics()
	r.put("metrics", metrics)
	stopPRO := pro.start()
	if _, err := eval.PRO(scored.Maps, scored.Masks, scored.W, eval.PaperPROLimit); err != nil {
		return err
	}
	stopPRO()
	r.put("pro", pro)
	return nil
}

// childArgs are the arguments after o.Self that run configuration config
// in a child process with o's settings.
func (o E2EOptions) childArgs(config string) []string {
	args := []string{"--child", config, "--threads", strconv.Itoa(nn.Threads()),
		"--train", strconv.Itoa(o.Train), "--test", strconv.Itoa(o.Test), "--size", strconv.Itoa(o.Size),
		"--batch", strconv.Itoa(o.Batch), "--seed", strconv.FormatUint(o.Seed, 10), "--category", o.Category}
	if o.Data != "" {
		args = append(args, "--data", o.Data)
	}
	if o.WorkDir != "" {
		args = append(args, "--work", o.WorkDir)
	}
	if o.FitOnly {
		args = append(args, "--fit-only")
	}
	if o.UseTrain > 0 {
		args = append(args, "--use-train", strconv.Itoa(o.UseTrain))
	}
	if o.Crop > 0 {
		args = append(args, "--crop", strconv.Itoa(o.Crop))
	}
	return args
}

// runChild runs one configuration through o.Self and returns its result.
func (o E2EOptions) runChild(ctx context.Context, stderr io.Writer, config string) (E2EResult, error) {
	var r E2EResult
	if len(o.Self) == 0 {
		return r, fmt.Errorf("bench: no command to run a child (Self is empty)")
	}
	args := append(append([]string(nil), o.Self[1:]...), o.childArgs(config)...)
	err := runJSONChild(ctx, stderr, &r, o.Self[0], args...)
	return r, err
}

// RunE2E runs every configuration in a child process (so each peak RSS is
// its own), then the PyTorch script on the same files, and writes the
// report to stdout and o.Out.
func RunE2E(ctx context.Context, stdout, stderr io.Writer, o E2EOptions) error {
	split, err := syntheticSplit(o)
	if err != nil {
		return err
	}
	var goRes, torchRes []E2EResult
	for _, c := range o.Configs {
		name, d, err := ParseConfig(c)
		if err != nil {
			return err
		}
		r, err := o.runChild(ctx, stderr, c)
		if err != nil {
			return fmt.Errorf("bench end-to-end: go %s: %w", c, err)
		}
		fmt.Fprintf(stderr, "go    %-16s d=%-4d total %6.1fs, inference %.3f s/image, peak RSS %.2f GiB\n",
			name, d, r.Seconds["total"], r.inferPerImage(), float64(r.PeakRSSBytes)/(1<<30))
		goRes = append(goRes, r)
		if o.NoTorch {
			continue
		}
		t, err := o.runTorch(ctx, stderr, split, name, d)
		if err != nil {
			fmt.Fprintf(stderr, "bench end-to-end: PyTorch comparison for %s skipped: %v\n", c, err)
			continue
		}
		fmt.Fprintf(stderr, "torch %-16s d=%-4d total %6.1fs, inference %.3f s/image, peak RSS %.2f GiB\n",
			name, d, t.Seconds["total"], t.inferPerImage(), float64(t.PeakRSSBytes)/(1<<30))
		torchRes = append(torchRes, t)
	}
	report, err := e2eReport(goRes, torchRes, e2eMeta{Machine: probeMachine(), category: o.Category, size: o.Size})
	if err != nil {
		return err
	}
	return writeReport(stdout, o.Out, report)
}

// runTorch runs scripts/bench_torch_e2e.py on the files the Go child used.
func (o E2EOptions) runTorch(ctx context.Context, stderr io.Writer, split *datasets.Split, name string, d int) (E2EResult, error) {
	var t E2EResult
	list, err := writeFileList(split, o.Train, o.Test, o.WorkDir)
	if err != nil {
		return t, err
	}
	defer os.Remove(list)
	err = runJSONChild(ctx, stderr, &t, o.Python, o.Script, "--threads", strconv.Itoa(nn.Threads()), "--backbone", name,
		"--d", strconv.Itoa(d), "--batch", strconv.Itoa(o.Batch), "--seed", strconv.FormatUint(o.Seed, 10), "--files", list)
	return t, err
}

type e2eMeta struct {
	Machine
	category string
	size     int
}

// e2eStages are the rows of the time table, in pipeline order.
var e2eStages = []struct{ key, label string }{
	{"decode", "decode + preprocess (train and test)"},
	{"features_train", "backbone, training images"},
	{"fit", "Gaussian fit (embedding, covariances; Go: Cholesky factors, PyTorch: inverses)"},
	{"finalize", "of which after the last batch (factorisations / inversions)"},
	{"features_test", "backbone, test images"},
	{"score", "Mahalanobis + upsample + blur"},
	{"metrics", "image and pixel AUROC"},
	{"total", "**end to end** (sum of the above)"},
	{"model_io", "not in total: write + memory-map the model (Go)"},
	{"pro", "not in total: PRO up to FPR 0.3 (Go)"},
}

// e2eReport renders reports/bench.md: the summary, then seconds per
// stage for each configuration.
func e2eReport(goRes, torchRes []E2EResult, m e2eMeta) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "# PaDiM end to end: Go vs PyTorch\n\n")
	fmt.Fprintf(&b, "Generated by `padim bench end-to-end` on %s.\n\n", m.Date)
	if len(goRes) > 0 {
		fmt.Fprintf(&b, "- data: synthetic category %q (`datasets.GenerateSynthetic`, %dx%d PNG), %d training and %d test images, resize 256 + centre crop 224 (Lanczos)\n",
			m.category, m.size, m.size, goRes[0].Train, goRes[0].Test)
	}
	fmt.Fprintf(&b, "- backbones with deterministic random weights (`backbones.NewRandom` / torchvision's default init): speed and memory do not depend on the values\n")
	b.WriteString(m.bullets())
	if len(torchRes) > 0 {
		fmt.Fprintf(&b, "- PyTorch %s (`scripts/bench_torch_e2e.py`), torch.set_num_threads(%d), same files, same OpenBLAS environment\n", torchRes[0].Version, torchRes[0].Threads)
	} else {
		fmt.Fprintf(&b, "- PyTorch comparison not run\n")
	}
	fmt.Fprintf(&b, "- each configuration runs in its own process; peak RSS is that process's VmHWM (Go) or ru_maxrss (PyTorch)\n\n")

	torchFor := func(r E2EResult) *E2EResult {
		for i := range torchRes {
			if torchRes[i].Backbone == r.Backbone && torchRes[i].D == r.D {
				return &torchRes[i]
			}
		}
		return nil
	}
	fmt.Fprintf(&b, "## Summary\n\n")
	summary := table.Table{
		Header: []string{"configuration", "Go end to end", "PyTorch end to end", "Go / PyTorch time", "Go / PyTorch CPU time",
			"Go inference s/image", "PyTorch inference s/image", "Go peak RSS", "PyTorch peak RSS", "Go image / pixel AUROC"},
		Align: []table.Align{table.Left, table.Right, table.Right, table.Right, table.Right, table.Right, table.Right, table.Right, table.Right, table.Right},
	}
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
		summary.Append(fmt.Sprintf("%s d=%d", r.Backbone, r.D), fmt.Sprintf("%.1f s", r.Seconds["total"]), tt, ratio, cpuRatio,
			fmt.Sprintf("%.3f", r.inferPerImage()), ti, gib(r.PeakRSSBytes), tm, fmt.Sprintf("%.3f / %.3f", r.ImageAUROC, r.PixelAUROC))
	}
	if err := summary.Markdown(&b); err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "\nInference per image is backbone + Mahalanobis + upsample + blur over the test set divided by the number of test images "+
		"(the paper: 0.95 s for Wide-ResNet-50-2 d=550, timing its own serial CPU implementation). CPU time is user + system time of all threads of the process: "+
		"on a shared machine it is the steadier measure of work, while wall time also counts the time other processes held the cores. "+
		"AUROCs are of random-weight features and only show that the pipeline ran.\n")
	for _, r := range goRes {
		fmt.Fprintf(&b, "\n## %s d=%d: seconds per stage\n\n", r.Backbone, r.D)
		if err := stageTable(r, torchFor(r)).Markdown(&b); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

// stageTable is one configuration's seconds per stage, Go beside PyTorch
// (t nil when PyTorch did not run); a stage neither side timed is left out.
func stageTable(r E2EResult, t *E2EResult) table.Table {
	tb := table.Table{
		Header: []string{"stage", "Go", "PyTorch", "Go / PyTorch", "Go CPU", "PyTorch CPU", "Go / PyTorch CPU"},
		Align:  []table.Align{table.Left, table.Right, table.Right, table.Right, table.Right, table.Right, table.Right},
	}
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
	var tw, tc map[string]float64
	if t != nil {
		tw, tc = t.Seconds, t.CPUSeconds
	}
	for _, s := range e2eStages {
		gw, gws, gok := cell(r.Seconds, s.key)
		tv, tws, tok := cell(tw, s.key)
		gc, gcs, gcok := cell(r.CPUSeconds, s.key)
		tcv, tcs, tcok := cell(tc, s.key)
		if !gok && !tok {
			continue
		}
		tb.Append(s.label, gws, tws, ratio(gw, tv, gok && tok), gcs, tcs, ratio(gc, tcv, gcok && tcok))
	}
	return tb
}
