package eval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Metric is a metric value that may be unavailable, for instance pixel
// metrics of a category without ground-truth masks. The zero Metric is
// unavailable; an unavailable metric prints as "n/a" and encodes as JSON null,
// so it can never be mistaken for a score of 0 or 1.
type Metric struct {
	Value float64
	Valid bool
}

// Available returns a valid Metric holding v.
func Available(v float64) Metric { return Metric{Value: v, Valid: true} }

// Get returns the value and whether it is available.
func (m Metric) Get() (float64, bool) { return m.Value, m.Valid }

// String formats the value with four decimals, or "n/a".
func (m Metric) String() string {
	if !m.Valid {
		return "n/a"
	}
	return strconv.FormatFloat(m.Value, 'f', 4, 64)
}

// MarshalJSON encodes the value as a number, or null when unavailable.
func (m Metric) MarshalJSON() ([]byte, error) {
	if !m.Valid {
		return []byte("null"), nil
	}
	if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
		return nil, fmt.Errorf("eval: metric value %v cannot be encoded as JSON", m.Value)
	}
	return json.Marshal(m.Value)
}

// UnmarshalJSON decodes a number, or null as unavailable.
func (m *Metric) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*m = Metric{}
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("eval: metric %s is neither a number nor null", b)
	}
	*m = Available(v)
	return nil
}

// Result holds the metrics of one category.
type Result struct {
	ImageAUROC Metric    `json:"image_auroc"`
	PixelAUROC Metric    `json:"pixel_auroc"`
	PRO        Metric    `json:"pro"`       // AU-PRO normalised by PROLimit
	PROLimit   float64   `json:"pro_limit"` // FPR integration limit of PRO
	PROCurve   *PROCurve `json:"-"`         // nil when PRO is unavailable
}

// Input is what Evaluate needs for one category's test set.
type Input struct {
	ImageScores []float64 // one score per test image
	ImageLabels []bool    // true = anomalous image
	// Maps and Masks give per-pixel scores and ground truth, row-major with
	// Width columns. Masks == nil means the category has no ground truth and
	// pixel metrics are unavailable; Maps may then be nil too. Masks[i] == nil
	// marks an image without anomalous pixels.
	Maps     [][]float32
	Masks    [][]bool
	Width    int
	PROLimit float64 // 0 means PaperPROLimit
}

// Evaluate computes image AUROC and, when masks are given, pixel AUROC and
// PRO. It fails on invalid input rather than returning partial metrics.
func Evaluate(in Input) (Result, error) {
	res := Result{PROLimit: in.PROLimit}
	if res.PROLimit == 0 {
		res.PROLimit = PaperPROLimit
	}
	auc, err := AUROC(in.ImageScores, in.ImageLabels)
	if err != nil {
		return Result{}, fmt.Errorf("image AUROC: %w", err)
	}
	res.ImageAUROC = Available(auc)
	if in.Masks == nil {
		return res, nil
	}
	if len(in.Maps) != len(in.ImageScores) {
		return Result{}, fmt.Errorf("eval: %d anomaly maps for %d test images", len(in.Maps), len(in.ImageScores))
	}
	for i, mask := range in.Masks {
		if i < len(in.ImageLabels) && !in.ImageLabels[i] && mask != nil && anyTrue(mask) {
			return Result{}, fmt.Errorf("eval: image %d is labelled normal but its mask has anomalous pixels", i)
		}
	}
	pauc, err := PixelAUROC(in.Maps, in.Masks)
	if err != nil {
		return Result{}, fmt.Errorf("pixel AUROC: %w", err)
	}
	res.PixelAUROC = Available(pauc)
	pro, err := PRO(in.Maps, in.Masks, in.Width, res.PROLimit)
	if err != nil {
		return Result{}, fmt.Errorf("PRO: %w", err)
	}
	res.PRO = Available(pro.AUPRO)
	res.PROCurve = &pro.Curve
	return res, nil
}

func anyTrue(b []bool) bool {
	for _, v := range b {
		if v {
			return true
		}
	}
	return false
}
