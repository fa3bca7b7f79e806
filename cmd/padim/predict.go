package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/experiments"
	"github.com/padim-go/padim/internal/atomicfile"
	"github.com/padim-go/padim/internal/chart"
	"github.com/padim-go/padim/internal/filekind"
	"github.com/padim-go/padim/internal/nn"
	"github.com/padim-go/padim/internal/tensor"
	"github.com/padim-go/padim/padim"
)

type predictOptions struct {
	model, weights, out string
	threshold           float64
	thresholdSet        bool
}

func init() {
	var o predictOptions
	cmd := &cobra.Command{
		Use:   "predict --model MODEL IMAGE... --out DIR",
		Short: "Score images with a fitted model; write their scores and heatmap overlays",
		Long: `predict preprocesses each image as the model was fitted, and writes
DIR/scores.csv (file, score, and the verdict when --threshold is given) and
DIR/NAME_heatmap.png: the preprocessed image beside the anomaly map over it.
Heatmaps of one call share one colour scale. NAME is the image's file name
without extension, shortened to 100 bytes, with _2, _3, ... added when two
inputs would share it. The files of one call appear together or not at all:
they are written into a staging folder beside DIR and moved in when all
are complete, scores.csv last.

Example:
  padim predict --model bottle.padim $PADIM_DATA/mvtec_ad/bottle/test/broken_large/000.png --out pred/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			nn.SetThreads(threads)
			o.thresholdSet = cmd.Flags().Changed("threshold")
			return runPredict(cmd.Context(), cmd.OutOrStdout(), o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.model, "model", "", "model file written by padim fit (required)")
	f.StringVar(&o.weights, "weights", "", "backbone weights (default: the file recorded in the model if its sha256 is unchanged, else found like fit does)")
	f.StringVar(&o.out, "out", "", "output directory (required)")
	f.Float64Var(&o.threshold, "threshold", 0, "image score above which an image is reported anomalous (default: no verdict)")
	rootCmd.AddCommand(cmd)
}

func runPredict(ctx context.Context, stdout io.Writer, o predictOptions, images []string) error {
	if o.model == "" || o.out == "" {
		return fmt.Errorf("predict: --model and --out are required")
	}
	if (o.thresholdSet || o.threshold != 0) && !(o.threshold > 0 && !math.IsInf(o.threshold, 0)) {
		return fmt.Errorf("predict: --threshold %v: want a positive finite image score (leave it out for no verdict)", o.threshold)
	}
	if err := atomicfile.CheckSetDir(o.out); err != nil {
		return fmt.Errorf("predict: --out %w", err)
	}
	for _, p := range images {
		if _, err := filekind.Regular(p); err != nil {
			return err
		}
	}
	names := outputNames(images)
	inputs := append(slices.Clone(images), o.model, o.weights)
	for _, n := range append(slices.Clone(names), "scores.csv") {
		if err := atomicfile.CheckTarget(filepath.Join(o.out, n), inputs...); err != nil {
			return fmt.Errorf("predict: %w", err)
		}
	}
	m, bb, pre, err := openModel(o.model, o.weights, func(m *padim.Model, pre datasets.Preprocess) error {
		h, w := pre.Size()
		e := append(scoreMemory(pre, m.Header.GridH, m.Header.GridW, m.Header.D, len(images), experiments.ScoreGroup, false, datasets.SplitInfo{}),
			memoryItem{fmt.Sprintf("input tensors of all %d images", len(images)), float64(len(images)) * float64(h) * float64(w) * 3 * 4})
		return checkMemory("predict", e,
			"the image size comes from the model "+o.model+"; give fewer images per call")
	})
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
	var lines []string
	err = atomicfile.WriteSet(o.out, "scores.csv", func(staging string) error {
		for i, p := range images {
			if err := ctx.Err(); err != nil {
				return err
			}
			rgb, err := pre.RGB(p)
			if err != nil {
				return err
			}
			panel := chart.HeatmapPanel{RGB: rgb.Pix, Map: maps[i], H: h, W: w}
			if err := (chart.HeatmapGrid{Panels: []chart.HeatmapPanel{panel}, Lo: lo, Hi: hi}).WritePNG(filepath.Join(staging, names[i])); err != nil {
				return err
			}
			out := filepath.Join(o.out, names[i])
			row := []string{p, strconv.FormatFloat(scores[i], 'f', 6, 64), out}
			verdict := ""
			if o.thresholdSet || o.threshold != 0 {
				verdict = "normal"
				if scores[i] > o.threshold {
					verdict = "anomalous"
				}
				row = append(row, verdict)
			}
			rows = append(rows, row)
			lines = append(lines, fmt.Sprintf("%-60s %10.4f %s", p, scores[i], verdict))
		}
		return atomicfile.Write(filepath.Join(staging, "scores.csv"), func(wr io.Writer) error {
			cw := csv.NewWriter(wr)
			hdr := []string{"image", "score", "heatmap"}
			if len(rows) > 0 && len(rows[0]) > 3 {
				hdr = append(hdr, "verdict")
			}
			cw.Write(hdr)
			cw.WriteAll(rows)
			return cw.Error()
		})
	})
	if err != nil {
		return err
	}
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
	}
	return nil
}

// maxNameBytes bounds the image-name part of a heatmap file name, so that
// NAME_heatmap.png (and a _N suffix) stays under the 255-byte limit of
// common file systems whatever the input is called.
const maxNameBytes = 100

// outputNames gives each image a heatmap file name, NAME_heatmap.png with
// NAME its base name without extension, shortened to maxNameBytes (at a
// character boundary) and made unique by _2, _3, ... in input order, checked
// against every name already given (so x_1.jpg, then x.jpg twice, gives
// x_1, x, x_2) and case-insensitively (for case-insensitive file systems).
func outputNames(images []string) []string {
	taken := map[string]bool{}
	out := make([]string, len(images))
	for i, p := range images {
		base := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		if len(base) > maxNameBytes {
			cut := maxNameBytes
			for cut > 0 && !utf8.RuneStart(base[cut]) {
				cut--
			}
			base = base[:cut]
		}
		if base == "" || base == "." || base == ".." {
			base = "image"
		}
		name := base
		for k := 2; taken[strings.ToLower(name)]; k++ {
			name = fmt.Sprintf("%s_%d", base, k)
		}
		taken[strings.ToLower(name)] = true
		out[i] = name + "_heatmap.png"
	}
	return out
}
