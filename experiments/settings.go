package experiments

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The settings of a Run are typed strings: their values are what run
// declarations, cache keys, result.json and task files hold, so the JSON of
// a spec is the same as with plain strings. Validate refuses a value the
// code does not handle; specs are validated where they enter (Lookup,
// ReadTaskFile).

// Method is the anomaly detection method a ModelSpec fits.
type Method string

const (
	MethodPaDiM Method = "padim"
	MethodSPADE Method = "spade"
)

var methods = []Method{MethodPaDiM, MethodSPADE}

// Validate returns an error naming the allowed methods unless m is one.
func (m Method) Validate() error { return checkSetting("method", m, methods, "") }

// Reduction is how PaDiM keeps ModelSpec.Dims of the embedding's channels.
// The empty value means ReduceRandom.
type Reduction string

const (
	// ReduceRandom keeps Dims channels drawn with ModelSpec.Seed (the paper's "Rd").
	ReduceRandom Reduction = "random"
	// ReducePCA projects on the top Dims principal axes of the training embeddings.
	ReducePCA Reduction = "pca"
	// ReduceNone keeps every channel; Dims is ignored.
	ReduceNone Reduction = "none"
)

var reductions = []Reduction{ReduceRandom, ReducePCA, ReduceNone}

// Validate returns an error naming the allowed reductions unless r is one
// or empty.
func (r Reduction) Validate() error { return checkSetting("reduce", r, reductions, ReduceRandom) }

// Combination is how PaDiM combines the layers of ModelSpec.Layers. The
// empty value means CombineJoint.
type Combination string

const (
	// CombineJoint fits one Gaussian over the concatenated layers (the paper's method).
	CombineJoint Combination = "joint"
	// CombineSum fits one Gaussian per layer and adds the layers' distance
	// maps (Table I's ablation).
	CombineSum Combination = "sum"
)

var combinations = []Combination{CombineJoint, CombineSum}

// Validate returns an error naming the allowed combinations unless c is one
// or empty.
func (c Combination) Validate() error {
	return checkSetting("combine", c, combinations, CombineJoint)
}

// DatasetKind is the dataset a DatasetSpec reads (Env.Dataset says from where).
type DatasetKind string

const (
	KindMVTec DatasetKind = "mvtec"
	// KindRdMVTec is MVTec AD with the seeded random rotation and crop of
	// Rd-MVTec AD (DatasetSpec.Seed picks the version).
	KindRdMVTec      DatasetKind = "rd-mvtec"
	KindMagneticTile DatasetKind = "magnetic-tile"
	KindSTC          DatasetKind = "stc"
	KindSynthetic    DatasetKind = "synthetic"
)

var datasetKinds = []DatasetKind{KindMVTec, KindRdMVTec, KindMagneticTile, KindSTC, KindSynthetic}

// Validate returns an error naming the allowed kinds unless k is one.
func (k DatasetKind) Validate() error { return checkSetting("kind", k, datasetKinds, "") }

// checkSetting accepts v when it is one of allowed, or empty when the empty
// value stands for emptyMeans (emptyMeans "": empty is refused). The error
// names the field as JSON spells it and the values it takes.
func checkSetting[T ~string](field string, v T, allowed []T, emptyMeans T) error {
	if slices.Contains(allowed, v) || (v == "" && emptyMeans != "") {
		return nil
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	msg := fmt.Sprintf("%s %q: want one of %s", field, v, strings.Join(names, ", "))
	if emptyMeans != "" {
		msg += fmt.Sprintf(" (empty means %s)", emptyMeans)
	}
	return errors.New(msg)
}
