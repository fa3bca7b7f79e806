package main

import (
	"fmt"
	"os"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/padim-go/padim/internal/blas"
	"github.com/padim-go/padim/internal/nn"
	"github.com/padim-go/padim/padim"
)

func init() {
	rootCmd.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print the build: Go version, linear algebra backend and the kernels OpenBLAS selected",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			ct := os.Getenv("OPENBLAS_CORETYPE")
			if ct == "" {
				ct = "unset"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "padim model format v%d, %s %s/%s, %d threads\nlinear algebra: %s (kernels %s, OPENBLAS_CORETYPE %s)\nconvolutions: %s\n",
				padim.FormatVersion, runtime.Version(), runtime.GOOS, runtime.GOARCH, threads, blas.Backend, blas.CoreName(), ct, nn.ConvKernels())
		},
	})
}
