package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/experiments"
	"github.com/padim-go/padim/internal/atomicfile"
	"github.com/padim-go/padim/internal/nn"
	"github.com/padim-go/padim/internal/sysmem"
)

type reproduceOptions struct {
	data, out, cache, only string
	synthetic              string
	quick, force           bool
	batch                  int
	featureCacheGB         float64
	featureCacheSet        bool // --feature-cache-gb given on the command line
	cacheSet, outSet       bool // --cache, --out given on the command line
	cluster                clusterOptions
}

func init() {
	var o reproduceOptions
	cmd := &cobra.Command{
		Use:   "reproduce [--data DIR] [--out reports] [--only TABLE,...] [--quick] [--force]",
		Short: "Regenerate the paper's tables and figures (and SPADE beside PaDiM) from data",
		Long: `reproduce runs every declared experiment (see experiments/tables.go) on the
data under --data (PADIM_DATA layout: mvtec_ad/, magnetic_tile/, stc/,
weights/), and writes Markdown and CSV tables with the paper's values beside
the measured ones, ROC/PRO curves, ablation plots and heatmap grids to --out.

Every finished run is cached under --cache, keyed by its configuration, the
dataset's files and the weights' sha256: an interrupted reproduce resumes
where it stopped, and a second one only re-renders. --force recomputes.
Runs whose data or weights are missing are listed in the tables as not run,
with the command that fetches what is missing.

Tables: ` + strings.Join(tableNames(), ", ") + `

Planning, parallel runs and Slurm (one of these modes at a time):
  --plan       list every run of the selected tables with its cache key,
               state (done, to do, not run) and estimated CPU time and
               memory, and the totals; nothing is computed.
  --jobs K     split the runs into tasks (one per dataset and backbone) and
               run K tasks at once on this machine, each a process with
               --threads/K threads; the tables are rendered at the end.
  --slurm      submit the runs still to do as Slurm job arrays (one per
               memory size; each task requests its estimated memory), then
               a dependent job that renders the tables. --partition,
               --account, --time, --cpus-per-task, --max-parallel and
               --sbatch-arg are passed to sbatch. --data, --cache and --out
               must be on a filesystem every node mounts. Resubmitting the
               same command submits only what is neither done nor queued.
  --status     done / running / failed / pending for every run of the last
               --slurm or --jobs submission, with a failed task's reason.
  --task-file FILE --task-index I
               run task I of a task file that --slurm or --jobs wrote (what
               each array task runs). Its settings come from the file:
               --data, --only, --quick, --force, --synthetic, --batch and
               --feature-cache-gb are refused with it. --cache replaces the
               file's cache (e.g. mounted at another path here) and
               --threads applies. With --render instead of --task-index:
               render that submission's tables from the cache, into --out
               when given, else the file's output folder.
--jobs and --slurm keep their task files and logs in --state-dir (default
CACHE/jobs).`,
		Example: `  padim reproduce --data ../shared/data --out reports
  padim reproduce --only magnetic-tile,layers --quick --out /tmp/quick
  padim reproduce --plan --data /shared/padim-data --cache /shared/padim-cache
  padim reproduce --slurm --data /shared/padim-data --cache /shared/padim-cache --out /shared/reports \
      --partition cpu --time 8:00:00 --cpus-per-task 4 --max-parallel 20
  padim reproduce --status --cache /shared/padim-cache
  padim reproduce --jobs 4 --threads 32`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nn.SetThreads(threads)
			o.featureCacheSet = cmd.Flags().Changed("feature-cache-gb")
			o.cacheSet, o.outSet = cmd.Flags().Changed("cache"), cmd.Flags().Changed("out")
			if err := checkClusterFlags(o.cluster, cmd.Flags().Changed); err != nil {
				return err
			}
			if o.cluster.active() {
				return runCluster(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
			}
			return runReproduce(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.data, "data", "", "data root (default $PADIM_DATA, else ./data)")
	f.StringVar(&o.out, "out", "reports", "output directory for tables and figures")
	f.StringVar(&o.cache, "cache", "", "result cache (default: the cache's results/, or results-quick/ with --quick)")
	f.StringVar(&o.only, "only", "", "comma-separated tables to run (default all)")
	f.BoolVar(&o.quick, "quick", false, "quick variants: 12 images per split, small d, one seed")
	f.BoolVar(&o.force, "force", false, "recompute runs even when cached")
	f.StringVar(&o.synthetic, "synthetic", "", "use this synthetic dataset (MVTec layout, as padim generate synthetic writes it) instead of generating one in the cache")
	f.IntVar(&o.batch, "batch", 8, "images per backbone call")
	f.Float64Var(&o.featureCacheGB, "feature-cache-gb", 6, "memory for backbone features shared by the runs on one dataset, plus a quarter of it for decoded images (0 disables both)")
	addClusterFlags(f, &o.cluster)
	rootCmd.AddCommand(cmd)
}

func tableNames() []string {
	var n []string
	for _, t := range experiments.Tables(experiments.Options{}) {
		n = append(n, t.Name)
	}
	return n
}

func runReproduce(ctx context.Context, stdout, stderr io.Writer, o reproduceOptions) error {
	if o.data == "" {
		o.data = defaultDataRoot()
	}
	if o.cache == "" {
		o.cache = filepath.Join(cacheDir(), "results")
		if o.quick {
			o.cache += "-quick"
		}
	}
	if err := checkReproduceFlags(o); err != nil {
		return err
	}
	synRoot, cats, err := syntheticData(o, stderr)
	if err != nil {
		return err
	}
	env := &experiments.Env{DataRoot: o.data, SyntheticRoot: synRoot, BatchSize: o.batch, Log: stderr,
		Features:    &experiments.FeatureCache{MaxBytes: int64(o.featureCacheGB * (1 << 30))},
		WeightsDirs: []string{filepath.Join(o.data, "weights"), filepath.Join(cacheDir(), "weights")}}

	if len(experiments.RealDatasets(o.data)) == 0 {
		fmt.Fprintf(stdout, "No real dataset under %q (set PADIM_DATA or --data; `padim fetch mvtec` downloads MVTec AD).\n"+
			"Running on the synthetic dataset only: every paper row is listed as not run, with the command that fetches its data.\n", o.data)
	}
	if _, err := env.WeightsFile("resnet18"); err != nil {
		fmt.Fprintf(stdout, "No ImageNet ResNet-18 weights found (%v): no experiment can run. Run `padim fetch weights resnet18`.\n", err)
	}

	tables, err := experiments.Lookup(experiments.Options{Quick: o.quick, SyntheticCategories: cats}, splitList(o.only))
	if err != nil {
		return err
	}
	paper, err := experiments.PaperValues()
	if err != nil {
		return err
	}
	runner := &experiments.Runner{Exec: env, CacheDir: o.cache, Force: o.force, Log: stderr}
	var index []indexEntry
	for _, t := range tables {
		results, err := runner.RunTable(ctx, t)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return fmt.Errorf("interrupted during %s; finished runs are cached in %s, run the same command again to resume", t.Name, o.cache)
			}
			return err
		}
		e, err := renderTable(stdout, o.out, o.cache, t, results, paper)
		if err != nil {
			return err
		}
		index = append(index, e)
	}
	return writeIndex(o.out, index, o.quick, len(splitList(o.only)) > 0)
}

// renderTable writes one table's Markdown, CSV and figures into out and
// says on stdout how many of its runs are done; the entry is for the index.
func renderTable(stdout io.Writer, out, cache string, t experiments.Table, results []*experiments.Result, paper []experiments.PaperValue) (indexEntry, error) {
	if err := experiments.WriteTable(out, t, results, paper); err != nil {
		return indexEntry{}, err
	}
	figs, err := experiments.WriteFigures(out, cache, t, results)
	if err != nil {
		return indexEntry{}, err
	}
	ok, missing := 0, 0
	for _, r := range results {
		if r.Status == "ok" {
			ok++
		} else {
			missing++
		}
	}
	fmt.Fprintf(stdout, "%-14s %3d runs done, %3d not run here -> %s\n", t.Name, ok, missing, filepath.Join(out, t.Name+".md"))
	return indexEntry{t, figs, ok, missing}, nil
}

// checkReproduceFlags refuses bad flags before any dataset is generated or
// run is started.
func checkReproduceFlags(o reproduceOptions) error {
	if o.batch < 1 {
		return fmt.Errorf("reproduce: --batch %d: want at least 1 image per backbone call", o.batch)
	}
	if !(o.featureCacheGB >= 0) || math.IsInf(o.featureCacheGB, 0) {
		return fmt.Errorf("reproduce: --feature-cache-gb %v: want 0 (off) or a positive size", o.featureCacheGB)
	}
	// The caches fill up to their size (plus a quarter for decoded images)
	// in this process, or across the --jobs processes: a size given that is
	// more than the machine has is refused, not found by the kernel's OOM
	// killer. (A size beyond 2^63 bytes also wrapped round to a negative
	// one, which turned the caches off.) Slurm tasks run elsewhere and
	// request it; the default only fills as far as the runs need.
	if o.featureCacheSet && !o.cluster.slurm && !o.cluster.plan {
		if avail, source, ok := sysmem.Available(); ok && o.featureCacheGB*1.25*(1<<30) > float64(avail) {
			return fmt.Errorf("reproduce: --feature-cache-gb %v: the caches would hold up to %s, but %s is available (%s); give a smaller size, or 0 to turn them off",
				o.featureCacheGB, sysmem.Format(o.featureCacheGB*1.25*(1<<30)), sysmem.Format(float64(avail)), source)
		}
	}
	if o.featureCacheGB > 1<<30 {
		return fmt.Errorf("reproduce: --feature-cache-gb %v: more than 2^30 GB", o.featureCacheGB)
	}
	// --plan writes nothing: a read-only cache can be planned from.
	if !o.cluster.plan {
		if err := atomicfile.CheckDir(o.out); err != nil {
			return fmt.Errorf("reproduce: --out %w", err)
		}
		if err := atomicfile.CheckDir(o.cache); err != nil {
			return fmt.Errorf("reproduce: --cache %w", err)
		}
	}
	if o.only != "" {
		if _, err := parseList(o.only, "table"); err != nil {
			return fmt.Errorf("reproduce: --only %w", err)
		}
	}
	// Table names are checked now, not after the first tables have run.
	_, err := experiments.Lookup(experiments.Options{Quick: o.quick, SyntheticCategories: datasets.SyntheticCategories}, splitList(o.only))
	return err
}

type indexEntry struct {
	t           experiments.Table
	figs        []string
	ok, missing int
}

// writeIndex writes OUT/README.md, the index of every table and figure.
func writeIndex(out string, entries []indexEntry, quick, only bool) error {
	var b strings.Builder
	b.WriteString("# Reports\n\nRegenerated by `make reproduce` (`padim reproduce`)")
	if quick {
		b.WriteString(" in --quick mode: few images and small d, for smoke tests, not for comparison with the paper")
	}
	if only {
		b.WriteString("; this index lists the tables of the last call, which used --only")
	}
	b.WriteString(". Each table has a CSV beside it.\n\n| table | runs done | not run here | figures |\n|---|---|---|---|\n")
	for _, e := range entries {
		fmt.Fprintf(&b, "| [%s](%s.md) | %d | %d | %d |\n", e.t.Title, e.t.Name, e.ok, e.missing, len(e.figs))
	}
	for _, e := range entries {
		if len(e.figs) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n\n", e.t.Title)
		for _, f := range e.figs {
			fmt.Fprintf(&b, "- [%s](%s)\n", filepath.Base(f), filepath.ToSlash(f))
		}
	}
	return atomicfile.WriteBytes(filepath.Join(out, "README.md"), []byte(b.String()))
}

// syntheticData returns the synthetic dataset's root and categories: the
// --synthetic folder as given, or the one generated in the cache. A
// generated dataset counts only once its completion marker, holding the
// generator options, is written last: a generation interrupted part-way is
// redone (it is deterministic), never used with files missing.
func syntheticData(o reproduceOptions, stderr io.Writer) (string, []string, error) {
	if o.synthetic != "" {
		cats, err := datasets.ListMVTecCategories(o.synthetic)
		if err != nil {
			return "", nil, fmt.Errorf("--synthetic: %w", err)
		}
		return o.synthetic, cats, nil
	}
	root, opts := syntheticTarget(o.quick)
	want, err := json.Marshal(opts)
	if err != nil {
		return "", nil, err
	}
	if !syntheticComplete(root, want) {
		fmt.Fprintf(stderr, "generating the synthetic dataset in %s\n", root)
		if err := datasets.ReplaceSynthetic(root, opts); err != nil {
			return "", nil, err
		}
		if err := atomicfile.WriteBytes(filepath.Join(root, syntheticMarker), want); err != nil {
			return "", nil, err
		}
	}
	cats := opts.Categories
	if cats == nil {
		cats = datasets.SyntheticCategories
	}
	return root, cats, nil
}

// syntheticTarget is where reproduce generates its synthetic dataset, and how.
func syntheticTarget(quick bool) (string, datasets.SyntheticOptions) {
	root := filepath.Join(cacheDir(), "synthetic")
	opts := datasets.SyntheticOptions{}
	if quick {
		root += "-quick"
		opts = datasets.SyntheticOptions{Categories: []string{"stripes", "disc"}, Size: 128, Train: 12, TestGood: 4, TestPerDefect: 2}
	}
	return root, opts
}

const syntheticMarker = ".padim-synthetic-complete"

// syntheticComplete reports whether root holds a finished generation with options want.
func syntheticComplete(root string, want []byte) bool {
	have, err := os.ReadFile(filepath.Join(root, syntheticMarker))
	return err == nil && bytes.Equal(have, want)
}
