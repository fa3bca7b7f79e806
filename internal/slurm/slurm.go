package slurm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Client runs the Slurm commands.
type Client struct {
	// Dir, when set, holds the commands; otherwise they are looked up on PATH.
	Dir string
	// Env is added to the process environment of every command (KEY=VALUE).
	Env []string
}

// Job is one sbatch submission: a batch script and the options that shape it.
type Job struct {
	Name string
	// Script is the batch script's text, starting with #!/bin/sh or similar.
	Script string
	// Array is sbatch's --array value without the %K limit, e.g. "0-9" or "0,3,5"; "" submits a single job.
	Array string
	// MaxParallel limits how many array tasks run at once (the %K suffix); 0 = no limit.
	MaxParallel int
	Partition   string
	Account     string
	Time        string // --time, e.g. "4:00:00"; "" = the partition's default
	CPUsPerTask int
	MemMB       int64 // --mem per node (one task per node here); 0 = the site default
	// Output is the --output pattern (%A array job id, %a task index, %j job id).
	Output string
	// Dependency is the --dependency value, e.g. "afterany:123:124".
	Dependency string
	Chdir      string
	// Extra are passed to sbatch verbatim after the options above, for site
	// specifics (--qos, --constraint, --gres, ...).
	Extra []string
}

// SbatchArgs returns sbatch's arguments for j; the script goes to its stdin.
func SbatchArgs(j Job) []string {
	a := []string{"--parsable"}
	add := func(flag, v string) {
		if v != "" {
			a = append(a, flag+"="+v)
		}
	}
	add("--job-name", j.Name)
	if j.Array != "" {
		arr := j.Array
		if j.MaxParallel > 0 {
			arr += "%" + strconv.Itoa(j.MaxParallel)
		}
		add("--array", arr)
	}
	add("--partition", j.Partition)
	add("--account", j.Account)
	add("--time", j.Time)
	if j.CPUsPerTask > 0 {
		add("--cpus-per-task", strconv.Itoa(j.CPUsPerTask))
	}
	if j.MemMB > 0 {
		add("--mem", strconv.FormatInt(j.MemMB, 10)+"M")
	}
	add("--output", j.Output)
	add("--dependency", j.Dependency)
	add("--chdir", j.Chdir)
	return append(a, j.Extra...)
}

// Error is a Slurm command that failed, with what it printed.
type Error struct {
	Command string
	Args    []string
	Err     error
	Stderr  string
}

func (e *Error) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		msg = e.Err.Error()
	}
	return fmt.Sprintf("%s %s: %s", e.Command, strings.Join(e.Args, " "), msg)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrNotInstalled is returned when a Slurm command is not found.
var ErrNotInstalled = errors.New("Slurm command not found (is Slurm installed, and its bin directory on PATH?)")

func (c *Client) run(ctx context.Context, stdin string, name string, args ...string) (string, error) {
	path := name
	if c.Dir != "" {
		path = filepath.Join(c.Dir, name)
	} else if p, err := exec.LookPath(name); err == nil {
		path = p
	} else {
		return "", fmt.Errorf("%s: %w", name, ErrNotInstalled)
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), c.Env...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("%s: %w", path, ErrNotInstalled)
		}
		return "", &Error{Command: name, Args: args, Err: err, Stderr: errb.String()}
	}
	return out.String(), nil
}

// Submit submits j with sbatch and returns its job id.
func (c *Client) Submit(ctx context.Context, j Job) (string, error) {
	if !strings.HasPrefix(j.Script, "#!") {
		return "", fmt.Errorf("slurm: job %q: the batch script must start with #! (sbatch rejects it otherwise)", j.Name)
	}
	out, err := c.run(ctx, j.Script, "sbatch", SbatchArgs(j)...)
	if err != nil {
		return "", err
	}
	return ParseSubmit(out)
}

// ParseSubmit reads the job id from sbatch --parsable's output ("ID" or "ID;CLUSTER").
func ParseSubmit(out string) (string, error) {
	line := strings.TrimSpace(out)
	if i := strings.LastIndexByte(line, '\n'); i >= 0 { // warnings may come first
		line = strings.TrimSpace(line[i+1:])
	}
	id, _, _ := strings.Cut(line, ";")
	if _, err := strconv.ParseUint(id, 10, 64); err != nil {
		return "", fmt.Errorf("sbatch printed %q, not a job id", strings.TrimSpace(out))
	}
	return id, nil
}

// QueueEntry is one line of squeue: a pending or running job or array task.
type QueueEntry struct {
	JobID      string // "123_4" for an array task, "123" otherwise
	ArrayJobID string
	TaskID     string // "4", or "" for a plain job (or a "[0-9%2]" range of pending tasks)
	State      string // PENDING, RUNNING, COMPLETING, ...
	Reason     string // why pending, or the node list when running
}

// squeueFormat: %i job id (123_4), %F array job id, %K task index, %T state, %R reason/nodes.
const squeueFormat = "%i|%F|%K|%T|%R"

// Queue lists the jobs and array tasks of jobIDs still known to the
// controller, one entry per array task (squeue -r).
func (c *Client) Queue(ctx context.Context, jobIDs ...string) ([]QueueEntry, error) {
	if len(jobIDs) == 0 {
		return nil, nil
	}
	out, err := c.run(ctx, "", "squeue", "--noheader", "--array", "--jobs="+strings.Join(jobIDs, ","), "--format="+squeueFormat)
	if err != nil {
		// squeue fails on ids the controller has already forgotten.
		var se *Error
		if errors.As(err, &se) && strings.Contains(se.Stderr, "Invalid job id") {
			return nil, nil
		}
		return nil, err
	}
	return ParseQueue(out)
}

// ParseQueue reads squeue output in squeueFormat.
func ParseQueue(out string) ([]QueueEntry, error) {
	var q []QueueEntry
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.SplitN(line, "|", 5)
		if len(f) != 5 {
			return nil, fmt.Errorf("squeue: unexpected line %q", line)
		}
		e := QueueEntry{JobID: f[0], ArrayJobID: f[1], TaskID: f[2], State: f[3], Reason: f[4]}
		if e.TaskID == "N/A" {
			e.TaskID = ""
		}
		q = append(q, e)
	}
	return q, nil
}

// AcctEntry is one line of sacct: a finished, running or pending job step.
type AcctEntry struct {
	JobID    string // "123_4", "123_4.batch", ...
	State    string // COMPLETED, FAILED, CANCELLED by 0, TIMEOUT, OUT_OF_MEMORY, ...
	ExitCode string // "1:0" (exit code:signal)
}

// Accounting lists jobIDs' records from the accounting database with
// sacct. Clusters without accounting storage make sacct fail; the error
// says so.
func (c *Client) Accounting(ctx context.Context, jobIDs ...string) ([]AcctEntry, error) {
	if len(jobIDs) == 0 {
		return nil, nil
	}
	out, err := c.run(ctx, "", "sacct", "--noheader", "--parsable2", "--jobs="+strings.Join(jobIDs, ","), "--format=JobID,State,ExitCode")
	if err != nil {
		return nil, err
	}
	var a []AcctEntry
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Split(line, "|")
		if len(f) != 3 {
			return nil, fmt.Errorf("sacct: unexpected line %q", line)
		}
		a = append(a, AcctEntry{JobID: f[0], State: f[1], ExitCode: f[2]})
	}
	return a, nil
}

// Cancel cancels jobs or array tasks ("123", "123_4") with scancel.
func (c *Client) Cancel(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := c.run(ctx, "", "scancel", ids...)
	return err
}

// Ping checks that a controller answers (sinfo), and returns its partitions.
func (c *Client) Ping(ctx context.Context) ([]string, error) {
	out, err := c.run(ctx, "", "sinfo", "--noheader", "--format=%P")
	if err != nil {
		return nil, err
	}
	return strings.Fields(out), nil
}

// Tasks returns the array task indices a queue entry stands for: its own
// index, or every index of a pending range such as 7_[1-3,8%2]. A plain job
// has none.
func (e QueueEntry) Tasks() ([]int, error) {
	if e.TaskID != "" {
		i, err := strconv.Atoi(e.TaskID)
		if err != nil {
			return nil, fmt.Errorf("squeue: task id %q", e.TaskID)
		}
		return []int{i}, nil
	}
	_, r, ok := strings.Cut(e.JobID, "_[")
	if !ok {
		return nil, nil
	}
	r, _, _ = strings.Cut(strings.TrimSuffix(r, "]"), "%")
	var out []int
	for _, part := range strings.Split(r, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("squeue: task range %q", e.JobID)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("squeue: task range %q", e.JobID)
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out, nil
}
