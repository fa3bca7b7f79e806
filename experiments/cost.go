package experiments

import (
	"fmt"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/padim"
)

// Estimate is the planned cost of one run: CPU time summed over threads,
// and the peak resident memory of the process while it runs (feature
// caching, which a task shares between its runs, is counted by the task).
// Every figure is an estimate from the project's measurements (see
// costModel); none is a guarantee.
type Estimate struct {
	CPUSeconds float64 `json:"cpu_seconds"`
	PeakBytes  int64   `json:"peak_bytes"`
	// FeatureBytes is the backbone output for every image of the run's
	// dataset, what the in-memory feature cache holds to share it.
	FeatureBytes int64 `json:"feature_bytes"`
	NTrain       int   `json:"n_train"`
	NTest        int   `json:"n_test"`
	// SizeAssumed is set when the dataset is not present here and its image
	// counts are the published ones.
	SizeAssumed bool `json:"size_assumed,omitempty"`
}

// backboneCost holds one backbone's measured costs.
type backboneCost struct {
	// cpuPerImage is the CPU-seconds of one 224x224 forward pass up to the
	// PaDiM layers, decode included.
	cpuPerImage float64
	// baseBytes is the process's resident memory besides the fitted model:
	// runtime, weights, one batch of activations.
	baseBytes int64
	// spadeCPUPerTest is SPADE's CPU-seconds per test image with K = 50
	// (backbone, image kNN and pixel kNN over the K nearest images' features).
	spadeCPUPerTest float64
}

// costModel: figures measured on the 2-thread machine of the reports.
//   - resnet18, wide_resnet50_2 cpuPerImage: reports/bench.md, "backbone,
//     training images" CPU time / 200 images (7.29 s, 32.17 s) plus decode.
//   - efficientnet_b5: reports/bench-backbones.md, 33.2 img/s on 2 threads.
//   - baseBytes: reports/bench.md peak RSS (0.61 GiB, 4.97 GiB) minus
//     padim.FitHeldBytes of the run measured; efficientnet_b5 is a guess
//     between the two (no measurement).
//   - spadeCPUPerTest: reports/cost.md inference seconds per test image
//     (1.915 s WR50, 0.989 s R18) times the 2 threads.
var costModel = map[string]backboneCost{
	"resnet18":        {cpuPerImage: 0.038, baseBytes: 420 << 20, spadeCPUPerTest: 2 * 0.989},
	"wide_resnet50_2": {cpuPerImage: 0.163, baseBytes: 1020 << 20, spadeCPUPerTest: 2 * 1.915},
	"efficientnet_b5": {cpuPerImage: 0.062, baseBytes: 700 << 20, spadeCPUPerTest: 2 * 1.915},
}

// Throughputs of the Gaussian fit and of scoring, from reports/bench.md's
// wide_resnet50_2 d=550 stages (CPU time): accumulating 200 images x 3136
// positions x d^2 took 17.4 CPU-s, the 3136 Cholesky factorisations 10.1
// CPU-s, and Mahalanobis distances plus upsampling and blur 7.26 CPU-s for 100
// test images. perImageOverhead is resnet18's upsample + blur + metrics per
// test image, which dominates at small d.
const (
	accumulateMACPerCPUSecond = 1.09e10
	choleskyFlopPerCPUSecond  = 1.72e10
	mahalanobisMACPerCPUSec   = 6.5e9
	perTestImageOverhead      = 0.012
	testMapBytesPerPixel      = 12 // score map, blurred map, mask, per test pixel
)

// publishedSizes are the train/test image counts of the datasets' official
// releases, for planning where a dataset is not present.
var publishedSizes = map[string][2]int{
	"carpet": {280, 117}, "grid": {264, 78}, "leather": {245, 124}, "tile": {230, 117}, "wood": {247, 79},
	"bottle": {209, 83}, "cable": {224, 150}, "capsule": {219, 132}, "hazelnut": {391, 110}, "metal_nut": {220, 115},
	"pill": {267, 167}, "screw": {320, 160}, "toothbrush": {60, 42}, "transistor": {213, 100}, "zipper": {240, 151},
	// Magnetic Tile Defects under the project protocol (4/5 of the 952
	// defect-free images train; the rest and the 392 defective ones test).
	"magnetic-tile": {762, 582},
	// ShanghaiTech Campus: every training and test frame.
	"stc": {274515, 40791},
	// The generator's default synthetic category.
	"synthetic": {200, 100},
}

// PublishedSize returns the image counts a dataset has in its official
// release (after the spec's Limit), for planning without the data.
func PublishedSize(spec DatasetSpec) (train, test int, err error) {
	k := string(spec.Kind)
	switch spec.Kind {
	case KindMVTec, KindRdMVTec:
		k = spec.Category
	}
	n, ok := publishedSizes[k]
	if !ok {
		return 0, 0, fmt.Errorf("no published size for %s", spec)
	}
	train, test = n[0], n[1]
	if spec.Limit > 0 {
		train, test = min(train, spec.Limit), min(test, spec.Limit)
	}
	return train, test, nil
}

// EstimateRun estimates a run's cost on nTrain + nTest images of h x w pixels.
func EstimateRun(run Run, nTrain, nTest, h, w int) (Estimate, error) {
	ms := run.Model
	bc, ok := costModel[ms.Backbone]
	if !ok {
		return Estimate{}, fmt.Errorf("no cost figures for backbone %q", ms.Backbone)
	}
	spec, err := backbones.Lookup(ms.Backbone)
	if err != nil {
		return Estimate{}, err
	}
	layer := map[string]backbones.Layer{}
	for _, l := range spec.Layers {
		layer[l.Name] = l
	}
	// The forward pass costs what the deepest layer needed costs; the
	// measured figures run to the deepest PaDiM layer, a deeper SPADE pool
	// layer (wide_resnet50_2's layer4) adds about a quarter.
	scale := float64(h*w) / (224 * 224)
	fwd := bc.cpuPerImage * scale
	if ms.Method == MethodSPADE && !contains(spec.PaDiMLayers, ms.PoolLayer) {
		fwd *= 1.25
	}
	e := Estimate{NTrain: nTrain, NTest: nTest, PeakBytes: bc.baseBytes}
	for _, l := range spec.PaDiMLayers {
		li := layer[l]
		if li.Stride == 0 {
			return Estimate{}, fmt.Errorf("backbone %s has no layer %q", ms.Backbone, l)
		}
		e.FeatureBytes += int64(nTrain+nTest) * int64(li.Channels*(h/li.Stride)*(w/li.Stride)) * 4
	}
	e.CPUSeconds = float64(nTrain+nTest) * fwd
	e.PeakBytes += int64(nTest) * int64(h*w) * testMapBytesPerPixel

	switch ms.Method {
	case MethodPaDiM:
		groups := [][]string{ms.Layers}
		if ms.Combine == CombineSum {
			groups = nil
			for _, l := range ms.Layers {
				groups = append(groups, []string{l})
			}
		}
		for _, g := range groups {
			first, ok := layer[g[0]]
			if !ok {
				return Estimate{}, fmt.Errorf("backbone %s has no layer %q", ms.Backbone, g[0])
			}
			positions := (h / first.Stride) * (w / first.Stride)
			d := ms.Dims
			if ms.Reduce == ReduceNone || d == 0 {
				d = 0
				for _, l := range g {
					d += layer[l].Channels
				}
			}
			p, df := float64(positions), float64(d)
			e.CPUSeconds += float64(nTrain)*p*df*df/accumulateMACPerCPUSecond +
				p*df*df*df/3/choleskyFlopPerCPUSecond +
				float64(nTest)*p*df*df/2/mahalanobisMACPerCPUSec
			// Sequential fits of a sum model each peak alone; the finished
			// ones keep only their float32 factors.
			e.PeakBytes += padim.FitHeldBytes(positions, d, 64)
		}
		e.CPUSeconds += float64(nTest) * perTestImageOverhead
	case MethodSPADE:
		k := ms.K
		if k <= 0 || k > nTrain {
			k = min(50, nTrain)
		}
		// The gallery: every training image's pixel-level features (with a
		// norm each) and its pooled vector.
		var perImage int64
		for _, l := range ms.Layers {
			li := layer[l]
			perImage += int64((h / li.Stride) * (w / li.Stride) * (li.Channels + 1))
		}
		if pl, ok := layer[ms.PoolLayer]; ok {
			perImage += int64(pl.Channels + 1)
		}
		e.PeakBytes += int64(nTrain) * perImage * 4
		knn := (bc.spadeCPUPerTest - bc.cpuPerImage) * float64(k) / 50 * scale
		e.CPUSeconds += float64(nTest) * knn
	default:
		return Estimate{}, fmt.Errorf("unknown method %q", ms.Method)
	}
	return e, nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
