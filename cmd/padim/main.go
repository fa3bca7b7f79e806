// Command padim fits and scores PaDiM anomaly-detection models and
// regenerates the paper's experiments. Run `padim --help` for the commands.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// rootCmd is the `padim` command; each subcommand lives in its own file and
// registers itself in an init function.
var rootCmd = &cobra.Command{
	Use:   "padim",
	Short: "PaDiM anomaly detection and localization (Defard et al., ICPR 2021), with SPADE for comparison",
	Long: `padim fits per-patch Gaussian models on features of a frozen ImageNet CNN and
scores new images by Mahalanobis distance, as in the PaDiM paper. It also
regenerates the paper's tables (padim reproduce) and compares with SPADE.`,
	SilenceUsage:  true,
	SilenceErrors: true,
	PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
		if threads < 1 {
			return fmt.Errorf("--threads %d: want at least 1", threads)
		}
		return nil
	},
}

var threads int

func init() {
	rootCmd.PersistentFlags().IntVar(&threads, "threads", runtime.GOMAXPROCS(0), "worker threads for feature extraction and linear algebra")
}

func main() {
	ensureFastOpenBLAS()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx := interruptContext(sigs, os.Stderr, os.Exit)
	if err := rootCmd.ExecuteContext(ctx); err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "padim:", interruptedMessage(err))
			os.Exit(130)
		}
		fmt.Fprintln(os.Stderr, "padim:", err)
		os.Exit(1)
	}
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
			fmt.Fprintln(stderr, "padim: second interrupt: quitting now; files being written are left as hidden temporaries or not at all")
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
