package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/padim-go/padim/experiments"
	"github.com/padim-go/padim/internal/slurm"
)

// slurmClient is the cluster the --slurm commands talk to; tests replace it.
var slurmClient = &slurm.Client{}

// checkSharedPaths checks what --slurm can check of its shared-filesystem
// preconditions: the binary, the data and the synthetic dataset exist, and
// the cache, state and output directories are writable. It returns
// warnings for paths that are often node-local.
func checkSharedPaths(bin string, s *taskSettings, state string) (warnings []string, err error) {
	for _, p := range []struct{ what, path string }{{"the padim binary", bin}, {"--data", s.Data}, {"the synthetic dataset", s.Synthetic}} {
		if !filepath.IsAbs(p.path) {
			return nil, fmt.Errorf("%s %q is not an absolute path; Slurm tasks start elsewhere", p.what, p.path)
		}
		if _, err := os.Stat(p.path); err != nil {
			return nil, fmt.Errorf("%s is not visible here: %w (tasks need it on a filesystem every node mounts)", p.what, err)
		}
	}
	for _, p := range []struct{ what, path string }{{"--cache", s.Cache}, {"--state-dir", state}, {"--out", s.Out}} {
		if err := os.MkdirAll(p.path, 0o755); err != nil {
			return nil, fmt.Errorf("%s %s: %w", p.what, p.path, err)
		}
		f, err := os.CreateTemp(p.path, ".padim-write-probe-*")
		if err != nil {
			return nil, fmt.Errorf("%s %s is not writable: %w (tasks write there)", p.what, p.path, err)
		}
		f.Close()
		os.Remove(f.Name())
	}
	for _, p := range []struct{ what, path string }{{"the padim binary", bin}, {"--data", s.Data}, {"--cache", s.Cache}, {"--state-dir", state}, {"--out", s.Out}} {
		for _, local := range []string{"/tmp/", "/var/tmp/", "/dev/shm/", "/scratch/local/"} {
			if strings.HasPrefix(p.path+"/", local) {
				warnings = append(warnings, fmt.Sprintf("%s is under %s, which is node-local on most clusters (fine on a single node)", p.what, local))
			}
		}
	}
	return warnings, nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func submitSlurm(ctx context.Context, stdout io.Writer, s *taskSettings, c clusterOptions, plan *experiments.Plan, tasks []experiments.Task, tables []string) error {
	state := stateDir(c, s)
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	if bin, err = filepath.EvalSymlinks(bin); err != nil {
		return err
	}
	warnings, err := checkSharedPaths(bin, s, state)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintln(stdout, "warning:", w)
	}
	if _, err := slurmClient.Ping(ctx); err != nil {
		return fmt.Errorf("no Slurm cluster answers: %w", err)
	}
	if c.cpusPerTask < 1 {
		return fmt.Errorf("--cpus-per-task %d: must be at least 1", c.cpusPerTask)
	}
	if running := countState(plan, experiments.StateRunning); running > 0 {
		fmt.Fprintf(stdout, "%d runs are being computed by other processes; they are not submitted again.\n", running)
	}
	if len(tasks) == 0 {
		if countState(plan, experiments.StateRunning) > 0 {
			fmt.Fprintln(stdout, "Nothing to submit: every run is cached or being computed. `padim reproduce --status` follows them.")
			return nil
		}
		fmt.Fprintln(stdout, "Every run is cached: nothing to submit. Rendering the reports here.")
		return renderFromCache(stdout, io.Discard, s, tables)
	}
	sub, err := prepareSubmission(s, state, tasks, tables)
	if err != nil {
		return err
	}
	sub.Slurm = true
	script := fmt.Sprintf("#!/bin/sh\n# padim reproduce: one task of %s (see padim reproduce --help)\nexec %s reproduce --task-file %s --task-index \"$SLURM_ARRAY_TASK_ID\" --threads %d\n",
		sub.taskFile(), shellQuote(bin), shellQuote(sub.taskFile()), c.cpusPerTask)
	base := slurm.Job{Partition: c.partition, Account: c.account, Time: c.time, CPUsPerTask: c.cpusPerTask, Chdir: sub.Dir, Extra: c.sbatchArgs}
	var ids []string
	for _, a := range arraysByMemory(tasks) {
		var arr []string
		for _, i := range a.Tasks {
			arr = append(arr, strconv.Itoa(i))
		}
		j := base
		j.Name, j.Script, j.Array, j.MaxParallel, j.MemMB = "padim-reproduce", script, strings.Join(arr, ","), c.maxParallel, a.MemMB
		j.Output = filepath.Join(sub.Dir, "logs", "task-%a.log")
		id, err := slurmClient.Submit(ctx, j)
		if err != nil {
			if len(ids) > 0 {
				slurmClient.Cancel(context.Background(), ids...)
				err = fmt.Errorf("%w (cancelled the arrays already submitted: %s)", err, strings.Join(ids, ", "))
			}
			return err
		}
		ids = append(ids, id)
		a.JobID = id
		sub.Arrays = append(sub.Arrays, a)
	}
	render := base
	render.Name, render.CPUsPerTask, render.MemMB = "padim-render", 1, 1024
	render.Script = fmt.Sprintf("#!/bin/sh\n# padim reproduce: render the reports of %s from the cache\nexec %s reproduce --render --task-file %s --threads 1\n",
		sub.taskFile(), shellQuote(bin), shellQuote(sub.taskFile()))
	render.Output = filepath.Join(sub.Dir, "logs", "render.log")
	render.Dependency = "afterany:" + strings.Join(ids, ":")
	if sub.Render, err = slurmClient.Submit(ctx, render); err != nil {
		return fmt.Errorf("%w (the task arrays %s are submitted; render later with: padim reproduce --render --task-file %s)", err, strings.Join(ids, ", "), sub.taskFile())
	}
	if err := sub.save(state); err != nil {
		return err
	}
	runs := 0
	for _, t := range tasks {
		runs += len(t.Runs)
	}
	fmt.Fprintf(stdout, "Submitted %d runs as %d tasks:\n", runs, len(tasks))
	for _, a := range sub.Arrays {
		fmt.Fprintf(stdout, "  job array %s: %d tasks, %d MiB each\n", a.JobID, len(a.Tasks), a.MemMB)
	}
	fmt.Fprintf(stdout, "  render job %s (after the arrays end) -> %s\n", sub.Render, s.Out)
	all := strings.Join(append(append([]string(nil), ids...), sub.Render), ",")
	fmt.Fprintf(stdout, "Follow with:\n  squeue --jobs=%s\n  sacct --jobs=%s --format=JobID,State,ExitCode,Elapsed,MaxRSS\n  padim reproduce --status --cache %s\nTask logs: %s\n",
		all, all, s.Cache, filepath.Join(sub.Dir, "logs"))
	return nil
}

// arraysByMemory splits tasks into job arrays by memory request, smallest
// first: an array has one --mem for all its tasks, and asking every task for
// the largest one's memory would leave most of it idle.
func arraysByMemory(tasks []experiments.Task) []arrayRecord {
	byMem := map[int64][]int{}
	for _, t := range tasks {
		mb := t.MemBytes >> 20
		byMem[mb] = append(byMem[mb], t.Index)
	}
	var out []arrayRecord
	for mb, idx := range byMem {
		out = append(out, arrayRecord{MemMB: mb, Tasks: idx})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].MemMB < out[j].MemMB })
	return out
}

// queuedKeys returns the keys of the runs whose task, in the state
// directory's last Slurm submission, squeue still lists (pending or running).
func queuedKeys(ctx context.Context, state string) (map[string]bool, error) {
	keys := map[string]bool{}
	sub, err := latestSubmission(state)
	if err != nil || !sub.Slurm {
		return keys, nil // nothing submitted yet
	}
	_, tf, err := readSubmission(sub.taskFile())
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, a := range sub.Arrays {
		ids = append(ids, a.JobID)
	}
	q, err := slurmClient.Queue(ctx, ids...)
	if err != nil {
		return nil, fmt.Errorf("checking the last submission's jobs: %w", err)
	}
	for _, e := range q {
		idx, err := e.Tasks()
		if err != nil {
			return nil, err
		}
		for _, i := range idx {
			if i >= 0 && i < len(tf.Tasks) {
				for _, tr := range tf.Tasks[i].Runs {
					keys[tr.Key] = true
				}
			}
		}
	}
	return keys, nil
}

// latestSubmission reads the submission the state directory's pointer names.
func latestSubmission(state string) (*submission, error) {
	b, err := os.ReadFile(latestPointer(state))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no submission under %s: nothing submitted with --slurm or --jobs for this cache (or pass its --state-dir)", state)
	}
	if err != nil {
		return nil, err
	}
	dir := strings.TrimSpace(string(b))
	rb, err := os.ReadFile(filepath.Join(dir, "submission.json"))
	if err != nil {
		return nil, err
	}
	var sub submission
	if err := json.Unmarshal(rb, &sub); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "submission.json"), err)
	}
	return &sub, nil
}

// taskEnd reads a task log for why the task stopped before finishing a
// run: a cancel (scancel, or an interrupt), which leaves the run pending,
// or a time limit, an out-of-memory kill or padim's own error, which fail
// it. It returns "" when the log says nothing of the kind.
func taskEnd(path string) (cancelled bool, msg string) {
	f, err := os.Open(path)
	if err != nil {
		return false, ""
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "padim:") || strings.Contains(l, "CANCELLED") || strings.Contains(l, "DUE TO TIME LIMIT") ||
			strings.Contains(strings.ToLower(l), "oom") || strings.Contains(l, "error:") {
			lines = append(lines, l)
		}
	}
	for _, l := range lines {
		if strings.Contains(l, "TIME LIMIT") || strings.Contains(strings.ToLower(l), "oom") {
			return false, l
		}
	}
	if len(lines) == 0 {
		return false, ""
	}
	last := lines[len(lines)-1]
	for _, l := range lines {
		if strings.Contains(l, "CANCELLED") {
			return true, l
		}
	}
	return strings.Contains(last, "interrupted"), last
}

func showStatus(ctx context.Context, w io.Writer, s *taskSettings, state string) error {
	sub, err := latestSubmission(state)
	if err != nil {
		return err
	}
	ts, tf, err := readSubmission(sub.taskFile())
	if err != nil {
		return err
	}
	// Slurm's view of each array task still queued (pending or running).
	queued := map[int]slurm.QueueEntry{}
	var qerr error
	if sub.Slurm {
		var ids []string
		for _, a := range sub.Arrays {
			ids = append(ids, a.JobID)
		}
		q, err := slurmClient.Queue(ctx, ids...)
		qerr = err
		for _, e := range q {
			idx, err := e.Tasks()
			if err != nil && qerr == nil {
				qerr = err
			}
			for _, i := range idx {
				queued[i] = e
			}
		}
	}
	// The accounting database's final state of each array task, where the
	// site keeps one (sacct fails without accounting storage).
	finished := map[int]string{}
	if sub.Slurm {
		var ids []string
		for _, a := range sub.Arrays {
			ids = append(ids, a.JobID)
		}
		if acct, err := slurmClient.Accounting(ctx, ids...); err == nil {
			for _, e := range acct {
				job, task, ok := strings.Cut(e.JobID, "_")
				if !ok || strings.Contains(task, ".") || !slices.Contains(ids, job) {
					continue // steps (123_4.batch) and other jobs
				}
				if i, err := strconv.Atoi(task); err == nil {
					finished[i] = e.State + " exit " + e.ExitCode
				}
			}
		}
	}
	env := newTaskEnv(ts, io.Discard)
	runner := &experiments.Runner{Exec: env, CacheDir: ts.Cache}
	kind := "--jobs"
	if sub.Slurm {
		kind = "Slurm"
	}
	fmt.Fprintf(w, "Last submission %s (%s, %d tasks); tables %s\n", sub.Dir, kind, len(tf.Tasks), strings.Join(tf.Tables, ", "))
	if qerr != nil {
		fmt.Fprintf(w, "warning: squeue failed (%v): task states come from the cache and logs only\n", qerr)
	}
	// Every run of the submission's tables, not only those it submitted: a
	// resubmission holds just the missing runs, and the status should still
	// cover the whole reproduction.
	tables, err := experiments.Lookup(experiments.Options{Quick: ts.Quick, SyntheticCategories: ts.SyntheticCategories}, tf.Tables)
	if err != nil {
		return err
	}
	taskOf := map[string]int{}
	for _, t := range tf.Tasks {
		for _, tr := range t.Runs {
			taskOf[tr.Key] = t.Index
		}
	}
	counts := map[string]int{}
	seen := map[string]bool{}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "state\ttask\ttable\trun\tkey\tdetail\t")
	for _, table := range tables {
		for _, run := range table.Runs {
			k, _, err := runner.Locate(run)
			var na *experiments.NotAvailable
			if errors.As(err, &na) {
				counts["cannot run here"]++
				fmt.Fprintf(tw, "cannot run here\t-\t%s\t%s\t-\t%s\t\n", table.Name, run.ID(), strings.Join(strings.Fields(na.Reason), " "))
				continue
			}
			if err != nil {
				return fmt.Errorf("%s: %s: %w", table.Name, run.ID(), err)
			}
			if seen[k] {
				continue // shared with a table listed before
			}
			seen[k] = true
			st, failure, err := runner.RunStatus(experiments.TaskRun{Table: table.Name, Key: k, Run: run})
			if err != nil {
				return err
			}
			idx, submitted := taskOf[k]
			task, log := "-", ""
			if submitted {
				task, log = strconv.Itoa(idx), sub.taskLog(idx)
			}
			detail := ""
			switch {
			case st == experiments.StatusFailed:
				detail = failure.Error
				if failure.Task != "" {
					detail += " (" + failure.Task + ")"
				}
				if log != "" {
					detail += " (log " + log + ")"
				}
			case st == experiments.StatusPending && !submitted:
				detail = "not in the last submission: submit again to run it"
			case st == experiments.StatusPending:
				if e, ok := queued[idx]; ok {
					detail = "Slurm: " + e.State + " " + e.Reason
				} else if cancelled, msg := taskEnd(log); cancelled {
					detail = "its task was cancelled: " + msg + " (runs on resubmission)"
				} else if msg != "" {
					st, detail = experiments.StatusFailed, "its task ended without it: "+msg+" (log "+log+")"
				} else if state, ok := finished[idx]; ok && !strings.HasPrefix(state, "PENDING") && !strings.HasPrefix(state, "RUNNING") {
					st, detail = experiments.StatusFailed, "its task ended without it: sacct says "+state+" (log "+log+")"
				}
			}
			counts[st]++
			detail = strings.Join(strings.Fields(detail), " ") // one line per run
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", st, task, table.Name, run.ID(), k, detail)
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "%d done, %d running, %d failed, %d pending", counts[experiments.StatusDone], counts[experiments.StatusRunning],
		counts[experiments.StatusFailed], counts[experiments.StatusPending])
	if n := counts["cannot run here"]; n > 0 {
		fmt.Fprintf(w, ", %d cannot run here", n)
	}
	fmt.Fprintln(w)
	if counts[experiments.StatusFailed]+counts[experiments.StatusPending] > 0 && len(queued) == 0 {
		fmt.Fprintln(w, "Resubmit the same command to run what is missing; failed runs need their cause fixed first.")
	}
	return nil
}
