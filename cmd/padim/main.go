// Command padim fits and scores PaDiM anomaly-detection models and
// regenerates the paper's experiments. Run `padim --help` for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/spf13/cobra"

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
}

var threads int

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
	if root.Args == nil && root.RunE == nil && root.Run == nil {
		root.Args = cobra.NoArgs
		root.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
	}
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
	// SIGINT/SIGTERM cancel the context; long commands stop at the next
	// image boundary and leave only complete files behind. After the first
	// signal the default handling is restored, so a second one ends padim.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	err := rootCmd.ExecuteContext(ctx)
	code := exitStatus(err, ctx.Err() != nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "padim:", err)
		if code == exitUsage {
			fmt.Fprintln(os.Stderr, "Run 'padim --help' or 'padim COMMAND --help' for usage.")
		}
	}
	os.Exit(code)
}
