package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/experiments"
	"github.com/padim-go/padim/internal/atomicfile"
	"github.com/padim-go/padim/internal/nn"
	"github.com/padim-go/padim/padim"
)

type fitOptions struct {
	dataOptions
	backbone, weights, layers, channels, out string
	dims                                     int
	seed                                     uint64
	pca                                      bool
	batch                                    int
	// dimsSet is whether --dims was given: 0 is the default's "the paper's
	// d", and an explicit --dims 0 is an error rather than that default.
	dimsSet bool
	// seedSet is whether --seed was given: it only drives the random
	// channel draw, so with --channels or --pca it is an error.
	seedSet bool
}

func init() {
	var o fitOptions
	cmd := &cobra.Command{
		Use:   "fit --data DIR [--format mvtec|magnetic-tile|stc|folder] [--category NAME] --backbone NAME [--weights FILE] [--dims D] [--seed S] [--channels FILE] [--size HxW] --out MODEL",
		Short: "Fit a PaDiM model on the normal training images of a dataset",
		Long: `fit runs the training images through the frozen backbone, keeps d of the
concatenated layer channels (a seeded random subset as in the paper, the
indices in --channels, or PCA with --pca) and fits one Gaussian per patch
position. The model file records everything scoring needs: backbone, weights
sha256, layers, channel indices, preprocessing, means and covariance Cholesky factors.

Examples:
  padim fit --data $PADIM_DATA/mvtec_ad --category bottle --backbone resnet18 \
      --weights $PADIM_DATA/weights/resnet18-imagenet-layer1to3.pth --out bottle.padim
  padim fit --format magnetic-tile --data $PADIM_DATA/magnetic_tile --channels ch.txt --out mt.padim`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nn.SetThreads(threads)
			o.dimsSet = cmd.Flags().Changed("dims")
			o.seedSet = cmd.Flags().Changed("seed")
			return runFit(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	o.dataOptions.register(cmd, true)
	f := cmd.Flags()
	f.StringVar(&o.backbone, "backbone", "resnet18", "backbone: "+strings.Join(backbones.Names(), ", "))
	f.StringVar(&o.weights, "weights", "", "torchvision .pth or .safetensors weights (default: found in $PADIM_DATA/weights or the download cache)")
	f.StringVar(&o.layers, "layers", "", "comma-separated layers joined into the embedding (default: the paper's for the backbone)")
	f.IntVar(&o.dims, "dims", 0, "embedding channels kept, the paper's d (default "+paperDimsHelp()+")")
	f.Uint64Var(&o.seed, "seed", 1024, "seed of the random channel subset")
	f.StringVar(&o.channels, "channels", "", "file of 0-based channel indices into the concatenated layers, one per line (instead of a seeded draw)")
	f.BoolVar(&o.pca, "pca", false, "reduce to --dims with PCA instead of a random subset (the paper's alternative)")
	f.IntVar(&o.batch, "batch", 8, "images per backbone call")
	f.StringVar(&o.out, "out", "", "model file to write (required)")
	rootCmd.AddCommand(cmd)
}

// paperDimsHelp lists the paper's d per backbone for --dims' help.
func paperDimsHelp() string {
	var parts []string
	for _, name := range backbones.Names() {
		s, err := backbones.Lookup(name)
		if err != nil {
			continue
		}
		if s.PaDiMDims == 0 {
			parts = append(parts, "all for "+name)
		} else {
			parts = append(parts, fmt.Sprintf("%d for %s", s.PaDiMDims, name))
		}
	}
	return strings.Join(parts, ", ")
}

// findWeights resolves --weights, or looks in $PADIM_DATA/weights and the cache.
func findWeights(backbone, given string) (string, error) {
	if given != "" {
		return given, nil
	}
	env := &experiments.Env{WeightsDirs: []string{filepath.Join(defaultDataRoot(), "weights"), filepath.Join(cacheDir(), "weights")}}
	p, err := env.WeightsFile(backbone)
	if err != nil {
		return "", fmt.Errorf("%v; pass --weights FILE or run `padim fetch weights %s`", err, backbone)
	}
	return p, nil
}

func runFit(ctx context.Context, stdout io.Writer, o fitOptions) error {
	if o.out == "" {
		return fmt.Errorf("fit: --out MODEL is required")
	}
	if o.batch < 1 {
		return fmt.Errorf("fit: --batch %d: want at least 1 image per backbone call", o.batch)
	}
	if (o.dimsSet || o.dims != 0) && o.dims < 1 {
		return fmt.Errorf("fit: --dims %d: want at least 1 channel (leave --dims out for the paper's d)", o.dims)
	}
	if atomicfile.IsStdout(o.out) {
		stdout = os.Stderr // the model itself goes to standard output
	}
	spec, err := backbones.Lookup(o.backbone)
	if err != nil {
		return err
	}
	layers := spec.PaDiMLayers
	if o.layers != "" {
		if layers, err = parseList(o.layers, "layer"); err != nil {
			return fmt.Errorf("fit: --layers %w", err)
		}
	}
	if err := padim.CheckLayers(spec.Layers, layers); err != nil {
		return fmt.Errorf("fit: --layers: %s", strings.TrimPrefix(err.Error(), "padim: "))
	}
	total := 0
	for _, l := range spec.Layers {
		if slices.Contains(layers, l.Name) {
			total += l.Channels
		}
	}
	cfg := padim.FitConfig{Layers: layers, D: o.dims, Seed: o.seed, BatchSize: o.batch}
	switch {
	case o.channels != "":
		if o.pca {
			return fmt.Errorf("fit: --channels and --pca exclude each other")
		}
		idx, err := padim.ReadChannelIndices(o.channels, total)
		if err != nil {
			return err
		}
		if o.dims != 0 && o.dims != len(idx) {
			return fmt.Errorf("fit: --dims %d but --channels %s lists %d channels; give one or the other", o.dims, o.channels, len(idx))
		}
		cfg.Selection, cfg.Indices, cfg.D = padim.SelectIndices, idx, len(idx)
	case o.pca:
		cfg.Selection = padim.SelectPCA
	default:
		cfg.Selection = padim.SelectRandom
	}
	if o.seedSet && cfg.Selection != padim.SelectRandom {
		return fmt.Errorf("fit: --seed only seeds the random channel draw; it has no effect with --channels or --pca")
	}
	if cfg.D == 0 {
		cfg.D = spec.PaDiMDims
		if cfg.D == 0 {
			cfg.D = total
		}
	}
	if cfg.D > total {
		return fmt.Errorf("fit: --dims %d is more than the %d channels of layers %s", cfg.D, total, strings.Join(layers, "+"))
	}
	wpath, err := findWeights(o.backbone, o.weights)
	if err != nil {
		return err
	}
	split, pre, err := o.load()
	if err != nil {
		return err
	}
	// Every image and mask header is checked now, test images too (a model
	// is fitted to score them), so a bad file stops the command before the
	// fit spends minutes.
	info, err := split.Inspect()
	if err != nil {
		return err
	}
	if err := checkElongated(pre, info); err != nil {
		return err
	}
	inputs := append(splitFiles(split), wpath, o.channels)
	if err := atomicfile.CheckTarget(o.out, inputs...); err != nil {
		return fmt.Errorf("fit: --out %w", err)
	}
	if err := checkMemory("fit", fitMemory(spec, layers, cfg.D, total, o.batch, o.pca, pre, info), "use a smaller --size, --dims or --batch"); err != nil {
		return err
	}
	bb, sha, err := backbones.Open(o.backbone, wpath, layers)
	if err != nil {
		return err
	}
	cfg.WeightsSHA256, cfg.WeightsPath, cfg.Preprocess = sha, absPath(wpath), policyOf(pre)
	start := time.Now()
	fmt.Fprintf(stdout, "fitting PaDiM (%s, layers %s, d=%d, %s) on %d training images of %s\n",
		o.backbone, strings.Join(layers, "+"), cfg.D, cfg.Selection, len(split.Train), split.Name)
	m, err := padim.Fit(ctx, cfg, bb, split.Train, pre, newProgress("fit"))
	if err != nil {
		return err
	}
	if err := m.WriteFile(o.out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%d positions x d=%d, %.1f MB) in %.1fs\n", o.out, m.Header.GridH*m.Header.GridW, m.Header.D,
		float64(4*(len(m.Mean)+len(m.Cholesky)+len(m.PCA)))/1e6, time.Since(start).Seconds())
	return nil
}

// splitFiles lists every file a split reads (images and masks), for the
// check that no output overwrites one of them.
func splitFiles(s *datasets.Split) []string {
	var out []string
	for _, set := range [][]datasets.Sample{s.Train, s.Test} {
		for _, smp := range set {
			out = append(out, smp.Path)
			if smp.MaskPath != "" {
				out = append(out, smp.MaskPath)
			}
		}
	}
	return out
}

func policyOf(pre datasets.Preprocess) padim.PreprocessPolicy {
	return experiments.Policy(pre)
}
