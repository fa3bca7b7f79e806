package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/experiments"
	"github.com/padim-go/padim/internal/atomicfile"
	"github.com/padim-go/padim/internal/nn"
)

// clusterOptions are reproduce's flags for planning, splitting the runs into
// tasks, and running those tasks in parallel here (--jobs) or on Slurm.
type clusterOptions struct {
	plan, status, render, slurm bool
	jobs                        int
	taskFile                    string
	taskIndex                   int
	stateDir                    string

	partition, account, time string
	cpusPerTask, maxParallel int
	sbatchArgs               []string
}

func addClusterFlags(f *pflag.FlagSet, c *clusterOptions) {
	f.BoolVar(&c.plan, "plan", false, "print every run of the selected tables with its cache key, state and estimated cost, and totals; do no work")
	f.BoolVar(&c.status, "status", false, "show done / running / failed / pending for every run of the last --slurm or --jobs submission")
	f.IntVar(&c.jobs, "jobs", 1, "run this many tasks at once on this machine, each a process with its share of --threads")
	f.StringVar(&c.taskFile, "task-file", "", "run one task of this task file (written by --slurm or --jobs); with --task-index")
	f.IntVar(&c.taskIndex, "task-index", -1, "the task of --task-file to run (a Slurm array task passes $SLURM_ARRAY_TASK_ID)")
	f.BoolVar(&c.render, "render", false, "with --task-file: render the tables of the file's submission from the cache, running nothing")
	f.StringVar(&c.stateDir, "state-dir", "", "where --slurm and --jobs keep task files and logs (default: CACHE/jobs)")
	f.BoolVar(&c.slurm, "slurm", false, "submit the runs still to do as a Slurm job array, then a dependent job that renders the reports")
	f.StringVar(&c.partition, "partition", "", "Slurm partition (--slurm)")
	f.StringVar(&c.account, "account", "", "Slurm account (--slurm)")
	f.StringVar(&c.time, "time", "", "Slurm time limit per task, e.g. 4:00:00 (--slurm; default: the partition's)")
	f.IntVar(&c.cpusPerTask, "cpus-per-task", 2, "CPUs per Slurm task; the task runs that many threads (--slurm)")
	f.IntVar(&c.maxParallel, "max-parallel", 0, "at most this many array tasks at once, the array's %K (--slurm; 0 = no limit)")
	f.StringArrayVar(&c.sbatchArgs, "sbatch-arg", nil, "extra sbatch argument, repeatable, e.g. --sbatch-arg=--qos=low (--slurm)")
}

// slurmFlags only shape the sbatch submission.
var slurmFlags = []string{"partition", "account", "time", "cpus-per-task", "max-parallel", "sbatch-arg"}

// checkClusterFlags refuses cluster flags that are out of range or that
// would have no effect in the mode chosen, before any work; changed says
// whether a flag was given on the command line.
func checkClusterFlags(c clusterOptions, changed func(string) bool) error {
	if c.jobs < 1 {
		return fmt.Errorf("reproduce: --jobs %d: want at least 1 task at a time", c.jobs)
	}
	if c.maxParallel < 0 {
		return fmt.Errorf("reproduce: --max-parallel %d: want 0 (no limit) or a positive number of array tasks", c.maxParallel)
	}
	if c.render && c.taskFile == "" {
		return errors.New("reproduce: --render needs --task-file (the submission whose tables it renders)")
	}
	if c.taskFile == "" && changed("task-index") {
		return errors.New("reproduce: --task-index needs --task-file (the task file whose task it runs)")
	}
	if c.taskFile != "" {
		if c.render && changed("task-index") {
			return errors.New("reproduce: --render renders the whole submission; drop --task-index")
		}
		if !c.render && c.taskIndex < 0 {
			return fmt.Errorf("reproduce: --task-file needs --task-index I (0 <= I < the number of tasks) or --render")
		}
		if err := checkTaskFileFlags(c, changed); err != nil {
			return err
		}
	}
	if !c.slurm {
		for _, name := range slurmFlags {
			if changed(name) {
				return fmt.Errorf("reproduce: --%s applies to --slurm only", name)
			}
		}
	}
	if changed("state-dir") && !c.slurm && !c.status && c.jobs == 1 {
		return errors.New("reproduce: --state-dir applies to --slurm, --jobs K and --status only")
	}
	return nil
}

// taskFileSettingFlags are the reproduce flags whose values a task file
// records for every task of its submission (taskSettings): they select the
// runs or change how they run, so with --task-file they are refused rather
// than ignored.
var taskFileSettingFlags = []string{"data", "only", "quick", "force", "synthetic", "batch", "feature-cache-gb"}

// checkTaskFileFlags refuses, with --task-file, the flags whose settings
// come from the file, naming them all. --cache applies (the cache a task
// writes its results to, or --render reads them from), and --out applies
// to --render only: a task writes no tables.
func checkTaskFileFlags(c clusterOptions, changed func(string) bool) error {
	var given []string
	for _, name := range taskFileSettingFlags {
		if changed(name) {
			given = append(given, "--"+name)
		}
	}
	if len(given) > 0 {
		return fmt.Errorf("reproduce: --task-file runs with the settings recorded in %s, so %s would be ignored; drop %s (with --task-file only --cache, --out with --render, and --threads apply)",
			c.taskFile, strings.Join(given, ", "), strings.Join(given, " "))
	}
	if !c.render && changed("out") {
		return fmt.Errorf("reproduce: --out applies to --task-file with --render only: task %d writes its results to the cache, not tables", c.taskIndex)
	}
	return nil
}

// active reports whether a cluster mode replaces the default in-process run.
func (c *clusterOptions) active() bool {
	return c.plan || c.status || c.slurm || c.jobs > 1 || c.taskFile != ""
}

// taskSettings are the reproduce options every task of a submission shares,
// recorded in the task file so that tasks and the render job cannot drift
// from the command that planned them. Paths are absolute.
type taskSettings struct {
	Data                string   `json:"data"`
	Cache               string   `json:"cache"`
	Out                 string   `json:"out"`
	Synthetic           string   `json:"synthetic"`
	SyntheticCategories []string `json:"synthetic_categories"`
	WeightsDirs         []string `json:"weights_dirs"`
	Only                []string `json:"only,omitempty"`
	Quick               bool     `json:"quick"`
	Force               bool     `json:"force,omitempty"`
	Batch               int      `json:"batch"`
	FeatureCacheGB      float64  `json:"feature_cache_gb"`
}

func runCluster(ctx context.Context, stdout, stderr io.Writer, o reproduceOptions) error {
	c := o.cluster
	modes := 0
	for _, b := range []bool{c.plan, c.status, c.slurm, c.jobs > 1, c.taskFile != ""} {
		if b {
			modes++
		}
	}
	if modes > 1 {
		return errors.New("reproduce: use one of --plan, --status, --slurm, --jobs K, --task-file at a time")
	}
	if c.taskFile != "" {
		s, tf, err := readSubmission(c.taskFile)
		if err != nil {
			return err
		}
		if err := taskFileLocations(s, o); err != nil {
			return err
		}
		if c.render {
			return renderFromCache(stdout, stderr, s, tf.Tables)
		}
		return runTaskFromFile(ctx, stderr, s, tf, c.taskIndex, c.taskFile)
	}
	s, err := resolveSettings(o, stderr)
	if err != nil {
		return err
	}
	if c.status {
		return showStatus(ctx, stdout, s, stateDir(c, s))
	}
	tables, err := experiments.Lookup(experiments.Options{Quick: s.Quick, SyntheticCategories: s.SyntheticCategories}, s.Only)
	if err != nil {
		return err
	}
	env := newTaskEnv(s, stderr)
	runner := &experiments.Runner{Exec: env, CacheDir: s.Cache, Force: s.Force, Log: stderr}
	plan, err := experiments.MakePlan(runner, env, tables)
	if err != nil {
		return err
	}
	if s.Force {
		for i := range plan.Runs {
			if plan.Runs[i].State == experiments.StateCached {
				plan.Runs[i].State = experiments.StateToRun
			}
		}
	}
	if c.plan {
		printPlan(stdout, plan, s)
		return nil
	}
	if c.slurm {
		// Runs whose task of an earlier submission is still queued are not
		// submitted again.
		queued, err := queuedKeys(ctx, stateDir(c, s))
		if err != nil {
			return err
		}
		n := 0
		for i, pr := range plan.Runs {
			if pr.State == experiments.StateToRun && queued[pr.Key] {
				plan.Runs[i].State = experiments.StateRunning
				n++
			}
		}
		if n > 0 {
			fmt.Fprintf(stdout, "%d runs are in tasks of the last submission still queued; they are not submitted again.\n", n)
		}
	}
	tasks := plan.Tasks(int64(s.FeatureCacheGB * (1 << 30)))
	var names []string
	for _, t := range tables {
		names = append(names, t.Name)
	}
	if c.slurm {
		return submitSlurm(ctx, stdout, s, c, plan, tasks, names)
	}
	return runJobs(ctx, stdout, stderr, s, c, tasks, names)
}

// resolveSettings fills defaults and makes every path absolute, since tasks
// may run in another working directory, on another node.
func resolveSettings(o reproduceOptions, stderr io.Writer) (*taskSettings, error) {
	if o.data == "" {
		o.data = defaultDataRoot()
	}
	if o.cache == "" {
		o.cache = filepath.Join(cacheDir(), "results")
		if o.quick {
			o.cache += "-quick"
		}
	}
	// --slurm and --jobs record these options for their tasks: bad values
	// are refused now, not by every task later (--plan checks the values,
	// not the folders, which it does not write).
	if !o.cluster.status {
		if err := checkReproduceFlags(o); err != nil {
			return nil, err
		}
	}
	var synRoot string
	var cats []string
	var err error
	if root, opts := syntheticTarget(o.quick); (o.cluster.plan || o.cluster.status) && o.synthetic == "" && !syntheticComplete(root, mustJSON(opts)) {
		// --plan and --status do no work: without the generated dataset its runs are
		// planned at the generator's sizes, and listed as not generated yet.
		synRoot, cats = root, opts.Categories
		if cats == nil {
			cats = datasets.SyntheticCategories
		}
	} else if synRoot, cats, err = syntheticData(o, stderr); err != nil {
		return nil, err
	}
	s := &taskSettings{Data: o.data, Cache: o.cache, Out: o.out, Synthetic: synRoot, SyntheticCategories: cats,
		WeightsDirs: []string{filepath.Join(o.data, "weights"), filepath.Join(cacheDir(), "weights")},
		Only:        splitList(o.only), Quick: o.quick, Force: o.force, Batch: o.batch, FeatureCacheGB: o.featureCacheGB}
	for _, p := range []*string{&s.Data, &s.Cache, &s.Out, &s.Synthetic, &s.WeightsDirs[0], &s.WeightsDirs[1]} {
		if *p, err = filepath.Abs(*p); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// taskFileLocations replaces the task file's cache and output folders by
// --cache and --out when they were given (checkTaskFileFlags allows --out
// with --render only), checked like the in-process reproduce checks them:
// the cache a node mounts elsewhere, or tables rendered into another folder.
func taskFileLocations(s *taskSettings, o reproduceOptions) error {
	for _, l := range []struct {
		set       bool
		name, dir string
		dst       *string
	}{{o.cacheSet, "cache", o.cache, &s.Cache}, {o.outSet, "out", o.out, &s.Out}} {
		if !l.set {
			continue
		}
		if err := atomicfile.CheckDir(l.dir); err != nil {
			return fmt.Errorf("reproduce: --%s %w", l.name, err)
		}
		abs, err := filepath.Abs(l.dir)
		if err != nil {
			return err
		}
		*l.dst = abs
	}
	return nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain option structs always marshal
	}
	return b
}

func stateDir(c clusterOptions, s *taskSettings) string {
	if c.stateDir != "" {
		if abs, err := filepath.Abs(c.stateDir); err == nil {
			return abs
		}
		return c.stateDir
	}
	return filepath.Join(s.Cache, "jobs")
}

func newTaskEnv(s *taskSettings, log io.Writer) *experiments.Env {
	return &experiments.Env{DataRoot: s.Data, SyntheticRoot: s.Synthetic, BatchSize: s.Batch, Log: log,
		Features:    &experiments.FeatureCache{MaxBytes: int64(s.FeatureCacheGB * (1 << 30))},
		WeightsDirs: s.WeightsDirs}
}

func printPlan(w io.Writer, p *experiments.Plan, s *taskSettings) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "table\trun\tkey\tstate\test. CPU\test. peak memory\t")
	assumed := false
	for _, pr := range p.Runs {
		k := pr.Key
		if k == "" {
			k = "-"
		}
		state := pr.State
		if pr.Reason != "" {
			state += ": " + pr.Reason
		}
		size := ""
		if pr.Estimate.SizeAssumed {
			size, assumed = " *", true
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s%s\t%s\t\n", pr.Table, pr.Run.ID(), k, state,
			experiments.FormatCPU(pr.Estimate.CPUSeconds), size, experiments.FormatBytes(pr.Estimate.PeakBytes))
	}
	tw.Flush()
	order, by, all := p.Totals()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "table\truns\tcached\tto run\trunning\tcannot run here\tCPU still to do\tCPU all runs\tlargest run\t")
	line := func(name string, t *experiments.Totals) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t\n", name, t.Runs, t.Cached, t.ToRun, t.Running, t.CannotRun,
			experiments.FormatCPU(t.CPUSeconds), experiments.FormatCPU(t.AllCPUSeconds), experiments.FormatBytes(t.MaxPeakBytes))
	}
	for _, n := range order {
		line(n, by[n])
	}
	line("all (shared runs once)", &all)
	tw.Flush()
	tasks := p.Tasks(int64(s.FeatureCacheGB * (1 << 30)))
	var maxMem int64
	var cpu, longest float64
	if len(tasks) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "task\tdataset | backbone\truns\test. CPU\tmemory request\t")
		for _, t := range tasks {
			fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t\n", t.Index, t.Group, len(t.Runs), experiments.FormatCPU(t.CPUSeconds), experiments.FormatBytes(t.MemBytes))
		}
		tw.Flush()
	}
	for _, t := range tasks {
		maxMem = max(maxMem, t.MemBytes)
		cpu += t.CPUSeconds
		longest = max(longest, t.CPUSeconds)
	}
	fmt.Fprintf(w, "\n%d runs to run here form %d tasks (one per dataset and backbone): %s, largest task memory %s.\n",
		countState(p, experiments.StateToRun), len(tasks), experiments.FormatCPU(cpu), experiments.FormatBytes(maxMem))
	if longest > 0 {
		fmt.Fprintf(w, "The longest task is %s: with --cpus-per-task N, ask --time for at least %s/N plus a margin.\n",
			experiments.FormatCPU(longest), experiments.FormatCPU(longest))
	}
	if all.CannotRun+all.Cached+all.Running > 0 {
		full := p.AllTasks(int64(s.FeatureCacheGB * (1 << 30)))
		var fullMem int64
		var fullCPU float64
		for _, t := range full {
			fullMem = max(fullMem, t.MemBytes)
			fullCPU += t.CPUSeconds
		}
		fmt.Fprintf(w, "With every dataset and weight present and nothing cached: %d runs in %d tasks, %s, largest task memory %s.\n",
			all.Runs, len(full), experiments.FormatCPU(fullCPU), experiments.FormatBytes(fullMem))
	}
	fmt.Fprintln(w, "All CPU and memory figures are estimates from the project's measurements (reports/bench.md, reports/bench-backbones.md,\n"+
		"reports/cost.md, padim.FitHeldBytes, SPADE's gallery size), scaled to each run's image counts and d; the CPU figures are\n"+
		"for the 2-thread machine of those reports. Peak memory excludes the feature cache a task shares between its runs\n"+
		"(a task's request includes it).")
	if assumed {
		fmt.Fprintln(w, "* dataset not present here: its published image counts are assumed.")
	}
}

func countState(p *experiments.Plan, state string) int {
	seen := map[string]bool{}
	for _, pr := range p.Runs {
		if pr.State == state && !seen[pr.Key] {
			seen[pr.Key] = true
		}
	}
	return len(seen)
}

// submission is a --slurm or --jobs submission's directory: its task file,
// the job ids, and one log per task.
type submission struct {
	Dir    string        `json:"dir"`
	Slurm  bool          `json:"slurm"`
	Arrays []arrayRecord `json:"arrays,omitempty"`
	Render string        `json:"render_job,omitempty"`
}

type arrayRecord struct {
	JobID string `json:"job_id"`
	MemMB int64  `json:"mem_mb"`
	Tasks []int  `json:"tasks"`
}

func (s submission) taskFile() string { return filepath.Join(s.Dir, "tasks.json") }
func (s submission) taskLog(i int) string {
	return filepath.Join(s.Dir, "logs", fmt.Sprintf("task-%d.log", i))
}
func (s submission) recordPath() string    { return filepath.Join(s.Dir, "submission.json") }
func latestPointer(stateDir string) string { return filepath.Join(stateDir, "latest") }
func settingsJSON(s *taskSettings) []byte  { b, _ := json.Marshal(s); return b }
func newSubmissionDir(stateDir string) string {
	return filepath.Join(stateDir, time.Now().UTC().Format("20060102-150405.000"))
}

// prepareSubmission writes the task file and logs directory of a new submission.
func prepareSubmission(s *taskSettings, state string, tasks []experiments.Task, tables []string) (submission, error) {
	sub := submission{Dir: newSubmissionDir(state)}
	if err := os.MkdirAll(filepath.Join(sub.Dir, "logs"), 0o755); err != nil {
		return sub, fmt.Errorf("state directory %s: %w", state, err)
	}
	tf := &experiments.TaskFile{Created: time.Now().UTC(), Settings: settingsJSON(s), Tables: tables, Tasks: tasks}
	if err := experiments.WriteTaskFile(sub.taskFile(), tf); err != nil {
		return sub, err
	}
	return sub, nil
}

func (s submission) save(state string) error {
	b, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(s.recordPath(), append(b, '\n')); err != nil {
		return err
	}
	return atomicfile.WriteBytes(latestPointer(state), []byte(s.Dir+"\n"))
}

func readSubmission(taskFile string) (*taskSettings, *experiments.TaskFile, error) {
	tf, err := experiments.ReadTaskFile(taskFile)
	if err != nil {
		return nil, nil, err
	}
	var s taskSettings
	if err := json.Unmarshal(tf.Settings, &s); err != nil {
		return nil, nil, fmt.Errorf("%s: settings: %w", taskFile, err)
	}
	return &s, tf, nil
}

// runTaskFromFile is one task's process: a Slurm array task or a --jobs worker.
func runTaskFromFile(ctx context.Context, stderr io.Writer, s *taskSettings, tf *experiments.TaskFile, index int, path string) error {
	if index < 0 || index >= len(tf.Tasks) {
		return fmt.Errorf("%s: --task-index %d out of range (the file has tasks 0..%d)", path, index, len(tf.Tasks)-1)
	}
	t := tf.Tasks[index]
	host, _ := os.Hostname()
	name := fmt.Sprintf("task %d", index)
	if id := os.Getenv("SLURM_ARRAY_JOB_ID"); id != "" {
		name = fmt.Sprintf("slurm job %s_%d", id, index)
	}
	fmt.Fprintf(stderr, "padim task %d of %s on %s: %d runs on %s, %d threads, %s estimated, %s requested\n",
		index, path, host, len(t.Runs), t.Group, nn.Threads(), experiments.FormatCPU(t.CPUSeconds), experiments.FormatBytes(t.MemBytes))
	env := newTaskEnv(s, stderr)
	runner := &experiments.Runner{Exec: env, CacheDir: s.Cache, Force: s.Force, Log: stderr}
	_, err := runner.RunTask(ctx, t, name)
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("task %d interrupted; its finished runs are cached, the others will run on resubmission", index)
	}
	if err != nil {
		return fmt.Errorf("task %d: %w", index, err)
	}
	fmt.Fprintf(stderr, "padim task %d done\n", index)
	return nil
}

// renderFromCache writes the tables of a submission from cached results,
// listing runs not computed (yet) as not run. It is what the dependent
// Slurm job runs once the array has ended, and what --jobs does at its end.
func renderFromCache(stdout, stderr io.Writer, s *taskSettings, tableNames []string) error {
	tables, err := experiments.Lookup(experiments.Options{Quick: s.Quick, SyntheticCategories: s.SyntheticCategories}, tableNames)
	if err != nil {
		return err
	}
	paper, err := experiments.PaperValues()
	if err != nil {
		return err
	}
	env := newTaskEnv(s, stderr)
	runner := &experiments.Runner{Exec: env, CacheDir: s.Cache}
	var index []indexEntry
	missing := 0
	for _, t := range tables {
		var results []*experiments.Result
		for _, run := range t.Runs {
			res, err := runner.Cached(run)
			var na *experiments.NotAvailable
			switch {
			case errors.As(err, &na):
				res = &experiments.Result{Run: run, Status: "not-run", Reason: na.Reason, Fetch: na.Fetch}
			case err != nil:
				return fmt.Errorf("%s: %s: %w", t.Name, run.ID(), err)
			case res == nil:
				missing++
				res = &experiments.Result{Run: run, Status: "not-run", Reason: "not computed yet (a task failed or has not run; see padim reproduce --status)",
					Fetch: "padim reproduce --slurm (or --jobs K) with the same options"}
			}
			results = append(results, res)
		}
		e, err := renderTable(stdout, s.Out, s.Cache, t, results, paper)
		if err != nil {
			return err
		}
		index = append(index, e)
	}
	if err := writeIndex(s.Out, index, s.Quick, len(s.Only) > 0); err != nil {
		return err
	}
	if missing > 0 {
		return fmt.Errorf("rendered with %d runs not computed; `padim reproduce --status` shows why, the same --slurm/--jobs command resumes", missing)
	}
	return nil
}

// runJobs runs the tasks K at a time as child processes of this binary,
// each with threads/K threads and its share of the feature cache, then
// renders the tables here.
func runJobs(ctx context.Context, stdout, stderr io.Writer, s *taskSettings, c clusterOptions, tasks []experiments.Task, tables []string) error {
	state := stateDir(c, s)
	perTask := *s
	perTask.FeatureCacheGB = s.FeatureCacheGB / float64(c.jobs)
	sub, err := prepareSubmission(&perTask, state, tasks, tables)
	if err != nil {
		return err
	}
	if err := sub.save(state); err != nil {
		return err
	}
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	th := max(1, threads/c.jobs)
	fmt.Fprintf(stdout, "%d tasks, %d at a time with %d threads each; logs in %s\n", len(tasks), c.jobs, th, filepath.Join(sub.Dir, "logs"))
	next := make(chan int)
	var mu sync.Mutex
	var failed []string
	var wg sync.WaitGroup
	for w := 0; w < c.jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				err := runChild(ctx, bin, sub, i, th)
				mu.Lock()
				if err != nil {
					failed = append(failed, fmt.Sprintf("task %d (%s): %v; log %s", i, tasks[i].Group, err, sub.taskLog(i)))
				} else {
					fmt.Fprintf(stdout, "task %d done (%s)\n", i, tasks[i].Group)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range tasks {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted; finished runs are cached in %s, run the same command again to resume", s.Cache)
	}
	rerr := renderFromCache(stdout, stderr, s, tables)
	if len(failed) > 0 {
		sort.Strings(failed)
		return fmt.Errorf("%d tasks failed:\n  %s", len(failed), strings.Join(failed, "\n  "))
	}
	return rerr
}

func runChild(ctx context.Context, bin string, sub submission, i, threads int) error {
	log, err := os.Create(sub.taskLog(i))
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.CommandContext(ctx, bin, "reproduce", "--task-file", sub.taskFile(), "--task-index", strconv.Itoa(i), "--threads", strconv.Itoa(threads))
	cmd.Stdout, cmd.Stderr = log, log
	// On interrupt the child gets SIGTERM, finishes nothing partial, and exits.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	return cmd.Run()
}
