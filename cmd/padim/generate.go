package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/padim-go/padim/datasets"
)

func init() {
	gen := &cobra.Command{Use: "generate", Short: "Generate datasets"}
	var o datasets.SyntheticOptions
	var out, cats string
	syn := &cobra.Command{
		Use:   "synthetic --out DIR",
		Short: "Write the deterministic synthetic MVTec-style dataset (textures and objects with scratches, spots and missing parts; exact masks)",
		Long: `generate synthetic writes the dataset into a staging folder beside --out and
then swaps it in whole, so --out never mixes two generations. --out must be
new, empty, or an earlier synthetic dataset (which is replaced).`,
		Example: `  padim generate synthetic --out data/synthetic
  padim fit --data data/synthetic --category stripes --out stripes.padim`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("generate synthetic: --out DIR is required")
			}
			for _, name := range []string{"size", "train", "test-good", "test-per-defect"} {
				if v, _ := cmd.Flags().GetInt(name); cmd.Flags().Changed(name) && v < 1 {
					return fmt.Errorf("generate synthetic: --%s %d: want at least 1 (leave it out for the default)", name, v)
				}
			}
			if cmd.Flags().Changed("categories") {
				var err error
				if o.Categories, err = parseList(cats, "category"); err != nil {
					return fmt.Errorf("generate synthetic: --categories %w", err)
				}
			}
			// The whole dataset is swapped in: files of an earlier
			// generation with other options never remain beside the new ones.
			if err := datasets.ReplaceSynthetic(out, o); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote the synthetic dataset to %s (MVTec AD layout)\n", out)
			return nil
		},
	}
	f := syn.Flags()
	f.StringVar(&out, "out", "", "output directory (required)")
	f.StringVar(&cats, "categories", "", "comma-separated categories (default all: "+strings.Join(datasets.SyntheticCategories, ", ")+")")
	f.IntVar(&o.Size, "size", 0, "image side in pixels (default 256)")
	f.IntVar(&o.Train, "train", 0, "training images per category (default 30)")
	f.IntVar(&o.TestGood, "test-good", 0, "normal test images per category (default 8)")
	f.IntVar(&o.TestPerDefect, "test-per-defect", 0, "test images per defect type (default 4)")
	f.Int64Var(&o.Seed, "seed", 0, "generator seed; the same seed and options give bit-identical files")
	gen.AddCommand(syn)
	rootCmd.AddCommand(gen)
}
