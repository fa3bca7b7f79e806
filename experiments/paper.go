package experiments

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

//go:embed paper_values.json
var paperJSON []byte

// PaperValue is one number published in the paper, with where it was read.
type PaperValue struct {
	Table    string  `json:"table"`
	Dataset  string  `json:"dataset"`
	Category string  `json:"category"`
	Method   string  `json:"method"`
	Metric   string  `json:"metric"`
	Value    float64 `json:"value"`
	Source   string  `json:"source"`
	Note     string  `json:"note"`
}

// PaperValues are the paper's published numbers. Reports print them beside
// measured values; nothing that computes a result reads them.
func PaperValues() ([]PaperValue, error) {
	var doc struct {
		Values []PaperValue `json:"values"`
	}
	if err := json.Unmarshal(paperJSON, &doc); err != nil {
		return nil, fmt.Errorf("experiments/paper_values.json: %w", err)
	}
	return doc.Values, nil
}

type paperKey struct{ table, dataset, category, method, metric string }

func paperIndex(vs []PaperValue) map[paperKey]PaperValue {
	m := make(map[paperKey]PaperValue, len(vs))
	for _, v := range vs {
		m[paperKey{v.Table, v.Dataset, v.Category, v.Method, v.Metric}] = v
	}
	return m
}
