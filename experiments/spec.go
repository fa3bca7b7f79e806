package experiments

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// DatasetSpec names a dataset split. Kind is one of "mvtec", "rd-mvtec",
// "magnetic-tile", "stc", "synthetic".
type DatasetSpec struct {
	Kind     string `json:"kind"`
	Category string `json:"category,omitempty"`
	// Seed selects one of the random Rd-MVTec AD versions (rotation and crop draws).
	Seed int64 `json:"seed,omitempty"`
	// Limit caps the number of training and test images (quick variants); 0 = all.
	Limit int `json:"limit,omitempty"`
}

func (d DatasetSpec) String() string {
	s := d.Kind
	if d.Category != "" {
		s += "/" + d.Category
	}
	if d.Kind == "rd-mvtec" {
		s += fmt.Sprintf("#%d", d.Seed)
	}
	if d.Limit > 0 {
		s += fmt.Sprintf(" (first %d)", d.Limit)
	}
	return s
}

// ModelSpec is a model and its settings.
type ModelSpec struct {
	Method   string   `json:"method"` // "padim" or "spade"
	Backbone string   `json:"backbone"`
	Layers   []string `json:"layers"`
	// PaDiM: Dims channels kept by Reduce ("random" or "pca"; "none" keeps all), Seed for the draw.
	Dims   int    `json:"dims,omitempty"`
	Reduce string `json:"reduce,omitempty"`
	Seed   int64  `json:"seed,omitempty"`
	// Combine "joint" fits one Gaussian over the concatenated layers (the paper's method);
	// "sum" fits one Gaussian per layer and adds the layers' distance maps (Table I's ablation).
	Combine string `json:"combine,omitempty"`
	// SPADE: K nearest training images, pooled on PoolLayer.
	K         int    `json:"k,omitempty"`
	PoolLayer string `json:"pool_layer,omitempty"`
	// RandomWeights, when not 0, replaces the ImageNet weights by deterministic
	// untrained ones drawn with this seed: for timing and memory rows only,
	// whose anomaly scores mean nothing.
	RandomWeights uint64 `json:"random_weights,omitempty"`
}

// Run is one model fitted and scored on one dataset.
type Run struct {
	// Row is the table row this run belongs to, e.g. "PaDiM-R18-Rd100"; the
	// paper values of the same method name sit beside it in reports.
	Row     string      `json:"row"`
	Dataset DatasetSpec `json:"dataset"`
	Model   ModelSpec   `json:"model"`
	// Timing runs bypass the image and feature caches shared by other runs,
	// so their inference times measure decoding-free but otherwise full work.
	Timing bool `json:"timing,omitempty"`
}

// ID is a short human-readable name, unique within a table.
func (r Run) ID() string {
	return fmt.Sprintf("%s | %s", r.Row, r.Dataset)
}

// configHash is a stable hash of the run's declaration.
func (r Run) configHash() string {
	b, _ := json.Marshal(r)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Table is one of the paper's tables (or an extra one of ours) as data.
type Table struct {
	Name  string // file stem and --only name, e.g. "localization"
	Title string
	// PaperTable names the paper table the rows compare with ("" for tables of our own).
	PaperTable string
	// Metrics shown, in order: "image_auroc", "pixel_auroc", "pro", "inference_seconds", "model_bytes".
	Metrics []string
	Runs    []Run
	// Average lists groups of rows to average over seeds (Rd-MVTec AD versions,
	// random-subset seeds): runs with equal Row and equal Dataset apart from
	// Seed are averaged into one row.
	AverageSeeds bool
	Notes        []string
}

// Names of the tables, for flags and errors.
func names(ts []Table) string {
	var s []string
	for _, t := range ts {
		s = append(s, t.Name)
	}
	return strings.Join(s, ", ")
}
