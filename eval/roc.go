package eval

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrOneClass is returned when a ranking metric is asked for data that holds
// only positives or only negatives, for which it is undefined.
var ErrOneClass = errors.New("eval: only one class present, AUROC is not defined")

// checkScores validates a score/label pair and counts positives and negatives.
func checkScores(scores []float64, labels []bool) (pos, neg int, err error) {
	if len(scores) != len(labels) {
		return 0, 0, fmt.Errorf("eval: %d scores but %d labels", len(scores), len(labels))
	}
	for i, s := range scores {
		if math.IsNaN(s) {
			return 0, 0, fmt.Errorf("eval: score %d is NaN", i)
		}
		if labels[i] {
			pos++
		} else {
			neg++
		}
	}
	if pos == 0 || neg == 0 {
		return pos, neg, fmt.Errorf("%w (%d positives, %d negatives)", ErrOneClass, pos, neg)
	}
	return pos, neg, nil
}

// ROC returns the receiver operating characteristic of scores against labels
// (true = anomalous) as sklearn.metrics.roc_curve(drop_intermediate=False)
// does: thresholds are +Inf followed by the distinct scores in decreasing
// order, and fpr[i], tpr[i] are the fractions of negatives and positives with
// score >= thresholds[i]. Unlike sklearn, which returns NaN rates with a
// warning, it returns an error when only one class is present.
func ROC(scores []float64, labels []bool) (fpr, tpr, thresholds []float64, err error) {
	pos, neg, err := checkScores(scores, labels)
	if err != nil {
		return nil, nil, nil, err
	}
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		switch {
		case scores[a] > scores[b]:
			return -1
		case scores[a] < scores[b]:
			return 1
		}
		return 0
	})
	fpr = []float64{0}
	tpr = []float64{0}
	thresholds = []float64{math.Inf(1)}
	tp, fp := 0, 0
	for i, idx := range order {
		if labels[idx] {
			tp++
		} else {
			fp++
		}
		// A point is emitted only after the last sample of a run of equal
		// scores, so tied samples enter the curve together.
		if i+1 < len(order) && scores[order[i+1]] == scores[idx] {
			continue
		}
		fpr = append(fpr, float64(fp)/float64(neg))
		tpr = append(tpr, float64(tp)/float64(pos))
		thresholds = append(thresholds, scores[idx])
	}
	return fpr, tpr, thresholds, nil
}

// AUROC returns the area under the ROC curve of scores against labels
// (true = anomalous), equal to sklearn.metrics.roc_auc_score(labels, scores).
// It returns an error wrapping ErrOneClass when only one class is present.
func AUROC(scores []float64, labels []bool) (float64, error) {
	fpr, tpr, _, err := ROC(scores, labels)
	if err != nil {
		return 0, err
	}
	return trapezoid(fpr, tpr), nil
}

// trapezoid integrates y over x (x non-decreasing) with the trapezoid rule.
func trapezoid(x, y []float64) float64 {
	area := 0.0
	for i := 1; i < len(x); i++ {
		area += (x[i] - x[i-1]) * (y[i] + y[i-1]) / 2
	}
	return area
}
