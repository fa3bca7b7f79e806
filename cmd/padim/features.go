package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/internal/atomicfile"
	"github.com/padim-go/padim/internal/nn"
	"github.com/padim-go/padim/internal/npy"
)

// featuresOptions are the flags of `padim features`.
type featuresOptions struct {
	backbone string
	weights  string
	layers   string // comma-separated; "" = the backbone's PaDiM layers
	size     string // "HxW" squashes the image; "" = resize 256, centre crop 224
	out      string
}

func init() {
	var o featuresOptions
	cmd := &cobra.Command{
		Use:   "features --backbone NAME --weights FILE [--layers L1,L2,...] [--size HxW] IMAGE --out DIR",
		Short: "Write a backbone's feature maps for one image as DIR/<layer>.npy",
		Long: `features preprocesses IMAGE (the paper's resize 256 + centre crop 224, or a
squash to --size HxW), runs the backbone up to the deepest requested layer
and writes each layer as a float32 C x H x W .npy file. Without --layers it
writes the layers PaDiM uses for that backbone. The files of one call
appear in DIR together or not at all: they are written into a staging
folder beside DIR and moved in when all are complete.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			nn.SetThreads(threads)
			return runFeatures(cmd.OutOrStdout(), o, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.backbone, "backbone", "resnet18", "backbone: "+strings.Join(backbones.Names(), ", "))
	f.StringVar(&o.weights, "weights", "", "torchvision .pth or .safetensors weights file (required)")
	f.StringVar(&o.layers, "layers", "", "comma-separated layers to write (default: the backbone's PaDiM layers)")
	f.StringVar(&o.size, "size", "", "squash the image to HxW instead of resize 256 + centre crop 224")
	f.StringVar(&o.out, "out", "", "output directory (required)")
	rootCmd.AddCommand(cmd)
}

// runFeatures is the body of `padim features`.
func runFeatures(stdout io.Writer, o featuresOptions, image string) error {
	if o.weights == "" {
		return fmt.Errorf("features: --weights is required")
	}
	if o.out == "" {
		return fmt.Errorf("features: --out is required")
	}
	spec, err := backbones.Lookup(o.backbone)
	if err != nil {
		return err
	}
	layers := spec.PaDiMLayers
	if o.layers != "" {
		if layers, err = parseList(o.layers, "layer"); err != nil {
			return fmt.Errorf("features: --layers %w", err)
		}
	}
	pre := datasets.PaperPreprocess()
	if o.size != "" {
		h, w, err := parseSize(o.size)
		if err != nil {
			return err
		}
		pre = datasets.Preprocess{Height: h, Width: w}
	}
	if err := pre.Validate(); err != nil {
		return err
	}
	if err := atomicfile.CheckSetDir(o.out); err != nil {
		return fmt.Errorf("features: --out %w", err)
	}
	for _, l := range layers {
		if err := atomicfile.CheckTarget(filepath.Join(o.out, l+".npy"), image, o.weights); err != nil {
			return fmt.Errorf("features: %w", err)
		}
	}
	if err := checkMemory("features", inputItems(pre, 1, 0, 0), "use a smaller --size"); err != nil {
		return err
	}
	x, err := pre.Image(image)
	if err != nil {
		return err
	}
	b, sum, err := backbones.Open(o.backbone, o.weights, layers)
	if err != nil {
		return err
	}
	feats, err := b.Forward(x, layers)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s weights %s sha256 %s, input %dx%d\n", o.backbone, o.weights, sum, x.H, x.W)
	// The layers of one call appear in --out together or not at all, so a
	// failure part-way (a full disk) never leaves some layers of this image
	// beside others of an earlier call.
	err = atomicfile.WriteSet(o.out, layers[len(layers)-1]+".npy", func(staging string) error {
		for _, l := range layers {
			f := feats[l]
			if err := npy.WriteFloat32(filepath.Join(staging, l+".npy"), []int{f.C, f.H, f.W}, f.Image(0).Data); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, l := range layers {
		f := feats[l]
		fmt.Fprintf(stdout, "%s %dx%dx%d -> %s\n", l, f.C, f.H, f.W, filepath.Join(o.out, l+".npy"))
	}
	return nil
}

// parseSize reads "HxW" (height first, as torch sizes are written).
func parseSize(s string) (h, w int, err error) {
	hs, ws, ok := strings.Cut(strings.ToLower(s), "x")
	if ok {
		h, err = strconv.Atoi(hs)
		if err == nil {
			w, err = strconv.Atoi(ws)
		}
	}
	if !ok || err != nil || h < 1 || w < 1 {
		return 0, 0, fmt.Errorf("--size %q: want HxW with positive integers, e.g. 224x224", s)
	}
	return h, w, nil
}
