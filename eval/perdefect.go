package eval

import "fmt"

// DefectResult holds one defect type's metrics: its anomalous images scored
// against every normal test image.
type DefectResult struct {
	Defect    string `json:"defect"`
	Anomalous int    `json:"anomalous"` // anomalous test images of this type
	Result
}

// EvaluatePerDefect evaluates each defect type on its own: for defect type
// d, the test set is every normal image plus the anomalous images labelled
// d (defects[i] is image i's type; it is ignored for normal images). The
// types come back in order of first appearance. Normal images must exist,
// or image AUROC is undefined and an error is returned.
func EvaluatePerDefect(in Input, defects []string) ([]DefectResult, error) {
	if len(defects) != len(in.ImageScores) {
		return nil, fmt.Errorf("eval: %d defect names for %d test images", len(defects), len(in.ImageScores))
	}
	if len(in.ImageLabels) != len(in.ImageScores) {
		return nil, fmt.Errorf("eval: %d labels for %d test images", len(in.ImageLabels), len(in.ImageScores))
	}
	var order []string
	members := map[string][]int{}
	var normal []int
	for i, bad := range in.ImageLabels {
		if !bad {
			normal = append(normal, i)
			continue
		}
		d := defects[i]
		if _, ok := members[d]; !ok {
			order = append(order, d)
		}
		members[d] = append(members[d], i)
	}
	var out []DefectResult
	for _, d := range order {
		idx := append(append([]int(nil), normal...), members[d]...)
		sub := Input{Width: in.Width, PROLimit: in.PROLimit}
		for _, i := range idx {
			sub.ImageScores = append(sub.ImageScores, in.ImageScores[i])
			sub.ImageLabels = append(sub.ImageLabels, in.ImageLabels[i])
			if in.Masks != nil {
				sub.Maps = append(sub.Maps, in.Maps[i])
				sub.Masks = append(sub.Masks, in.Masks[i])
			}
		}
		r, err := Evaluate(sub)
		if err != nil {
			return nil, fmt.Errorf("defect type %s: %w", d, err)
		}
		r.PROCurve = nil
		out = append(out, DefectResult{Defect: d, Anomalous: len(members[d]), Result: r})
	}
	return out, nil
}
