// Command padim fits and scores PaDiM anomaly-detection models and
// regenerates the paper's experiments. Run `padim --help` for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/padim-go/padim/internal/atomicfile"
	"github.com/padim-go/padim/internal/blas"
)

// rootCmd is the `padim` command; each subcommand lives in its own file and
// registers itself in an init function.
var rootCmd = &cobra.Command{
	Use:   "padim",
	Short: "PaDiM anomaly detection and localization (Defard et al., ICPR 2021), with SPADE for comparison",
	Long: `padim fits per-patch Gaussian models on features of a frozen ImageNet CNN and
scores new images by Mahalanobis distance, as in the PaDiM paper. It also
regenerates the paper's tables (padim reproduce) and compares with SPADE.

Exit status:
  0    success
  1    the command failed (bad input, missing data, I/O error, ...)
  2    the command line is wrong: unknown command or flag, malformed flag
       value, wrong number of arguments
  130  interrupted by SIGINT (Ctrl-C) or SIGTERM; completed outputs are kept
       and an interrupted reproduce resumes where it stopped. A second Ctrl-C
       ends padim at once.

Shell completion: padim completion bash|zsh|fish --help says how to install it.`,
	SilenceUsage:  true,
	SilenceErrors: true,
	PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
		if threads < 1 {
			return usageError{fmt.Errorf("--threads %d: want at least 1", threads)}
		}
		// Every thread is a worker goroutine with its own buffers (about 3 KB
		// each measured: --threads 400000 took 1.3 GB before any work), and
		// beyond 2^31 the count wrapped round; more than maxThreads cannot
		// be faster.
		if limit := maxThreads(); threads > limit {
			return usageError{fmt.Errorf("--threads %d: more than %d (8 per CPU of this machine, at least 256)", threads, limit)}
		}
		return nil
	},
}

var threads int

// maxThreads is the largest --threads accepted.
func maxThreads() int { return max(256, 8*runtime.NumCPU()) }

func init() {
	rootCmd.PersistentFlags().IntVar(&threads, "threads", runtime.GOMAXPROCS(0), "worker threads for feature extraction and linear algebra")
}

// Exit statuses, as rootCmd's help documents them.
const (
	exitError       = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// usageError marks an error in the command line itself (exit status 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// markUsageErrors makes cobra's flag-parsing and argument-count errors
// usageErrors, for every command.
func markUsageErrors(root *cobra.Command) {
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	// A runnable root checks its arguments like any command, so an unknown
	// subcommand is a usage error; without arguments it shows the help.
	// So do the commands that only group others (fetch, generate, bench,
	// completion): cobra would show their help and exit 0 for
	// `padim fetch bogus`. Cobra adds its completion command only when it
	// executes, so it is added now to be covered too.
	root.InitDefaultCompletionCmd()
	walk(root, func(c *cobra.Command) {
		if c.HasSubCommands() && !c.Runnable() {
			if c.Args == nil {
				c.Args = cobra.NoArgs
			}
			c.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
		}
	})
	walk(root, func(c *cobra.Command) {
		if c.Args == nil {
			return
		}
		check := c.Args
		c.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				return usageError{err}
			}
			return nil
		}
	})
}

// exitStatus maps the outcome of a command to padim's exit status.
func exitStatus(err error, interrupted bool) int {
	var u usageError
	switch {
	case err == nil:
		return 0
	case interrupted:
		return exitInterrupted
	case errors.As(err, &u):
		return exitUsage
	}
	return exitError
}

func main() {
	if w := blas.Warning(); w != "" {
		fmt.Fprintln(os.Stderr, "padim: warning:", w)
	}
	ensureFastOpenBLAS()
	registerCompletions(rootCmd)
	markUsageErrors(rootCmd)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx := interruptContext(sigs, os.Stderr, func(code int) {
		// Unfinished outputs are removed, not left as hidden temporaries.
		atomicfile.RemovePending()
		os.Exit(code)
	})
	err := rootCmd.ExecuteContext(ctx)
	code := exitStatus(err, ctx.Err() != nil)
	if err != nil {
		if code == exitInterrupted {
			fmt.Fprintln(os.Stderr, errorLine(interruptedMessage(err)))
		} else {
			fmt.Fprintln(os.Stderr, errorLine(err.Error()))
		}
		if code == exitUsage {
			fmt.Fprintln(os.Stderr, "Run 'padim --help' or 'padim COMMAND --help' for usage.")
		}
	}
	os.Exit(code)
}

// interruptContext returns a context cancelled by the first signal on sigs
// (SIGINT or SIGTERM): long commands stop at the next image or run boundary
// and leave only complete files behind. A second signal calls exit(130) at
// once, whatever the command is doing (a batch in the backbone, a long
// decode), so a user never needs SIGKILL.
func interruptContext(sigs <-chan os.Signal, stderr io.Writer, exit func(int)) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		sig, ok := <-sigs
		if !ok {
			return
		}
		fmt.Fprintf(stderr, "\npadim: %v received: stopping at the next safe point (a second Ctrl-C quits at once)\n", sig)
		cancel()
		if _, ok := <-sigs; ok {
			fmt.Fprintln(stderr, "padim: second interrupt: quitting now; files being written are removed, the files they would replace keep their old contents")
			exit(130)
		}
	}()
	return ctx
}

// interruptedMessage is what an interrupted command reports: its own message
// when it has one (reproduce says how to resume), otherwise a plain
// statement instead of Go's "context canceled".
func interruptedMessage(err error) string {
	if msg := err.Error(); strings.Contains(msg, "interrupted") {
		return msg
	}
	return "interrupted: stopped before finishing; no output file of this command was written or changed (outputs are written only when complete)"
}

// errorLine is the line a failed command prints: the message after
// "padim: ", which errors from the padim package already carry, so it is
// not doubled ("padim: padim: need at least 2 training images").
func errorLine(msg string) string {
	if strings.HasPrefix(msg, "padim: ") {
		return msg
	}
	return "padim: " + msg
}
