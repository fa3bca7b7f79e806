package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/padim-go/padim/internal/blas"
	"github.com/padim-go/padim/internal/cpuinfo"
	"github.com/padim-go/padim/internal/nn"
	"github.com/padim-go/padim/padim"
)

func init() {
	rootCmd.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print the build: Go version, the linear algebra library loaded and why, its kernels, and the CPU",
		Long: `Print the build: Go version, model format, the linear algebra library in use
and why it was chosen, the kernels it selected, and the CPU (model name,
family and model numbers, vector extensions).

padim loads an optimised BLAS/LAPACK when it starts (OpenBLAS first, then
MKL, or Accelerate on macOS) and uses gonum's pure-Go code when there is none.
PADIM_BLAS=gonum forces the pure-Go code; PADIM_BLAS=openblas|mkl|accelerate
restricts the search to one family; PADIM_BLAS=/path/to/libopenblas.so loads
that file.`,
		Args: cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			ct := os.Getenv("OPENBLAS_CORETYPE")
			if ct == "" {
				ct = "unset"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "padim %s\n", buildVersion())
			fmt.Fprintf(cmd.OutOrStdout(), "model format v%d, %s %s/%s, %d threads\nlinear algebra: %s (kernels %s, OPENBLAS_CORETYPE %s)\n  from: %s\nconvolutions: %s\n",
				padim.FormatVersion, runtime.Version(), runtime.GOOS, runtime.GOARCH, threads, blas.Backend, blas.CoreName(), ct, blas.Origin(), nn.ConvKernels())
			if cpu := cpuinfo.Read(); cpu != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "cpu: %s\n", cpu)
			}
		},
	})
}

// releaseVersion is set by `make dist` (-ldflags -X main.releaseVersion=...).
var releaseVersion string

// buildVersion is the release version make dist stamped, else the module version `go install ...@VERSION` recorded, or
// for a build from a checkout the commit (with "+dirty" for local changes).
func buildVersion() string {
	if releaseVersion != "" {
		return releaseVersion
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown build)"
	}
	v := info.Main.Version
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev != "" {
		v += " (commit " + rev[:min(12, len(rev))] + dirty + ")"
	}
	return v
}
