// Command padim fits and scores PaDiM anomaly-detection models and
// regenerates the paper's experiments. Run `padim --help` for the commands.
package main

import (
	"context"
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
regenerates the paper's tables (padim reproduce) and compares with SPADE.`,
	SilenceUsage:  true,
	SilenceErrors: true,
}

var threads int

func init() {
	rootCmd.PersistentFlags().IntVar(&threads, "threads", runtime.GOMAXPROCS(0), "worker threads for feature extraction and linear algebra")
}

func main() {
	if w := blas.Warning(); w != "" {
		fmt.Fprintln(os.Stderr, "padim: warning:", w)
	}
	ensureFastOpenBLAS()
	// SIGINT/SIGTERM cancel the context; long commands stop at the next
	// image boundary and leave only complete files behind.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := rootCmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "padim:", err)
		if ctx.Err() != nil {
			os.Exit(130)
		}
		os.Exit(1)
	}
}
