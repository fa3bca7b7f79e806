package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/experiments"
	"github.com/padim-go/padim/internal/atomicfile"
	"github.com/padim-go/padim/internal/nn"
	"github.com/padim-go/padim/internal/tensor"
)

type predictOptions struct {
	model, weights, out string
	threshold           float64
}

func init() {
	var o predictOptions
	cmd := &cobra.Command{
		Use:   "predict --model MODEL IMAGE... --out DIR",
		Short: "Score images with a fitted model; write their scores and heatmap overlays",
		Long: `predict preprocesses each image as the model was fitted, and writes
DIR/scores.csv (file, score, and the verdict when --threshold is given) and
DIR/NAME_heatmap.png: the preprocessed image beside the anomaly map over it.
Heatmaps of one call share one colour scale.

Example:
  padim predict --model bottle.padim $PADIM_DATA/mvtec_ad/bottle/test/broken_large/000.png --out pred/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			nn.SetThreads(threads)
			return runPredict(cmd.Context(), cmd.OutOrStdout(), o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.model, "model", "", "model file written by padim fit (required)")
	f.StringVar(&o.weights, "weights", "", "backbone weights (default: the file recorded in the model if its sha256 is unchanged, else found like fit does)")
	f.StringVar(&o.out, "out", "", "output directory (required)")
	f.Float64Var(&o.threshold, "threshold", 0, "image score above which an image is reported anomalous (0: no verdict)")
	rootCmd.AddCommand(cmd)
}

func runPredict(ctx context.Context, stdout io.Writer, o predictOptions, images []string) error {
	if o.model == "" || o.out == "" {
		return fmt.Errorf("predict: --model and --out are required")
	}
	m, bb, pre, err := openModel(o.model, o.weights)
	if err != nil {
		return err
	}
	defer m.Close()
	// Read every image first: a bad file fails the call before any work.
	xs, err := datasets.LoadImages(images, 0, pre.Image)
	if err != nil {
		return err
	}
	scorer := experiments.PaDiMScorer{Model: m, Backbone: bb}
	scores := make([]float64, len(images))
	maps := make([][]float32, len(images))
	const batch = experiments.ScoreGroup
	for s := 0; s < len(images); s += batch {
		e := min(s+batch, len(images))
		x, err := tensor.Stack(xs[s:e])
		if err != nil {
			return err
		}
		sc, mp, err := scorer.ScoreBatch(ctx, x)
		if err != nil {
			return err
		}
		copy(scores[s:], sc)
		copy(maps[s:], mp)
	}
	h, w := pre.Size()
	lo, hi := maps[0][0], maps[0][0]
	for _, mp := range maps {
		for _, v := range mp {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	var rows [][]string
	seen := map[string]int{}
	for i, p := range images {
		rgb, err := pre.RGB(p)
		if err != nil {
			return err
		}
		name := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		if n := seen[name]; n > 0 { // same base name from different folders
			name = fmt.Sprintf("%s_%d", name, n)
		}
		seen[name]++
		out := filepath.Join(o.out, name+"_heatmap.png")
		panel := experiments.HeatmapPanel{RGB: rgb.Pix, Map: maps[i], H: h, W: w}
		if err := experiments.WriteHeatmapGrid(out, []experiments.HeatmapPanel{panel}, lo, hi); err != nil {
			return err
		}
		row := []string{p, strconv.FormatFloat(scores[i], 'f', 6, 64), out}
		verdict := ""
		if o.threshold > 0 {
			verdict = "normal"
			if scores[i] > o.threshold {
				verdict = "anomalous"
			}
			row = append(row, verdict)
		}
		rows = append(rows, row)
		fmt.Fprintf(stdout, "%-60s %10.4f %s\n", p, scores[i], verdict)
	}
	return atomicfile.Write(filepath.Join(o.out, "scores.csv"), func(wr io.Writer) error {
		cw := csv.NewWriter(wr)
		hdr := []string{"image", "score", "heatmap"}
		if o.threshold > 0 {
			hdr = append(hdr, "verdict")
		}
		cw.Write(hdr)
		cw.WriteAll(rows)
		return cw.Error()
	})
}
