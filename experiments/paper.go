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
	// PaperTable is the paper's table the value is printed in ("III").
	PaperTable string `json:"paper_table"`
	Source     string `json:"source"`
	// Secondary marks a value read from one secondary source (a summary or
	// a reimplementation quoting the paper), not checked against the paper.
	Secondary bool   `json:"secondary"`
	Note      string `json:"note"`
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
