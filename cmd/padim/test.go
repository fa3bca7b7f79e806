package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/eval"
	"github.com/padim-go/padim/experiments"
	"github.com/padim-go/padim/internal/atomicfile"
	"github.com/padim-go/padim/internal/filekind"
	"github.com/padim-go/padim/internal/nn"
	"github.com/padim-go/padim/padim"
)

type testOptions struct {
	dataOptions
	model, weights, jsonOut string
	batch                   int
}

// testReport is the JSON `padim test --json` writes.
type testReport struct {
	Model          string             `json:"model"`
	Dataset        string             `json:"dataset"`
	ImageAUROC     eval.Metric        `json:"image_auroc"`
	PixelAUROC     eval.Metric        `json:"pixel_auroc"`
	PRO            eval.Metric        `json:"pro"`
	NTest          int                `json:"n_test"`
	NTestAnomalous int                `json:"n_test_anomalous"`
	NTrain         int                `json:"n_train"`
	HasMasks       bool               `json:"has_masks"`
	Seconds        map[string]float64 `json:"seconds"`
	Images         []imageScore       `json:"images"`
}

type imageScore struct {
	Path   string  `json:"path"`
	Defect string  `json:"defect"`
	Label  int     `json:"label"`
	Score  float64 `json:"score"`
}

func init() {
	var o testOptions
	cmd := &cobra.Command{
		Use:   "test --model MODEL --data DIR [--format ...] [--category NAME] [--json FILE]",
		Short: "Score a dataset's test images with a fitted model and print image AUROC, pixel AUROC and PRO",
		Long: `test scores every test image with the model (preprocessed exactly as at fit
time), and computes image AUROC, pixel AUROC over all pixels and the PRO
score (up to FPR 0.3, divided by 0.3). Pixel metrics are "n/a" (null in
JSON) when the dataset has no ground-truth masks. Before any scoring, the
headers of the test images and masks are checked (the training images are
neither read nor checked).

Example:
  padim test --model bottle.padim --data $PADIM_DATA/mvtec_ad --category bottle --json bottle.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nn.SetThreads(threads)
			return runTest(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	o.dataOptions.register(cmd, false)
	f := cmd.Flags()
	f.StringVar(&o.model, "model", "", "model file written by padim fit (required)")
	f.StringVar(&o.weights, "weights", "", "backbone weights (default: the file recorded in the model if its sha256 is unchanged, else found like fit does; must match the sha256 the model records)")
	f.StringVar(&o.jsonOut, "json", "", "write metrics, counts, timings and per-image scores as JSON to this file (- for standard output; the table then goes to standard error)")
	f.IntVar(&o.batch, "batch", experiments.ScoreGroup, "images scored per call: the Mahalanobis step reads the model once per call, so larger is faster per image; the backbone runs at most 8 at a time")
	rootCmd.AddCommand(cmd)
}

// openModel reads a model file, rebuilds the preprocessing it was fitted
// with, runs check on them (nil: none) before any weights are read, and
// opens its backbone with weights whose sha256 matches the one recorded at
// fit time. The caller closes the model.
func openModel(modelPath, weights string, check func(*padim.Model, datasets.Preprocess) error) (*padim.Model, backbones.Backbone, datasets.Preprocess, error) {
	m, err := padim.ReadModel(modelPath)
	if err != nil {
		return nil, nil, datasets.Preprocess{}, err
	}
	fail := func(err error) (*padim.Model, backbones.Backbone, datasets.Preprocess, error) {
		m.Close()
		return nil, nil, datasets.Preprocess{}, err
	}
	pre, err := experiments.PreprocessFromPolicy(m.Header.Preprocess)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", modelPath, err))
	}
	if check != nil {
		if err := check(m, pre); err != nil {
			return fail(err)
		}
	}
	// The grid the preprocessing gives must be the one the arrays hold: a
	// hand-edited header is refused here, before weights are read.
	if len(m.Header.Layers) > 0 {
		h, w := pre.Size()
		if gh, gw, err := backbones.OutputSize(m.Header.Backbone, m.Header.Layers[0], h, w); err == nil && (gh != m.Header.GridH || gw != m.Header.GridW) {
			return fail(fmt.Errorf("%s: the header's preprocessing gives %dx%d inputs, a %dx%d patch grid, but the model's arrays are for %dx%d: inconsistent model file",
				modelPath, h, w, gh, gw, m.Header.GridH, m.Header.GridW))
		}
	}
	wpath, err := modelWeights(m, modelPath, weights)
	if err != nil {
		return fail(err)
	}
	bb, sha, err := backbones.Open(m.Header.Backbone, wpath, m.Header.Layers)
	if err != nil {
		return fail(err)
	}
	if m.Header.WeightsSHA256 != "" && sha != m.Header.WeightsSHA256 {
		return fail(fmt.Errorf("%s: weights sha256 %s differ from the %s the model %s was fitted with", wpath, sha[:12], m.Header.WeightsSHA256[:min(12, len(m.Header.WeightsSHA256))], modelPath))
	}
	return m, bb, pre, nil
}

func runTest(ctx context.Context, stdout io.Writer, o testOptions) error {
	if o.model == "" {
		return fmt.Errorf("test: --model is required")
	}
	if o.batch < 1 {
		return fmt.Errorf("test: --batch %d: want at least 1 image per call", o.batch)
	}
	if o.size != "" || o.filter != "" {
		return fmt.Errorf("test: --size and --filter come from the model file; do not pass them")
	}
	if o.jsonOut != "" && atomicfile.IsStdout(o.jsonOut) {
		stdout = os.Stderr // standard output carries the JSON
	}
	// A model that is not there, or not a regular file, is the first thing
	// to say; its contents are read after the data is checked.
	if _, err := filekind.Regular(o.model); err != nil {
		return fmt.Errorf("test: --model: %w", err)
	}
	// The data is checked before the model and weights are read: the test
	// images and their masks, which are all that scoring reads (a training
	// image is neither checked nor counted in the size estimates).
	split, _, err := o.load()
	if err != nil {
		return err
	}
	info, err := split.InspectTest()
	if err != nil {
		return err
	}
	if err := checkBothClasses(split); err != nil {
		return fmt.Errorf("test: %w", err)
	}
	if o.jsonOut != "" {
		if err := atomicfile.CheckTarget(o.jsonOut, append(splitFiles(split), o.model, o.weights)...); err != nil {
			return fmt.Errorf("test: --json %w", err)
		}
	}
	m, bb, pre, err := openModel(o.model, o.weights, func(m *padim.Model, pre datasets.Preprocess) error {
		if err := checkElongated(pre, info); err != nil {
			return fmt.Errorf("%w (the preprocessing comes from the model %s)", err, o.model)
		}
		return checkMemory("test", scoreMemory(pre, m.Header.GridH, m.Header.GridW, m.Header.D, len(split.Test), o.batch, split.HasMasks, info),
			"the image size comes from the model "+o.model+"; use a smaller --batch or fewer test images")
	})
	if err != nil {
		return err
	}
	defer m.Close()
	start := time.Now()
	scored, err := experiments.ScoreSplit(ctx, experiments.PaDiMScorer{Model: m, Backbone: bb}, split, pre, o.batch, newProgress("test"))
	if err != nil {
		return err
	}
	t1 := time.Now()
	res, err := scored.Evaluate()
	if err != nil {
		return err
	}
	rep := testReport{Model: o.model, Dataset: split.Name, ImageAUROC: res.ImageAUROC, PixelAUROC: res.PixelAUROC, PRO: res.PRO,
		NTest: len(split.Test), NTrain: len(split.Train), HasMasks: split.HasMasks,
		Seconds: map[string]float64{"decode": scored.DecodeSeconds, "inference": scored.InferenceSeconds, "metrics": time.Since(t1).Seconds(),
			"total": time.Since(start).Seconds(), "inference_per_image": scored.InferenceSeconds / float64(max(1, len(split.Test)))}}
	for i, s := range scored.Samples {
		rep.Images = append(rep.Images, imageScore{Path: s.Path, Defect: s.Defect, Label: s.Label, Score: scored.Scores[i]})
		if s.Label != 0 {
			rep.NTestAnomalous++
		}
	}
	tbl := tablewriter.NewTable(stdout, tablewriter.WithHeaderAutoFormat(tw.Off))
	tbl.Header([]string{"dataset", "image AUROC", "pixel AUROC", "PRO (FPR<=0.3)", "test images", "s/image"})
	tbl.Append([]string{split.Name, res.ImageAUROC.String(), res.PixelAUROC.String(), res.PRO.String(),
		fmt.Sprintf("%d (%d anomalous)", rep.NTest, rep.NTestAnomalous), fmt.Sprintf("%.3f", rep.Seconds["inference_per_image"])})
	if err := tbl.Render(); err != nil {
		return err
	}
	if !split.HasMasks {
		fmt.Fprintf(stdout, "%s has no ground-truth masks: pixel AUROC and PRO are unavailable, not zero.\n", split.Name)
	}
	if o.jsonOut != "" {
		b, err := json.MarshalIndent(rep, "", " ")
		if err != nil {
			return err
		}
		if err := atomicfile.WriteBytes(o.jsonOut, append(b, '\n')); err != nil {
			return err
		}
	}
	return nil
}

// checkBothClasses refuses, before any work, a test set without normal or
// without anomalous images: its image AUROC is undefined, so scoring it
// would end in that error only after every image was scored.
func checkBothClasses(split *datasets.Split) error {
	var normal, anomalous int
	dirs := map[string]bool{}
	var names []string
	for _, s := range split.Test {
		if s.Label == 0 {
			normal++
		} else {
			anomalous++
		}
		if d := filepath.Dir(s.Path); !dirs[d] {
			dirs[d] = true
			names = append(names, d)
		}
	}
	if normal > 0 && anomalous > 0 {
		return nil
	}
	missing := "anomalous"
	if normal == 0 {
		missing = "normal"
	}
	if len(names) > 3 {
		names = append(names[:3], "...")
	}
	return fmt.Errorf("the test set of %s (%s) has %d normal and %d anomalous images: image AUROC is undefined without %s test images; "+
		"add some, or score the images with padim predict, which needs no labels", split.Name, strings.Join(names, ", "), normal, anomalous, missing)
}
