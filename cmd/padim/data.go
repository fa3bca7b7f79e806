package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/padim-go/padim/datasets"
	"github.com/padim-go/padim/internal/filekind"
)

// datasetFormat is the --format flag: how the files under --data are laid out.
type datasetFormat string

const (
	formatMVTec        datasetFormat = "mvtec"
	formatMagneticTile datasetFormat = "magnetic-tile"
	formatSTC          datasetFormat = "stc"
	// formatFolder reads folders of normal and anomalous images (--normal, --abnormal, ...).
	formatFolder datasetFormat = "folder"
)

// datasetFormats are the values of --format, in the order help and
// completion list them.
var datasetFormats = []datasetFormat{formatMVTec, formatMagneticTile, formatSTC, formatFolder}

func datasetFormatNames() []string {
	names := make([]string, len(datasetFormats))
	for i, f := range datasetFormats {
		names[i] = string(f)
	}
	return names
}

// Validate returns an error naming the allowed formats unless f is one.
func (f datasetFormat) Validate() error {
	if slices.Contains(datasetFormats, f) {
		return nil
	}
	return fmt.Errorf("--format %q: want one of %s", f, strings.Join(datasetFormatNames(), ", "))
}

// dataOptions are the flags that select a dataset split, shared by fit and test.
type dataOptions struct {
	data     string
	format   datasetFormat
	category string
	size     string
	filter   string
	// folder format
	normal, normalTest, abnormal, masks, maskSuffix string
	testFraction                                    float64
	splitSeed                                       int64
	// flags tells which flags were given on the command line (nil when the
	// options are built directly, as tests do).
	flags *pflag.FlagSet
}

// changed reports whether the flag was given on the command line.
func (o *dataOptions) changed(name string) bool { return o.flags != nil && o.flags.Changed(name) }

// register adds the dataset flags to cmd; --size and --filter only when
// preprocess is set (test takes them from the model file, so it does not
// list them at all).
func (o *dataOptions) register(cmd *cobra.Command, preprocess bool) {
	f := cmd.Flags()
	o.flags = f
	f.StringVar(&o.data, "data", "", "dataset root: the MVTec AD folder holding CATEGORY/, or the Magnetic Tile or ShanghaiTech Campus folder")
	f.StringVar((*string)(&o.format), "format", string(formatMVTec), "dataset layout: "+strings.Join(datasetFormatNames(), ", "))
	f.StringVar(&o.category, "category", "", "MVTec AD category (format mvtec)")
	if preprocess {
		f.StringVar(&o.size, "size", "", "squash images to HxW (no crop) instead of resize 256 + centre crop 224")
		f.StringVar(&o.filter, "filter", "", "image resampling filter: lanczos (PIL ANTIALIAS, the reference code's), bilinear (torchvision's default), bicubic or nearest")
	}
	f.StringVar(&o.normal, "normal", "", "folder format: folder of normal images")
	f.StringVar(&o.normalTest, "normal-test", "", "folder format: folder of normal test images (else --test-fraction of --normal is held out)")
	f.StringVar(&o.abnormal, "abnormal", "", "folder format: folder of anomalous test images")
	f.StringVar(&o.masks, "masks", "", "folder format: folder of masks, NAME+--mask-suffix for abnormal image NAME.ext")
	f.StringVar(&o.maskSuffix, "mask-suffix", "_mask.png", "folder format: mask file suffix")
	f.Float64Var(&o.testFraction, "test-fraction", 0.2, "folder format: fraction of --normal held out for testing (not used with --normal-test)")
	f.Int64Var(&o.splitSeed, "split-seed", 0, "folder format: seed of the train/test split")
}

// load returns the split and the default preprocessing for the format,
// with --size and --filter applied. The caller checks the files it will
// read (Split.Inspect or Split.InspectTest) before any work.
func (o *dataOptions) load() (*datasets.Split, datasets.Preprocess, error) {
	var (
		split *datasets.Split
		pre   = datasets.PaperPreprocess()
		err   error
	)
	if err := o.format.Validate(); err != nil {
		return nil, pre, err
	}
	if err := o.checkFormatFlags(); err != nil {
		return nil, pre, err
	}
	switch o.format {
	case formatMVTec:
		if o.data == "" || o.category == "" {
			return nil, pre, fmt.Errorf("format mvtec needs --data DIR and --category NAME")
		}
		split, err = datasets.LoadMVTec(o.data, o.category)
	case formatMagneticTile:
		if o.data == "" {
			return nil, pre, fmt.Errorf("format magnetic-tile needs --data DIR (the folder holding MT_Free, MT_Blowhole, ...)")
		}
		split, err = datasets.LoadMagneticTile(o.data)
		pre = datasets.MagneticTilePreprocess()
	case formatSTC:
		if o.data == "" {
			return nil, pre, fmt.Errorf("format stc needs --data DIR (the ShanghaiTech Campus folder holding training/ and testing/)")
		}
		split, err = datasets.LoadSTC(o.data)
	case formatFolder:
		if o.normal == "" {
			return nil, pre, fmt.Errorf("format folder needs --normal DIR")
		}
		frac := o.testFraction
		if o.normalTest != "" {
			// --normal-test replaces the held-out fraction; only an
			// explicit --test-fraction conflicts with it.
			if o.changed("test-fraction") && frac != 0 {
				return nil, pre, fmt.Errorf("--normal-test and --test-fraction %v exclude each other: with --normal-test every --normal image trains", frac)
			}
			frac = 0
		}
		split, err = datasets.LoadFolder(datasets.FolderOptions{Normal: o.normal, NormalTest: o.normalTest, Abnormal: o.abnormal,
			MaskDir: o.masks, MaskSuffix: o.maskSuffix, TestFraction: frac, Seed: o.splitSeed})
	default: // Validate accepted a format this switch does not read
		return nil, pre, fmt.Errorf("--format %s is not implemented", o.format)
	}
	if err != nil {
		return nil, pre, err
	}
	if o.size != "" {
		h, w, err := parseSize(o.size)
		if err != nil {
			return nil, pre, err
		}
		pre = datasets.Preprocess{Height: h, Width: w, Filter: pre.Filter}
	}
	if o.filter != "" {
		f, err := datasets.ParseFilter(o.filter)
		if err != nil {
			return nil, pre, err
		}
		pre.Filter = f
	}
	if err := pre.Validate(); err != nil {
		return nil, pre, err
	}
	return split, pre, nil
}

// checkElongated refuses, before any work, a split whose most elongated
// image cannot be resized for pre (see datasets.Preprocess.CheckInput).
func checkElongated(pre datasets.Preprocess, info datasets.SplitInfo) error {
	if err := pre.CheckInput(info.ElongatedW, info.ElongatedH); err != nil {
		return fmt.Errorf("%s: %w", info.ElongatedImage, err)
	}
	return nil
}

// checkFormatFlags refuses flags that the chosen --format would ignore.
func (o *dataOptions) checkFormatFlags() error {
	if o.format != formatMVTec && o.changed("category") {
		return fmt.Errorf("--category applies to --format mvtec only (this is --format %s)", o.format)
	}
	// A category is one folder of the MVTec tree: "../x" or "a/b" would
	// read (and name in reports) a folder outside it.
	if o.category != "" && (strings.ContainsAny(o.category, `/\`) || o.category == "." || o.category == "..") {
		return fmt.Errorf("--category %q: want the name of one folder under --data (e.g. bottle), not a path", o.category)
	}
	if o.format == formatFolder {
		if o.changed("mask-suffix") && o.masks == "" {
			return fmt.Errorf("--mask-suffix has no effect without --masks DIR")
		}
		if o.changed("split-seed") && o.normalTest != "" {
			return fmt.Errorf("--split-seed has no effect with --normal-test (nothing is held out of --normal)")
		}
	}
	if o.format != formatFolder {
		for _, name := range []string{"normal", "normal-test", "abnormal", "masks", "mask-suffix", "test-fraction", "split-seed"} {
			if o.changed(name) {
				return fmt.Errorf("--%s applies to --format folder only (this is --format %s)", name, o.format)
			}
		}
	}
	// A file given where a folder is expected is named as such, instead of
	// as a missing subfolder ("open FILE/MT_Free/Imgs: not a directory").
	for _, f := range []struct{ name, path string }{{"data", o.data}, {"normal", o.normal}, {"normal-test", o.normalTest}, {"abnormal", o.abnormal}, {"masks", o.masks}} {
		if f.path == "" {
			continue
		}
		if st, err := os.Stat(f.path); err == nil && !st.IsDir() {
			return fmt.Errorf("--%s %s: is %s, not a folder", f.name, f.path, filekind.Describe(st.Mode()))
		}
	}
	return nil
}

// newProgress returns a progress callback drawing a bar on stderr when it is
// a terminal, and nil (no output) otherwise.
func newProgress(desc string) func(done, total int) {
	if !term.IsTerminal(int(os.Stderr.Fd())) {
		return nil
	}
	var bar *progressbar.ProgressBar
	return func(done, total int) {
		if bar == nil {
			bar = progressbar.NewOptions(total, progressbar.OptionSetDescription(desc), progressbar.OptionSetWriter(os.Stderr),
				progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish())
		}
		bar.Set(done)
	}
}

// defaultDataRoot is $PADIM_DATA, else ./data.
func defaultDataRoot() string {
	if d := os.Getenv("PADIM_DATA"); d != "" {
		return d
	}
	return "data"
}

// cacheDir is where downloads and experiment results are kept: $PADIM_CACHE,
// else $XDG_CACHE_HOME/padim, else ~/.cache/padim.
func cacheDir() string {
	if d := os.Getenv("PADIM_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "padim")
	}
	return ".cache/padim"
}

// parseList splits a comma-separated flag value into its entries. An empty
// entry ("a,,b", a trailing comma) or one listed twice is an error rather
// than dropped: a typo must not silently change what runs. what names an
// entry in the messages ("layer", "table", "category").
func parseList(s, what string) ([]string, error) {
	parts := strings.Split(s, ",")
	out := make([]string, 0, len(parts))
	for i, v := range parts {
		v = strings.TrimSpace(v)
		if v == "" {
			return nil, fmt.Errorf("%q: %s %d of %d is empty", s, what, i+1, len(parts))
		}
		if slices.Contains(out, v) {
			return nil, fmt.Errorf("%q: %s %q listed twice", s, what, v)
		}
		out = append(out, v)
	}
	return out, nil
}

// splitList splits a flag value that parseList has already accepted.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
