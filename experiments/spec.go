package experiments

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// DatasetSpec names a dataset split.
type DatasetSpec struct {
	Kind     DatasetKind `json:"kind"`
	Category string      `json:"category,omitempty"`
	// Seed selects one of the random Rd-MVTec AD versions (rotation and crop draws).
	Seed int64 `json:"seed,omitempty"`
	// Limit caps the number of training and test images (quick variants); 0 = all.
	Limit int `json:"limit,omitempty"`
}

func (d DatasetSpec) String() string {
	s := string(d.Kind)
	if d.Category != "" {
		s += "/" + d.Category
	}
	if d.Kind == KindRdMVTec {
		s += fmt.Sprintf("#%d", d.Seed)
	}
	if d.Limit > 0 {
		s += fmt.Sprintf(" (first %d)", d.Limit)
	}
	return s
}

// Validate checks that Kind is one of the dataset kinds.
func (d DatasetSpec) Validate() error {
	if err := d.Kind.Validate(); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	return nil
}

// ModelSpec is a model and its settings.
type ModelSpec struct {
	Method   Method   `json:"method"`
	Backbone string   `json:"backbone"`
	Layers   []string `json:"layers"`
	// PaDiM: Dims channels kept by Reduce, Seed for ReduceRandom's draw.
	Dims   int       `json:"dims,omitempty"`
	Reduce Reduction `json:"reduce,omitempty"`
	Seed   int64     `json:"seed,omitempty"`
	// Combine says whether PaDiM fits one Gaussian over all Layers or one per layer.
	Combine Combination `json:"combine,omitempty"`
	// SPADE: K nearest training images, pooled on PoolLayer.
	K         int    `json:"k,omitempty"`
	PoolLayer string `json:"pool_layer,omitempty"`
	// RandomWeights, when not 0, replaces the ImageNet weights by deterministic
	// untrained ones drawn with this seed: for timing and memory rows only,
	// whose anomaly scores mean nothing.
	RandomWeights uint64 `json:"random_weights,omitempty"`
}

// Validate checks Method, Reduce and Combine.
func (m ModelSpec) Validate() error {
	for _, err := range []error{m.Method.Validate(), m.Reduce.Validate(), m.Combine.Validate()} {
		if err != nil {
			return fmt.Errorf("model: %w", err)
		}
	}
	return nil
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

// Validate checks the run's dataset and model settings; the error names the run.
func (r Run) Validate() error {
	if err := r.Dataset.Validate(); err != nil {
		return fmt.Errorf("%s: %w", r.ID(), err)
	}
	if err := r.Model.Validate(); err != nil {
		return fmt.Errorf("%s: %w", r.ID(), err)
	}
	return nil
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

// Validate checks every run of the table; the error names the table and the run.
func (t Table) Validate() error {
	for _, r := range t.Runs {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("table %s: %w", t.Name, err)
		}
	}
	return nil
}

// Names of the tables, for flags and errors.
func names(ts []Table) string {
	var s []string
	for _, t := range ts {
		s = append(s, t.Name)
	}
	return strings.Join(s, ", ")
}
