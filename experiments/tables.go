package experiments

import (
	"fmt"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/datasets"
)

// Options shape the declared tables.
type Options struct {
	// Quick shrinks every table for tests and smoke runs: few images, small d,
	// one seed, synthetic and real data alike.
	Quick bool
	// SyntheticCategories are the categories of the generated dataset used
	// where real data is missing (filled by the caller from the generator).
	SyntheticCategories []string
}

// Backbone settings the paper uses (package backbones holds them).
var (
	r18Layers, r18Dims   = paperSettings("resnet18")
	wr50Layers, wr50Dims = paperSettings("wide_resnet50_2")
	effb5Layers, _       = paperSettings("efficientnet_b5") // the paper's layers 7, 20, 26 (see package backbones)
)

// paperSettings are the layers and d the paper uses for a registered
// backbone.
func paperSettings(backbone string) ([]string, int) {
	s, err := backbones.Lookup(backbone)
	if err != nil {
		panic(err) // the names above are registered backbones: a typo is a programming error
	}
	return s.PaDiMLayers, s.PaDiMDims
}

func padimR18(dims int, seed int64) ModelSpec {
	return ModelSpec{Method: MethodPaDiM, Backbone: "resnet18", Layers: r18Layers, Dims: dims, Reduce: ReduceRandom, Seed: seed, Combine: CombineJoint}
}

func padimWR50(dims int, seed int64) ModelSpec {
	return ModelSpec{Method: MethodPaDiM, Backbone: "wide_resnet50_2", Layers: wr50Layers, Dims: dims, Reduce: ReduceRandom, Seed: seed, Combine: CombineJoint}
}

func padimEffB5() ModelSpec {
	return ModelSpec{Method: MethodPaDiM, Backbone: "efficientnet_b5", Layers: effb5Layers, Reduce: ReduceNone, Combine: CombineJoint}
}

// spadeWR50 is SPADE as published: Wide-ResNet-50-2, images pooled after layer4.
func spadeWR50() ModelSpec {
	return ModelSpec{Method: MethodSPADE, Backbone: "wide_resnet50_2", Layers: wr50Layers, K: 50, PoolLayer: "layer4"}
}

// spadeR18 is SPADE on the only ImageNet weights available offline here: the
// shared ResNet-18 file stops at layer3, so images are pooled after layer3.
func spadeR18() ModelSpec {
	return ModelSpec{Method: MethodSPADE, Backbone: "resnet18", Layers: r18Layers, K: 50, PoolLayer: "layer3"}
}

const defaultSeed = 1024

// channelSeeds are the random channel draws behind every random-subset
// PaDiM row: the paper reports one draw, the tables report the mean and
// standard deviation over these (features are cached, so a draw costs a fit).
func (o Options) channelSeeds() []int64 {
	if o.Quick {
		return []int64{defaultSeed, 1}
	}
	return []int64{defaultSeed, 1, 2, 3, 4}
}

// seedNote explains the ± of a table's random-subset rows.
func (o Options) seedNote() string {
	return fmt.Sprintf("Random-subset PaDiM rows (Rd100, Rd550) are the mean ± sample standard deviation over %d random channel draws (seeds %v); the paper reports one draw.", len(o.channelSeeds()), o.channelSeeds())
}

// STCScenes are ShanghaiTech Campus's 13 scenes; the paper fits one model per scene.
var STCScenes = []string{"01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13"}

// Tables returns every declared experiment.
func Tables(o Options) []Table {
	return []Table{
		localization(o), detection(o), layerAblation(o), dimAblation(o), rdMVTec(o), stc(o), magneticTile(o), synthetic(o), cost(o),
	}
}

// Lookup returns the named tables (all when only is empty), or an error
// naming the valid ones. The tables' runs are validated: a declaration with
// a setting the code does not handle fails here, before any work.
func Lookup(o Options, only []string) ([]Table, error) {
	all := Tables(o)
	if len(only) == 0 {
		if err := validateTables(all); err != nil {
			return nil, err
		}
		return all, nil
	}
	var out []Table
	for _, name := range only {
		found := false
		for _, t := range all {
			if t.Name == name {
				out = append(out, t)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("no experiment %q (have: %s)", name, names(all))
		}
	}
	if err := validateTables(out); err != nil {
		return nil, err
	}
	return out, nil
}

func validateTables(ts []Table) error {
	for _, t := range ts {
		if err := t.Validate(); err != nil {
			return err
		}
	}
	return nil
}

func (o Options) limit() int {
	if o.Quick {
		return 12
	}
	return 0
}

func (o Options) mvtecCategories() []string {
	if o.Quick {
		return []string{"bottle"}
	}
	return datasets.MVTecCategories
}

func (o Options) dims(d int) int {
	if o.Quick && d > 20 {
		return 20
	}
	return d
}

func mvtec(cat string, o Options) DatasetSpec {
	return DatasetSpec{Kind: KindMVTec, Category: cat, Limit: o.limit()}
}

// syntheticAndTile are the datasets with pixel masks available offline: the
// ablations run on them as extra rows beside the paper's MVTec AD rows.
func (o Options) extraDatasets() []DatasetSpec {
	ds := []DatasetSpec{{Kind: KindMagneticTile, Limit: o.limit()}}
	for _, c := range o.SyntheticCategories {
		ds = append(ds, DatasetSpec{Kind: KindSynthetic, Category: c, Limit: o.limit()})
	}
	return ds
}

func localization(o Options) Table {
	t := Table{Name: "localization", Title: "Anomaly localization on MVTec AD (pixel AUROC, PRO)", PaperTable: "localization",
		Metrics: []string{"pixel_auroc", "pro", "image_auroc"}}
	for _, c := range o.mvtecCategories() {
		for _, s := range o.channelSeeds() {
			t.Runs = append(t.Runs, Run{Row: "PaDiM-R18-Rd100", Dataset: mvtec(c, o), Model: padimR18(o.dims(r18Dims), s)})
		}
		for _, s := range o.channelSeeds() {
			t.Runs = append(t.Runs, Run{Row: "PaDiM-WR50-Rd550", Dataset: mvtec(c, o), Model: padimWR50(o.dims(wr50Dims), s)})
		}
		t.Runs = append(t.Runs,
			Run{Row: "SPADE", Dataset: mvtec(c, o), Model: spadeWR50()},
			Run{Row: "SPADE-R18 (pooled on layer3)", Dataset: mvtec(c, o), Model: spadeR18()},
		)
	}
	t.Notes = append(t.Notes, o.seedNote())
	t.Notes = append(t.Notes, "SPADE as published pools Wide-ResNet-50-2 features after layer4; the row SPADE-R18 uses the shared ResNet-18 weights, which stop at layer3, so its images are pooled after layer3.")
	return t
}

func detection(o Options) Table {
	t := Table{Name: "detection", Title: "Anomaly detection on MVTec AD (image AUROC)", PaperTable: "detection",
		Metrics: []string{"image_auroc"}}
	for _, c := range o.mvtecCategories() {
		for _, s := range o.channelSeeds() {
			t.Runs = append(t.Runs, Run{Row: "PaDiM-R18-Rd100", Dataset: mvtec(c, o), Model: padimR18(o.dims(r18Dims), s)})
		}
		for _, s := range o.channelSeeds() {
			t.Runs = append(t.Runs, Run{Row: "PaDiM-WR50-Rd550", Dataset: mvtec(c, o), Model: padimWR50(o.dims(wr50Dims), s)})
		}
		t.Runs = append(t.Runs,
			Run{Row: "PaDiM-EfficientNet-B5", Dataset: mvtec(c, o), Model: padimEffB5()},
			Run{Row: "SPADE", Dataset: mvtec(c, o), Model: spadeWR50()},
			Run{Row: "SPADE-R18 (pooled on layer3)", Dataset: mvtec(c, o), Model: spadeR18()},
		)
	}
	t.Notes = append(t.Notes, o.seedNote())
	return t
}

func (o Options) ablationDatasets() []DatasetSpec {
	var ds []DatasetSpec
	for _, c := range o.mvtecCategories() {
		ds = append(ds, mvtec(c, o))
	}
	return append(ds, o.extraDatasets()...)
}

func layerAblation(o Options) Table {
	t := Table{Name: "layers", Title: "Layer ablation, ResNet-18, all channels (pixel AUROC, PRO)", PaperTable: "layers",
		Metrics: []string{"pixel_auroc", "pro", "image_auroc"}}
	single := func(l string) ModelSpec {
		return ModelSpec{Method: MethodPaDiM, Backbone: "resnet18", Layers: []string{l}, Reduce: ReduceNone, Combine: CombineJoint}
	}
	for _, d := range o.ablationDatasets() {
		t.Runs = append(t.Runs,
			Run{Row: "PaDiM-R18 layer1", Dataset: d, Model: single("layer1")},
			Run{Row: "PaDiM-R18 layer2", Dataset: d, Model: single("layer2")},
			Run{Row: "PaDiM-R18 layer3", Dataset: d, Model: single("layer3")},
			Run{Row: "PaDiM-R18 sum of layer1,2,3 maps", Dataset: d, Model: ModelSpec{Method: MethodPaDiM, Backbone: "resnet18", Layers: r18Layers, Reduce: ReduceNone, Combine: CombineSum}},
			Run{Row: "PaDiM-R18 layer1+2+3 (one Gaussian)", Dataset: d, Model: ModelSpec{Method: MethodPaDiM, Backbone: "resnet18", Layers: r18Layers, Reduce: ReduceNone, Combine: CombineJoint}},
		)
	}
	return t
}

func dimAblation(o Options) Table {
	t := Table{Name: "dims", Title: "Dimension reduction, ResNet-18 layers 1-3: random subset vs PCA (pixel AUROC, PRO)", PaperTable: "dims",
		Metrics: []string{"pixel_auroc", "pro", "image_auroc"}, AverageSeeds: true}
	dims := []int{10, 50, 100, 200, 300}
	seeds := []int64{1, 2, 3}
	if o.Quick {
		dims, seeds = []int{5, 10}, []int64{1}
	}
	for _, ds := range o.ablationDatasets() {
		for _, d := range dims {
			for _, s := range seeds {
				t.Runs = append(t.Runs, Run{Row: fmt.Sprintf("PaDiM-R18 random d=%d", d), Dataset: ds, Model: padimR18(d, s)})
			}
			pca := padimR18(d, 0)
			pca.Reduce = ReducePCA
			t.Runs = append(t.Runs, Run{Row: fmt.Sprintf("PaDiM-R18 PCA d=%d", d), Dataset: ds, Model: pca})
		}
		if !o.Quick {
			all := padimR18(0, 0)
			all.Reduce = ReduceNone
			t.Runs = append(t.Runs, Run{Row: "PaDiM-R18 all 448", Dataset: ds, Model: all})
		}
	}
	t.Notes = append(t.Notes, fmt.Sprintf("Random rows are the mean ± sample standard deviation over the channel draws of seeds %v; PCA and all-448 rows are deterministic.", seeds))
	return t
}

func rdMVTec(o Options) Table {
	t := Table{Name: "rd-mvtec", Title: "Rd-MVTec AD: random rotation (±10°) and random 224 crop of train and test images", PaperTable: "rd-mvtec",
		Metrics: []string{"pixel_auroc", "pro", "image_auroc"}, AverageSeeds: true}
	seeds := []int64{1, 2, 3, 4, 5}
	if o.Quick {
		seeds = []int64{1}
	}
	for _, c := range o.mvtecCategories() {
		for _, s := range seeds {
			d := DatasetSpec{Kind: KindRdMVTec, Category: c, Seed: s, Limit: o.limit()}
			t.Runs = append(t.Runs,
				Run{Row: "PaDiM-R18-Rd100", Dataset: d, Model: padimR18(o.dims(r18Dims), defaultSeed)},
				Run{Row: "PaDiM-WR50-Rd550", Dataset: d, Model: padimWR50(o.dims(wr50Dims), defaultSeed)},
				Run{Row: "SPADE", Dataset: d, Model: spadeWR50()},
				Run{Row: "SPADE-R18 (pooled on layer3)", Dataset: d, Model: spadeR18()},
			)
		}
	}
	t.Notes = append(t.Notes,
		fmt.Sprintf("Each row is the mean ± sample standard deviation over %d seeded versions of the dataset (rotation and crop draws %v); the channel draw of the random-subset rows is fixed (seed %d), so the spread is the dataset draw's.", len(seeds), seeds, defaultSeed),
		"Rotation fills the image corners with black. The anomaly maps light up there (see the heatmaps) because no training image has black in the same place; the pixel metrics count those corner pixels as normal pixels, as the paper's protocol (rotate, then score every pixel) implies, so they lower pixel AUROC and PRO rather than being masked out.")
	return t
}

func stc(o Options) Table {
	scenes := STCScenes
	if o.Quick {
		scenes = scenes[:1]
	}
	t := Table{Name: "stc", Title: "ShanghaiTech Campus (pixel AUROC)", PaperTable: "stc",
		Metrics: []string{"pixel_auroc", "image_auroc"},
		Notes: []string{"As in the paper: frames resized to 256 x 256 without crop, one model per scene (13 scenes), the table's mean over scenes beside the paper's value.",
			o.seedNote()}}
	for _, sc := range scenes {
		d := DatasetSpec{Kind: KindSTC, Category: sc, Limit: o.limit()}
		for _, s := range o.channelSeeds() {
			t.Runs = append(t.Runs, Run{Row: "PaDiM-R18-Rd100", Dataset: d, Model: padimR18(o.dims(r18Dims), s)})
		}
		t.Runs = append(t.Runs,
			Run{Row: "SPADE", Dataset: d, Model: spadeWR50()},
			Run{Row: "SPADE-R18 (pooled on layer3)", Dataset: d, Model: spadeR18()},
		)
	}
	return t
}

func magneticTile(o Options) Table {
	d := DatasetSpec{Kind: KindMagneticTile, Limit: o.limit()}
	t := Table{Name: "magnetic-tile", Title: "Magnetic Tile Defects (extra; protocol in the data README)",
		Metrics: []string{"image_auroc", "pixel_auroc", "pro"}, Notes: []string{o.seedNote()}}
	for _, s := range o.channelSeeds() {
		t.Runs = append(t.Runs, Run{Row: "PaDiM-R18-Rd100", Dataset: d, Model: padimR18(o.dims(r18Dims), s)})
	}
	t.Runs = append(t.Runs, Run{Row: "SPADE-R18 (pooled on layer3)", Dataset: d, Model: spadeR18()})
	return t
}

func synthetic(o Options) Table {
	t := Table{Name: "synthetic", Title: "Synthetic MVTec-style categories (extra; generated, exact masks)",
		Metrics: []string{"image_auroc", "pixel_auroc", "pro"}, Notes: []string{o.seedNote()}}
	for _, c := range o.SyntheticCategories {
		d := DatasetSpec{Kind: KindSynthetic, Category: c, Limit: o.limit()}
		for _, s := range o.channelSeeds() {
			t.Runs = append(t.Runs, Run{Row: "PaDiM-R18-Rd100", Dataset: d, Model: padimR18(o.dims(r18Dims), s)})
		}
		t.Runs = append(t.Runs, Run{Row: "SPADE-R18 (pooled on layer3)", Dataset: d, Model: spadeR18()})
	}
	return t
}

func cost(o Options) Table {
	cat := "bottle"
	d := DatasetSpec{Kind: KindMVTec, Category: cat, Limit: o.limit()}
	untrained := func(m ModelSpec) ModelSpec {
		m.RandomWeights = 1
		return m
	}
	t := Table{Name: "cost", Title: "Inference time per image and model memory (MVTec AD bottle)", PaperTable: "cost",
		Metrics: []string{"inference_seconds", "model_bytes"},
		Runs: []Run{
			{Row: "PaDiM-R18-Rd100", Dataset: d, Model: padimR18(o.dims(r18Dims), defaultSeed)},
			{Row: "PaDiM-WR50-Rd550", Dataset: d, Model: padimWR50(o.dims(wr50Dims), defaultSeed)},
			{Row: "PaDiM-WR50-Rd550 (untrained weights: timing only)", Dataset: d, Model: untrained(padimWR50(o.dims(wr50Dims), defaultSeed))},
			{Row: "PaDiM-EfficientNet-B5", Dataset: d, Model: padimEffB5()},
			{Row: "PaDiM-EfficientNet-B5 (untrained weights: timing only)", Dataset: d, Model: untrained(padimEffB5())},
			{Row: "SPADE", Dataset: d, Model: spadeWR50()},
			{Row: "SPADE (untrained weights: timing only)", Dataset: d, Model: untrained(spadeWR50())},
			{Row: "SPADE-R18 (pooled on layer3)", Dataset: d, Model: spadeR18()},
		},
		Notes: []string{"Times are per test image for features, distances, upsampling and blur (decoding excluded), measured during `padim reproduce` on the machine, versions and load stated below; the paper timed its own serial implementation on a CPU. Memory is what scoring holds: PaDiM's means and Cholesky factors of the covariances, SPADE's training-feature gallery.",
			"reports/bench.md (`padim bench end-to-end`) times the same pipeline on other inputs (synthetic 256 px images, random weights) at its own date and load, and counts the same stages; where the two disagree, the load columns here and there say why: on this shared 2-core machine a run's wall time grows with the other work on it.",
			"Rows marked untrained use deterministic random weights (backbones.NewRandom) where ImageNet weights are not available here: their speed and memory are real, their anomaly scores are not reported."},
	}
	for i := range t.Runs {
		t.Runs[i].Timing = true
	}
	return t
}
